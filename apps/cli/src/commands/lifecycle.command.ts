import { Command, CommandRunner, Option } from 'nest-commander';
import { LIFECYCLE_STAGES, ValidationError } from '@closeloop/core';
import { LifecycleService } from '@closeloop/audience';

/**
 * `npm run cli -- lifecycle [--at TIME]`: recomputes every customer's lifecycle stage from their
 * orders now (the worker does it daily at 03:00 UTC) and prints how many moved into each stage.
 */
@Command({ name: 'lifecycle', description: 'recompute customer lifecycle stages from purchase timing' })
export class LifecycleCommand extends CommandRunner {
  constructor(private readonly lifecycle: LifecycleService) {
    super();
  }

  async run(_: string[], options: { at?: Date }): Promise<void> {
    const r = await this.lifecycle.recompute(options.at);
    const moved = LIFECYCLE_STAGES.filter((s) => s !== 'prospect')
      .map((s) => `${s} ${r.movedTo[s]}`)
      .join(', ');
    process.stdout.write(
      `lifecycle at ${r.at}: ${r.evaluated} customer(s) with orders, ${r.changed} changed stage (${moved})\n`,
    );
  }

  @Option({ flags: '--at <time>', description: 'compute the stages as of this ISO 8601 time (default: now)' })
  parseAt(value: string): Date {
    const at = new Date(value);
    if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(at.getTime())) {
      throw new ValidationError('--at must be an ISO 8601 time such as 2026-06-01T03:00:00Z', 'at');
    }
    return at;
  }
}
