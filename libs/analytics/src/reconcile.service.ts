import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { ReportService } from './report.service';

export interface CounterDifference {
  program: string;
  cell: string;
  metric: string;
  /** What the counters say (what reports show). */
  counter: number;
  /** What contact and response history say. */
  history: number;
}

/**
 * Reports read counters; history is the truth (PRODUCT.md: every number in a report can be
 * re-derived from contact and response history). This recomputes every counter of a program from
 * `send` and `response` with the same rules the triggers apply (a member's first response of a kind
 * decides its cell for unique counts; revenue goes to each conversion's cell; a member's revenue
 * total to its first conversion's cell for the sum of squares) and lists where they differ.
 */
@Injectable()
export class ReconcileService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly reports: ReportService,
  ) {}

  /** Every program with sends or responses, or the one given (id or code). */
  async reconcile(programRef?: string): Promise<{ programs: number; differences: CounterDifference[] }> {
    const programs: { id: string; code: string }[] = programRef
      ? [await this.reports.program(programRef)].map((p) => ({ id: p.id, code: p.code }))
      : await this.dataSource.query(
          `SELECT id, code FROM program p
            WHERE EXISTS (SELECT 1 FROM send s WHERE s.program_id = p.id)
               OR EXISTS (SELECT 1 FROM response r WHERE r.program_id = p.id)
            ORDER BY created_at, id`,
        );
    const differences: CounterDifference[] = [];
    for (const p of programs) differences.push(...(await this.program(p.id, p.code)));
    return { programs: programs.length, differences };
  }

  private async program(programId: string, code: string): Promise<CounterDifference[]> {
    const history = await this.fromHistory(programId);
    const counters = await this.reports.counters(programId);
    const cells: { id: string; code: string }[] = await this.dataSource.query(
      `SELECT id, code FROM cell WHERE program_id = $1`,
      [programId],
    );
    const cellCode = new Map(cells.map((c) => [c.id, c.code]));
    const keys = new Set<string>();
    for (const [cell, metrics] of [...history, ...counters])
      for (const metric of metrics.keys()) keys.add(`${cell} ${metric}`);
    const out: CounterDifference[] = [];
    for (const key of [...keys].sort()) {
      const [cell, metric] = key.split(' ');
      const h = history.get(cell)?.get(metric) ?? 0;
      const c = counters.get(cell)?.get(metric) ?? 0;
      if (h !== c) out.push({ program: code, cell: cellCode.get(cell) ?? cell, metric, counter: c, history: h });
    }
    return out;
  }

  /** Every counter of a program, recomputed from history. */
  async fromHistory(programId: string): Promise<Map<string, Map<string, number>>> {
    const rows: { cell_id: string; metric: string; value: string }[] = await this.dataSource.query(
      `SELECT cell_id, 'state:' || state AS metric, count(*) AS value FROM send WHERE program_id = $1 GROUP BY 1, 2
       UNION ALL
       SELECT cell_id, 'events:' || type, count(*) FROM response
        WHERE program_id = $1 AND cell_id IS NOT NULL GROUP BY 1, 2
       UNION ALL
       SELECT cell_id, 'revenue', sum(value) FROM response
        WHERE program_id = $1 AND cell_id IS NOT NULL AND type = 'conversion' AND value IS NOT NULL GROUP BY 1
       UNION ALL
       SELECT cell_id, 'currency:' || currency, count(*) FROM response
        WHERE program_id = $1 AND cell_id IS NOT NULL AND type = 'conversion' AND currency IS NOT NULL GROUP BY 1, 2
       UNION ALL
       SELECT cell_id, 'unique:' || kind, count(*) FROM (
         SELECT DISTINCT ON (r.customer_id, k.kind) r.customer_id, k.kind, r.cell_id
           FROM response r
           CROSS JOIN LATERAL (VALUES (r.type),
                                      (CASE WHEN r.type IN ('open', 'click') AND NOT r.machine THEN r.type || '-human' END)) AS k(kind)
          WHERE r.program_id = $1 AND r.cell_id IS NOT NULL AND k.kind IS NOT NULL AND r.type <> 'conversion'
          ORDER BY r.customer_id, k.kind, r.id) f
        GROUP BY 1, 2
       UNION ALL
       SELECT cell_id, metric, sum(v) FROM (
         SELECT (array_agg(cell_id ORDER BY id))[1] AS cell_id, count(*) AS n, sum(coalesce(value, 0)) AS total
           FROM response WHERE program_id = $1 AND cell_id IS NOT NULL AND type = 'conversion' GROUP BY customer_id) m
         CROSS JOIN LATERAL (VALUES ('unique:conversion', 1::numeric), ('revenue_sq', m.total::numeric * m.total)) AS x(metric, v)
        GROUP BY 1, 2`,
      [programId],
    );
    const byCell = new Map<string, Map<string, number>>();
    for (const r of rows) {
      const value = Number(r.value);
      if (!value) continue;
      const m = byCell.get(r.cell_id) ?? new Map<string, number>();
      m.set(r.metric, (m.get(r.metric) ?? 0) + value);
      byCell.set(r.cell_id, m);
    }
    return byCell;
  }
}
