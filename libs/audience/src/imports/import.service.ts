import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { once } from 'node:events';
import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import {
  Actor,
  AppConfig,
  ConflictError,
  csvRow,
  ImportColumn,
  ImportKind,
  ImportMode,
  isUuid,
  mapImportHeader,
  NotFoundError,
  parseDelimiter,
  systemActor,
  TooLargeError,
  ValidationError,
} from '@closeloop/core';
import { APP_CONFIG, AuditService, iso, keysetPage, Page } from '@closeloop/persistence';
import { DataSource } from 'typeorm';
import { ImportListQueryDto, ImportState, ImportView } from '../dto/import.dto';
import { SqlQuery } from '../customer-merge';
import { readCsv, MalformedFileError } from './csv-reader';
import { columnNames, IMPORT_KIND_SPECS, stageLine } from './import-kinds';

/** Pieces the upload is stored in. */
const CHUNK_BYTES = 1024 * 1024;

interface ImportRow {
  id: string;
  kind: ImportKind;
  mode: ImportMode;
  delimiter: string;
  fileName: string | null;
  bytes: string;
  state: 'uploading' | ImportState;
  progress: string;
  counts: ImportView['counts'];
  error: string | null;
  createdBy: string;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

const COLUMNS = `i.id, i.kind, i.mode, i.delimiter, i.file_name AS "fileName", i.bytes, i.state, i.progress, i.counts,
                 i.error, i.created_by AS "createdBy", i.created_at AS "createdAt", i.started_at AS "startedAt",
                 i.finished_at AS "finishedAt"`;

export interface ImportOptions {
  mode?: ImportMode;
  delimiter?: string;
  fileName?: string | null;
}

/**
 * CSV imports of customers, orders and suppressions. The upload is stored in PostgreSQL as it
 * arrives (never whole in memory); `run` streams it back through the CSV parser and the same
 * validation as the API, loads the rows with `COPY` into a staging table, then merges set-based,
 * all in one transaction: a crash or a worker restart leaves nothing half-applied, and running
 * the import again does it once.
 */
@Injectable()
export class ImportService {
  private readonly logger = new Logger(ImportService.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * Stores an upload as a new import (state queued). Over IMPORT_MAX_BYTES: TooLargeError and
   * nothing kept. Options are checked before a byte is read.
   */
  async create(
    actor: Actor,
    kind: ImportKind,
    options: ImportOptions,
    body: AsyncIterable<Buffer | string>,
    onBytes: (bytes: number) => void = () => {},
  ): Promise<ImportView> {
    if (!IMPORT_KIND_SPECS[kind]) throw new NotFoundError('import kind', kind);
    const delimiter = parseDelimiter(options.delimiter);
    const mode = options.mode ?? 'valid-rows';
    if (mode !== 'valid-rows' && mode !== 'all-or-nothing') {
      throw new ValidationError('mode must be valid-rows or all-or-nothing', 'mode');
    }
    const [{ id }] = await this.dataSource.query(
      `INSERT INTO import (kind, mode, delimiter, file_name, state, created_by) VALUES ($1, $2, $3, $4, 'uploading', $5)
       RETURNING id`,
      [kind, mode, delimiter, options.fileName?.slice(0, 200) ?? null, actor.name],
    );
    try {
      let bytes = 0;
      let seq = 0;
      let pending: Buffer[] = [];
      let pendingBytes = 0;
      const flush = async () => {
        if (!pendingBytes) return;
        await this.dataSource.query(`INSERT INTO import_chunk (import_id, seq, data) VALUES ($1, $2, $3)`, [
          id,
          seq++,
          Buffer.concat(pending),
        ]);
        pending = [];
        pendingBytes = 0;
      };
      for await (const piece of body) {
        const buf = typeof piece === 'string' ? Buffer.from(piece) : piece;
        bytes += buf.length;
        if (bytes > this.config.importMaxBytes) {
          throw new TooLargeError(`the file is over the import limit of ${this.config.importMaxBytes} bytes`);
        }
        pending.push(buf);
        pendingBytes += buf.length;
        if (pendingBytes >= CHUNK_BYTES) await flush();
        onBytes(bytes);
      }
      await flush();
      if (bytes === 0) throw new ValidationError('the file is empty', 'file');
      await this.dataSource.transaction(async (m) => {
        await m.query(`UPDATE import SET state = 'queued', bytes = $2 WHERE id = $1`, [id, bytes]);
        await this.audit.record(m, actor, {
          action: 'import.create',
          entityType: 'import',
          entityId: id,
          changes: { kind, mode, bytes, fileName: options.fileName ?? null },
        });
      });
    } catch (error) {
      await this.dataSource.query(`DELETE FROM import WHERE id = $1`, [id]);
      throw error;
    }
    return this.get(id);
  }

  async get(id: string): Promise<ImportView> {
    if (!isUuid(id)) throw new NotFoundError('import', id);
    const rows: ImportRow[] = await this.dataSource.query(
      `SELECT ${COLUMNS} FROM import i WHERE i.id = $1 AND i.state <> 'uploading'`,
      [id],
    );
    if (!rows.length) throw new NotFoundError('import', id);
    return mapImport(rows[0]);
  }

  async list(query: ImportListQueryDto): Promise<Page<ImportView>> {
    const qb = this.dataSource.createQueryBuilder().select(COLUMNS).from('import', 'i').where(`i.state <> 'uploading'`);
    if (query.kind) qb.andWhere('i.kind = :kind', { kind: query.kind });
    if (query.state) qb.andWhere('i.state = :state', { state: query.state });
    const page = await keysetPage(qb, 'i', query, (q) => q.getRawMany<ImportRow>());
    return { items: page.rows.map(mapImport), nextCursor: page.nextCursor };
  }

  /** The rejected rows as CSV (line, column, reason), streamed in line order. */
  async *errorsCsv(id: string): AsyncGenerator<string> {
    await this.get(id);
    yield csvRow(['line', 'column', 'reason']);
    let after = 0;
    for (;;) {
      const rows: { line: number; column_name: string | null; reason: string }[] = await this.dataSource.query(
        `SELECT line, column_name, reason FROM import_error WHERE import_id = $1 AND line > $2 ORDER BY line LIMIT 5000`,
        [id, after],
      );
      if (!rows.length) return;
      yield rows.map((r) => csvRow([r.line, r.column_name ?? '', r.reason])).join('');
      after = rows[rows.length - 1].line;
    }
  }

  /**
   * Processes a queued import (again, after a crash: the work of an interrupted run was rolled
   * back). A finished import is left as it is. `onProgress` gets 0..1.
   */
  async run(id: string, onProgress: (fraction: number) => void | Promise<void> = () => {}): Promise<ImportView> {
    const runner = this.dataSource.createQueryRunner();
    const client = (await runner.connect()) as PoolClient;
    const query: SqlQuery = async (sql, params) => (await client.query(sql, params as unknown[])).rows;
    try {
      await runner.startTransaction();
      // One runner per import at a time; a second one waits, then finds it finished.
      await query(`SELECT pg_advisory_xact_lock(hashtext('import:' || $1))`, [id]);
      const [row]: ImportRow[] = (await query(`SELECT ${COLUMNS} FROM import i WHERE i.id = $1`, [id])) as never;
      if (!row) throw new NotFoundError('import', id);
      if (row.state === 'uploading') throw new ConflictError(`import ${id} is still being uploaded`);
      if (row.state === 'completed' || row.state === 'failed') {
        await runner.commitTransaction();
        return mapImport(row);
      }
      await this.dataSource.query(
        `UPDATE import SET state = 'running', attempts = attempts + 1, started_at = now(), progress = 0 WHERE id = $1`,
        [id],
      );
      let outcome: { state: ImportState; counts: ImportView['counts']; error: string | null };
      try {
        outcome = await this.process(row, query, client, onProgress);
      } catch (error) {
        if (!(error instanceof ValidationError)) throw error;
        // The file itself is unusable: nothing was applied; say why.
        await runner.rollbackTransaction();
        await this.finish(this.dataSource.query.bind(this.dataSource), id, 'failed', null, error.message);
        this.logger.warn({ import: id, reason: error.message }, 'import failed');
        return this.get(id);
      }
      await this.finish(query, id, outcome.state, outcome.counts, outcome.error);
      await this.audit.record(runner.manager, systemActor('importer'), {
        action: 'import.apply',
        entityType: 'import',
        entityId: id,
        changes: { kind: row.kind, state: outcome.state, ...outcome.counts },
      });
      await runner.commitTransaction();
      await onProgress(1);
      return this.get(id);
    } catch (error) {
      if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
      throw error;
    } finally {
      await runner.release();
    }
  }

  /** Marks an import that cannot be processed (out of retries) as failed; a finished one is left alone. */
  async fail(id: string, reason: string): Promise<void> {
    await this.dataSource.query(
      `UPDATE import SET state = 'failed', error = $2, finished_at = now() WHERE id = $1 AND state IN ('queued', 'running')`,
      [id, reason],
    );
  }

  private async finish(
    query: SqlQuery,
    id: string,
    state: ImportState,
    counts: ImportView['counts'],
    error: string | null,
  ): Promise<void> {
    await query(
      `UPDATE import SET state = $2, counts = $3, error = $4, progress = 1, finished_at = now() WHERE id = $1`,
      [id, state, counts ? JSON.stringify(counts) : null, error],
    );
    // The file is not needed once the import has an outcome.
    await query(`DELETE FROM import_chunk WHERE import_id = $1`, [id]);
  }

  private async process(
    row: ImportRow,
    query: SqlQuery,
    client: PoolClient,
    onProgress: (fraction: number) => void | Promise<void>,
  ): Promise<{ state: ImportState; counts: NonNullable<ImportView['counts']>; error: string | null }> {
    const spec = IMPORT_KIND_SPECS[row.kind];
    const names = columnNames(spec.columns);
    const stageColumns = spec.columns.replace(/ NOT NULL/g, '');
    await query(`SET LOCAL work_mem = '256MB'`);
    await query(
      `CREATE TEMP TABLE import_stage (import_line int NOT NULL, import_column text, import_reason text, ${stageColumns}) ON COMMIT DROP`,
    );
    await query(`CREATE TEMP TABLE import_input (${spec.columns}) ON COMMIT DROP`);

    const totalBytes = Number(row.bytes) || 1;
    let lastProgress = 0;
    const progress = async (fraction: number) => {
      const now = Date.now();
      if (now - lastProgress < 500) return;
      lastProgress = now;
      await this.dataSource.query(`UPDATE import SET progress = $2 WHERE id = $1`, [row.id, fraction.toFixed(4)]);
      await onProgress(fraction);
    };

    const copy = client.query(copyFrom(`COPY import_stage FROM STDIN`));
    const copyDone = new Promise<void>((resolve, reject) => {
      copy.on('finish', resolve);
      copy.on('error', reject);
    });
    let columns: ImportColumn[] | undefined;
    let headerOf = (field: string) => field;
    let bytesRead = 0;
    try {
      for await (const records of readCsv(this.chunks(row.id), row.delimiter, (b) => (bytesRead = b))) {
        let out = '';
        for (const record of records) {
          if (!columns) {
            columns = mapImportHeader(row.kind, record.fields);
            const byField = new Map(
              columns.map((c) => [c.attribute ? `attributes.${c.attribute}` : c.field, c.header]),
            );
            headerOf = (field) =>
              byField.get(field) ??
              byField.get(field === 'consent.email' ? 'consentEmail' : field === 'consent.sms' ? 'consentSms' : '') ??
              [...byField.entries()].find(([f]) => f.startsWith(`${field}.`))?.[1] ??
              field;
            continue;
          }
          out += this.stage(spec, columns, record, names.length, headerOf);
        }
        if (out && !copy.write(out)) await once(copy, 'drain');
        await progress((bytesRead / totalBytes) * 0.8);
      }
      if (!columns) throw new MalformedFileError('the file has no header row');
      copy.end();
      await copyDone;
    } catch (error) {
      copy.destroy();
      await copyDone.catch(() => undefined);
      throw error;
    }
    await progress(0.85);

    if (spec.check) await spec.check(query, 'import_stage', headerOf);
    const [tally] = await query(
      `SELECT count(*)::int AS read, count(*) FILTER (WHERE import_reason IS NOT NULL)::int AS rejected FROM import_stage`,
    );
    const [unique] = await query(
      `WITH n AS (
         INSERT INTO import_input SELECT DISTINCT ON (${spec.key}) ${names.join(', ')} FROM import_stage
          WHERE import_reason IS NULL ORDER BY ${spec.key}, import_line DESC RETURNING 1)
       SELECT count(*)::int AS n FROM n`,
    );
    await query(
      `INSERT INTO import_error (import_id, line, column_name, reason)
       SELECT $1, import_line, import_column, import_reason FROM import_stage WHERE import_reason IS NOT NULL`,
      [row.id],
    );
    const read = Number(tally.read);
    const rejected = Number(tally.rejected);
    const duplicates = read - rejected - Number(unique.n);
    if (row.mode === 'all-or-nothing' && rejected > 0) {
      return {
        state: 'failed',
        counts: { read, inserted: 0, updated: 0, unchanged: 0, rejected, duplicates },
        error: `${rejected} row${rejected === 1 ? ' was' : 's were'} rejected; nothing was applied (mode all-or-nothing)`,
      };
    }
    await progress(0.9);
    await query(`ANALYZE import_input`);
    const merged = await spec.merge(query, 'import_input', row.createdBy);
    return {
      state: 'completed',
      counts: {
        read,
        inserted: merged.inserted,
        updated: merged.updated,
        unchanged: merged.total - merged.inserted - merged.updated,
        rejected,
        duplicates,
      },
      error: null,
    };
  }

  /** One CSV record as a staged line: its values, or the reason it is rejected. */
  private stage(
    spec: (typeof IMPORT_KIND_SPECS)[ImportKind],
    columns: ImportColumn[],
    record: { line: number; fields: string[]; problem?: string },
    width: number,
    headerOf: (field: string) => string,
  ): string {
    if (record.problem) return stageLine(record.line, null, width, '', record.problem);
    if (record.fields.length !== columns.length) {
      return stageLine(
        record.line,
        null,
        width,
        '',
        `the row has ${record.fields.length} field${record.fields.length === 1 ? '' : 's'}; the header has ${columns.length}`,
      );
    }
    const fields = new Map<string, string>();
    const attributes = new Map<string, string>();
    columns.forEach((c, i) => {
      if (c.attribute) attributes.set(c.attribute, record.fields[i]);
      else fields.set(c.field, record.fields[i]);
    });
    try {
      return stageLine(record.line, spec.toValues(fields, attributes), width);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      return stageLine(record.line, null, width, headerOf(error.field ?? ''), error.message);
    }
  }

  /** The stored file, a piece at a time (the next piece is fetched while this one is parsed). */
  private async *chunks(id: string): AsyncGenerator<Buffer> {
    const fetch = (seq: number): Promise<Buffer | undefined> => {
      const piece = this.dataSource
        .query(`SELECT data FROM import_chunk WHERE import_id = $1 AND seq = $2`, [id, seq])
        .then((rows: { data: Buffer }[]) => rows[0]?.data);
      piece.catch(() => undefined); // a prefetch nobody awaits (the parse failed) must not crash the process
      return piece;
    };
    let next = fetch(0);
    for (let seq = 1; ; seq++) {
      const data = await next;
      if (!data) return;
      next = fetch(seq);
      yield data;
    }
  }
}

function mapImport(r: ImportRow): ImportView {
  return {
    id: r.id,
    kind: r.kind,
    mode: r.mode,
    state: r.state === 'uploading' ? 'queued' : r.state,
    progress: Number(r.progress),
    counts: r.counts,
    error: r.error,
    errorsUrl: `/v1/imports/${r.id}/errors.csv`,
    fileName: r.fileName,
    bytes: Number(r.bytes),
    delimiter: r.delimiter,
    createdBy: r.createdBy,
    createdAt: new Date(r.createdAt).toISOString(),
    startedAt: iso(r.startedAt ? new Date(r.startedAt) : null),
    finishedAt: iso(r.finishedAt ? new Date(r.finishedAt) : null),
  };
}
