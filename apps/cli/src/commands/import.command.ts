import { SingleBar, Presets } from 'cli-progress';
import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { Command, CommandRunner, Option } from 'nest-commander';
import { IMPORT_KINDS, ImportKind, ImportMode, systemActor, ValidationError } from '@closeloop/core';
import { ImportService } from '@closeloop/audience';

/**
 * `import customers|orders|suppressions FILE`: stores the file as an import and processes it in
 * this process (no worker needed), with progress bars for both. Same rules, counts and errors as
 * `POST /v1/imports/:kind`; exits non-zero when the import fails or rows are rejected.
 */
@Command({
  name: 'import',
  arguments: '<kind> <file>',
  description: `import a CSV file of ${IMPORT_KINDS.join(' | ')}`,
})
export class ImportCommand extends CommandRunner {
  constructor(private readonly imports: ImportService) {
    super();
  }

  async run(
    [kind, file]: string[],
    options: { mode?: ImportMode; delimiter?: string; errors?: string; progress?: boolean },
  ): Promise<void> {
    if (!(IMPORT_KINDS as readonly string[]).includes(kind)) {
      throw new ValidationError(`kind must be one of ${IMPORT_KINDS.join(', ')}`, 'kind');
    }
    const size = (await stat(file).catch(() => null))?.size;
    if (size === undefined) throw new ValidationError(`cannot read ${file}`, 'file');
    const show = options.progress !== false && process.stderr.isTTY;
    const bar = new SingleBar(
      { format: ' {phase} [{bar}] {percentage}% | {value}/{total} {unit} | ETA {eta_formatted}', hideCursor: true },
      Presets.shades_classic,
    );
    if (show) bar.start(size, 0, { phase: 'upload ', unit: 'bytes' });
    const created = await this.imports.create(
      systemActor(`cli:${process.env.USER ?? 'operator'}`),
      kind as ImportKind,
      { mode: options.mode, delimiter: options.delimiter, fileName: basename(file) },
      createReadStream(file, { highWaterMark: 1024 * 1024 }),
      (bytes) => show && bar.update(bytes),
    );
    if (show) {
      bar.stop();
      bar.start(100, 0, { phase: 'process', unit: '%' });
    }
    const done = await this.imports.run(created.id, (fraction) => {
      if (show) bar.update(Math.round(fraction * 100));
    });
    if (show) bar.stop();
    const c = done.counts;
    process.stdout.write(
      `import ${done.id} ${done.state}` +
        (c
          ? `: ${c.read} read, ${c.inserted} inserted, ${c.updated} updated, ${c.unchanged} unchanged, ` +
            `${c.rejected} rejected, ${c.duplicates} duplicates`
          : '') +
        '\n',
    );
    if (done.error) process.stderr.write(`${done.error}\n`);
    if (c?.rejected) {
      if (options.errors) {
        const out = createWriteStream(options.errors);
        for await (const piece of this.imports.errorsCsv(done.id)) out.write(piece);
        await new Promise((resolve) => out.end(resolve));
        process.stderr.write(`rejected rows written to ${options.errors}\n`);
      } else {
        let shown = -1; // the header comes first
        for await (const piece of this.imports.errorsCsv(done.id)) {
          for (const line of piece.trimEnd().split('\r\n')) {
            if (shown >= 0 && shown < 10) process.stderr.write(`  line ${line.replace(',', ': ')}\n`);
            shown++;
          }
          if (shown >= 10) break;
        }
        if (c.rejected > 10) process.stderr.write(`  ... and ${c.rejected - 10} more (use --errors FILE)\n`);
      }
    }
    if (done.state !== 'completed' || c?.rejected) process.exitCode = 1;
  }

  @Option({ flags: '-m, --mode <mode>', description: 'valid-rows (default) | all-or-nothing' })
  parseMode(value: string): string {
    return value;
  }

  @Option({ flags: '-d, --delimiter <char>', description: 'field delimiter: one character or "tab" (default ,)' })
  parseDelimiter(value: string): string {
    return value;
  }

  @Option({ flags: '-e, --errors <file>', description: 'write the rejected rows (line, column, reason) to this CSV' })
  parseErrors(value: string): string {
    return value;
  }

  @Option({ flags: '--no-progress', description: 'no progress bars' })
  parseNoProgress(): boolean {
    return false;
  }
}
