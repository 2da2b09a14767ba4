import { Command, CommandRunner, Option } from 'nest-commander';
import { ReconcileService } from '@closeloop/analytics';

/**
 * `npm run cli -- reconcile [--program CODE]`: recomputes every report figure from contact and
 * response history, prints each difference from the counters reports read, and exits 1 if any.
 */
@Command({ name: 'reconcile', description: 'recompute report figures from history; exit 1 on any difference' })
export class ReconcileCommand extends CommandRunner {
  constructor(private readonly reconciler: ReconcileService) {
    super();
  }

  async run(_: string[], options: { program?: string }): Promise<void> {
    const { programs, differences } = await this.reconciler.reconcile(options.program);
    for (const d of differences) {
      process.stdout.write(
        `${d.program} ${d.cell} ${d.metric}: counters ${d.counter}, history ${d.history} (${d.counter - d.history > 0 ? '+' : ''}${d.counter - d.history})\n`,
      );
    }
    process.stdout.write(
      `reconcile: ${programs} program(s) checked, ${differences.length} difference(s)${differences.length ? '' : ': every figure matches history'}\n`,
    );
    if (differences.length) process.exitCode = 1;
  }

  @Option({ flags: '-p, --program <code>', description: 'one program (code or id); default: every program' })
  parseProgram(value: string): string {
    return value;
  }
}
