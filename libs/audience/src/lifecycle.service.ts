import { Inject, Injectable, Optional } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Clock, LIFECYCLE_STAGES, lifecycleCutoffs, LifecycleStage, systemClock } from '@closeloop/core';
import { DataSource } from 'typeorm';
import { AUDIENCE_CLOCK } from './segment.service';

/** One recompute at a time (transaction-scoped advisory lock): two would only fight over row locks. */
const RECOMPUTE_LOCK = 7_311_998_417;

export interface LifecycleRecompute {
  /** The instant the stages were computed for. */
  at: string;
  /** Customers with at least one order (every one of them was evaluated). */
  evaluated: number;
  /** Customers whose stage changed. */
  changed: number;
  /** Of those, how many moved into each stage. */
  movedTo: Record<LifecycleStage, number>;
}

/**
 * Stores each customer's lifecycle stage (core `lifecycleStage`, thresholds in core
 * `LIFECYCLE_THRESHOLDS`) in `customer.lifecycle_stage`, where the `lifecycleStage` segment field
 * reads it. Stages move with time alone, so this runs daily (worker scheduler) and on demand
 * (`npm run cli -- lifecycle`).
 *
 * One set-based statement: order timing per customer from `customer_order` (its index on
 * (customer_id, ordered_at) serves the previous-order lookup, made only for customers whose last
 * order is recent enough for `won-back` to matter), the stage by the same comparisons as core with
 * the cutoffs computed once by core's `lifecycleCutoffs`, and an update of the rows whose stage
 * differs, so an unchanged customer is not rewritten. Customers without an order are not touched:
 * they keep the stage they were given (`prospect` by default).
 */
@Injectable()
export class LifecycleService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Optional() @Inject(AUDIENCE_CLOCK) private readonly clock: Clock = systemClock,
  ) {}

  async recompute(now: Date = this.clock.now()): Promise<LifecycleRecompute> {
    const c = lifecycleCutoffs(now);
    return this.dataSource.transaction(async (m) => {
      await m.query(`SELECT pg_advisory_xact_lock($1)`, [RECOMPUTE_LOCK]);
      const rows: { stage: LifecycleStage | null; evaluated: number; changed: number }[] = await m.query(
        `WITH timing AS (
           SELECT o.customer_id, min(o.ordered_at) AS first_at, max(o.ordered_at) AS last_at
             FROM customer_order o GROUP BY o.customer_id
         ),
         staged AS (
           SELECT t.customer_id,
                  CASE
                    WHEN t.first_at >= $1 THEN 'new'
                    WHEN t.last_at >= $2 THEN
                      CASE WHEN (SELECT p.ordered_at FROM customer_order p WHERE p.customer_id = t.customer_id
                                  ORDER BY p.ordered_at DESC OFFSET 1 LIMIT 1) < t.last_at - make_interval(secs => $4)
                           THEN 'won-back' ELSE 'active' END
                    WHEN t.last_at >= $3 THEN 'at-risk'
                    ELSE 'lapsed'
                  END AS stage
             FROM timing t
         ),
         changed AS (
           UPDATE customer c SET lifecycle_stage = s.stage, updated_at = $5
             FROM staged s
            WHERE c.id = s.customer_id AND c.lifecycle_stage IS DISTINCT FROM s.stage
           RETURNING c.lifecycle_stage AS stage
         )
         SELECT stage, count(*)::int AS changed, (SELECT count(*)::int FROM timing) AS evaluated
           FROM changed GROUP BY stage
         UNION ALL
         SELECT NULL, 0, (SELECT count(*)::int FROM timing)`,
        [c.newSince, c.activeSince, c.lapsedBefore, c.wonBackGapMs / 1000, now],
      );
      const movedTo = Object.fromEntries(LIFECYCLE_STAGES.map((s) => [s, 0])) as Record<LifecycleStage, number>;
      for (const r of rows) if (r.stage) movedTo[r.stage] = r.changed;
      return {
        at: now.toISOString(),
        evaluated: rows[0]?.evaluated ?? 0,
        changed: Object.values(movedTo).reduce((a, b) => a + b, 0),
        movedTo,
      };
    });
  }
}
