import { Injectable } from '@nestjs/common';
import { ReentryPolicy } from '@closeloop/core';
import { EntityManager } from 'typeorm';
import { RunnableVersion } from './drip-catalog';

/** Failures of one enrollment (its batch retried alone) before it is ended with reason `error`. */
export const MAX_FAILURES = 5;

/** An enrollment claimed because it is due, with what its steps need of the customer. */
export interface DueEnrollment {
  id: string;
  failures: number;
  due_at: Date;
  version: number;
  customer_id: string;
  step_id: string | null;
  waiting: boolean;
  program_id: string;
  cell_id: string;
  entered_at: Date;
  depth: number;
  time_zone: string | null;
  email: string | null;
  phone: string | null;
  erased: boolean;
}

/** Where an enrollment is after a batch, written back in one statement. */
export interface EnrollmentMove {
  id: string;
  state: 'active' | 'completed' | 'exited';
  stepId: string | null;
  waiting: boolean;
  dueAt: Date | null;
  programId: string;
  cellId: string;
  endStep: string | null;
  exitReason: string | null;
}

export interface EnrollCandidate {
  customerId: string;
  /** The occurrence that enrolls (an event id, a local date): a drip enrolls once per key. */
  triggerKey: string | null;
  depth: number;
}

/** (step id, metric) -> amount; step '' is the drip as a whole. */
export type CounterDeltas = Map<string, number>;
export const counterKey = (step: string, metric: string) => `${step}\u0000${metric}`;

export function addCount(deltas: CounterDeltas, step: string, metric: string, n = 1): void {
  const key = counterKey(step, metric);
  deltas.set(key, (deltas.get(key) ?? 0) + n);
}

/** An enrollment that ended early: counted at its drip (in all and by reason) and at the step it left from. */
export function countExit(deltas: CounterDeltas, step: string | null, reason: string): void {
  addCount(deltas, '', 'exited');
  addCount(deltas, '', `exited:${reason}`);
  if (step) addCount(deltas, step, `exited:${reason}`);
}

/**
 * Every statement on drip enrollments and what the engine asks of history while it advances them.
 * Statements take the caller's EntityManager: a batch is claimed, advanced and written back in one
 * transaction, so a worker that dies mid-batch leaves it as it was (and its sends unwritten).
 */
@Injectable()
export class EnrollmentRepository {
  /**
   * Due enrollments of one drip, oldest due first, locked for this transaction; SKIP LOCKED lets
   * several workers take different batches of the same drip at once.
   */
  async claimDue(
    m: EntityManager,
    dripId: string,
    now: Date,
    limit: number,
    only: string | null = null,
  ): Promise<DueEnrollment[]> {
    return m.query(
      `SELECT e.id, e.version, e.customer_id, e.step_id, e.waiting, e.program_id, e.cell_id, e.entered_at, e.depth,
              e.failures, e.due_at, c.time_zone, c.email, c.phone, c.erased_at IS NOT NULL AS erased
         FROM drip_enrollment e JOIN customer c ON c.id = e.customer_id
        WHERE e.drip_id = $1 AND e.state = 'active' AND e.due_at <= $2 AND ($4::uuid IS NULL OR e.id = $4)
          -- A drip paused (or archived) while a tick runs stops at its next batch.
          AND EXISTS (SELECT 1 FROM drip d WHERE d.id = $1 AND d.state = 'active')
        ORDER BY e.due_at
        LIMIT $3
          FOR UPDATE OF e SKIP LOCKED`,
      [dripId, now, limit, only],
    );
  }

  /**
   * An enrollment that failed on its own: put off with a growing delay (1, 2, 4, 8 minutes), and ended
   * with reason `error` at the fifth failure, so one bad enrollment never holds up its drip.
   */
  async recordFailure(
    m: EntityManager,
    id: string,
    seen: Date,
    error: string,
    now: Date,
  ): Promise<'retry' | 'exited' | 'moved'> {
    // Only if nobody moved it meanwhile (another worker may have advanced it after this one failed).
    const [row]: { failures: number }[] = await m.query(
      `WITH f AS (
         UPDATE drip_enrollment SET failures = failures + 1, last_error = $2, updated_at = $3,
                due_at = $3::timestamptz + make_interval(mins => power(2, failures)::int)
          WHERE id = $1 AND state = 'active' AND updated_at = $4 RETURNING failures)
       SELECT failures FROM f`,
      [id, error.slice(0, 1000), now, seen],
    );
    if (!row) return 'moved';
    if (row.failures < MAX_FAILURES) return 'retry';
    await this.exitEnrollments(m, [id], 'error', now);
    return 'exited';
  }

  /**
   * Enrolls customers in a drip's current version, due at once. The policy is kept by the indexes:
   * an exclusive drip has one active enrollment per customer, and a trigger key enrolls once; 'never'
   * also skips customers who were ever enrolled. Also makes each new customer a member of the drip's
   * main program (its report's denominator) and counts them. Returns the customers enrolled.
   */
  async enroll(
    m: EntityManager,
    v: RunnableVersion,
    reentry: ReentryPolicy,
    candidates: EnrollCandidate[],
    now: Date,
  ): Promise<string[]> {
    if (!candidates.length) return [];
    return this.enrollFrom(
      m,
      v,
      reentry,
      'SELECT * FROM unnest($1::uuid[], $2::text[], $3::int[]) AS x(customer_id, trigger_key, depth)',
      [candidates.map((c) => c.customerId), candidates.map((c) => c.triggerKey), candidates.map((c) => c.depth)],
      now,
    );
  }

  /**
   * Enrolls the customers a query gives (columns customer_id, trigger_key, depth; its parameters come
   * first), set-based: a segment's newcomers never pass through the process. Nothing is enrolled unless
   * the drip is active, read under a key-share lock, so an archive or a pause committing meanwhile
   * either waits for this or is seen by it (no enrollment is left behind in an archived drip).
   */
  async enrollFrom(
    m: EntityManager,
    v: RunnableVersion,
    reentry: ReentryPolicy,
    source: string,
    sourceParams: unknown[],
    now: Date,
  ): Promise<string[]> {
    const [drip]: { state: string }[] = await m.query(`SELECT state FROM drip WHERE id = $1 FOR KEY SHARE`, [v.dripId]);
    if (drip?.state !== 'active') return [];
    const k = sourceParams.length;
    const p = (i: number) => `$${k + i}`;
    const rows: { customer_id: string }[] = await m.query(
      `WITH c AS (
         SELECT DISTINCT ON (x.customer_id, x.trigger_key) x.customer_id, x.trigger_key, x.depth
           FROM (${source}) AS x
           JOIN customer cu ON cu.id = x.customer_id AND cu.erased_at IS NULL
          ORDER BY x.customer_id, x.trigger_key, x.depth),
       ins AS (
         INSERT INTO drip_enrollment (drip_id, version, customer_id, state, step_id, waiting, due_at, program_id,
                                      cell_id, trigger_key, exclusive, depth, entered_at, updated_at)
         SELECT ${p(1)}, ${p(2)}, c.customer_id, 'active', NULL, false, ${p(3)}, ${p(4)}, ${p(5)}, c.trigger_key, ${p(6)},
                c.depth, ${p(3)}, ${p(3)}
           FROM c
          WHERE ${p(7)} <> 'never'
             OR NOT EXISTS (SELECT 1 FROM drip_enrollment x WHERE x.customer_id = c.customer_id AND x.drip_id = ${p(1)})
         ON CONFLICT DO NOTHING
         RETURNING customer_id),
       members AS (
         INSERT INTO program_member (program_id, customer_id, cell_id, assigned_at)
         SELECT DISTINCT ${p(4)}::uuid, customer_id, ${p(5)}::uuid, ${p(3)}::timestamptz FROM ins
         ON CONFLICT DO NOTHING),
       counted AS (
         INSERT INTO drip_counter AS k (drip_id, step_id, metric, value)
         SELECT ${p(1)}, '', 'enrolled', count(*) FROM ins HAVING count(*) > 0
         ON CONFLICT (drip_id, step_id, metric) DO UPDATE SET value = k.value + excluded.value)
       SELECT customer_id FROM ins`,
      [...sourceParams, v.dripId, v.version, now, v.main.programId, v.main.cell.id, reentry !== 'always', reentry],
    );
    return rows.map((r) => r.customer_id);
  }

  async saveMoves(m: EntityManager, moves: EnrollmentMove[], now: Date): Promise<void> {
    if (!moves.length) return;
    await m.query(
      `UPDATE drip_enrollment e SET state = x.state, step_id = x.step_id, waiting = x.waiting, due_at = x.due_at,
              program_id = x.program_id, cell_id = x.cell_id, end_step = x.end_step, exit_reason = x.exit_reason,
              ended_at = CASE WHEN x.state = 'active' THEN NULL ELSE $10::timestamptz END, updated_at = $10,
              failures = 0
         FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bool[], $5::timestamptz[], $6::uuid[], $7::uuid[],
                     $8::text[], $9::text[])
              AS x(id, state, step_id, waiting, due_at, program_id, cell_id, end_step, exit_reason)
        WHERE e.id = x.id`,
      [
        moves.map((x) => x.id),
        moves.map((x) => x.state),
        moves.map((x) => x.stepId),
        moves.map((x) => x.waiting),
        moves.map((x) => x.dueAt),
        moves.map((x) => x.programId),
        moves.map((x) => x.cellId),
        moves.map((x) => x.endStep),
        moves.map((x) => x.exitReason),
        now,
      ],
    );
  }

  /** Counter deltas of one drip, upserted in key order (concurrent batches lock rows in the same order). */
  async addCounters(m: EntityManager, dripId: string, deltas: CounterDeltas): Promise<void> {
    const entries = [...deltas].filter(([, n]) => n !== 0).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    if (!entries.length) return;
    await m.query(
      `INSERT INTO drip_counter AS k (drip_id, step_id, metric, value)
       SELECT $1, x.step_id, x.metric, x.n FROM unnest($2::text[], $3::text[], $4::bigint[]) AS x(step_id, metric, n)
       ON CONFLICT (drip_id, step_id, metric) DO UPDATE SET value = k.value + excluded.value`,
      [
        dripId,
        entries.map(([key]) => key.split('\u0000')[0]),
        entries.map(([key]) => key.split('\u0000')[1]),
        entries.map(([, n]) => n),
      ],
    );
  }

  /**
   * Ends active enrollments (by id) with a reason, counting each at its drip and step. Used by exits
   * that do not wait for the enrollment's next step: an event, an unsubscribe, leaving the segment.
   */
  async exitEnrollments(m: EntityManager, ids: string[], reason: string, now: Date): Promise<number> {
    if (!ids.length) return 0;
    const rows: { drip_id: string; step_id: string | null }[] = await m.query(
      `WITH ended AS (
         UPDATE drip_enrollment SET state = 'exited', due_at = NULL, waiting = false, ended_at = $2, end_step = step_id,
                exit_reason = $3, updated_at = $2
          WHERE id = ANY($1::uuid[]) AND state = 'active'
         RETURNING drip_id, step_id)
       SELECT drip_id, step_id FROM ended`,
      [ids, now, reason],
    );
    const byDrip = new Map<string, CounterDeltas>();
    for (const r of rows) {
      const deltas = byDrip.get(r.drip_id) ?? new Map<string, number>();
      countExit(deltas, r.step_id, reason);
      byDrip.set(r.drip_id, deltas);
    }
    for (const [dripId, deltas] of [...byDrip].sort(([a], [b]) => (a < b ? -1 : 1))) {
      await this.addCounters(m, dripId, deltas);
    }
    return rows.length;
  }

  /** Ends every active enrollment of a drip (archive), counting by step in SQL: no ids pass through the process. */
  async exitAll(m: EntityManager, dripId: string, reason: string, now: Date): Promise<number> {
    const rows: { n: string }[] = await m.query(
      `WITH ended AS (
         UPDATE drip_enrollment SET state = 'exited', due_at = NULL, waiting = false, ended_at = $2, end_step = step_id,
                exit_reason = $3, updated_at = $2
          WHERE drip_id = $1 AND state = 'active'
         RETURNING step_id),
       deltas AS (
         SELECT '' AS step_id, 'exited' AS metric, count(*) AS n FROM ended
         UNION ALL SELECT '', 'exited:' || $3, count(*) FROM ended
         UNION ALL SELECT step_id, 'exited:' || $3, count(*) FROM ended WHERE step_id IS NOT NULL GROUP BY step_id),
       counted AS (
         INSERT INTO drip_counter AS k (drip_id, step_id, metric, value)
         SELECT $1, step_id, metric, n FROM deltas WHERE n > 0 ORDER BY step_id, metric
         ON CONFLICT (drip_id, step_id, metric) DO UPDATE SET value = k.value + excluded.value)
       SELECT count(*) AS n FROM ended`,
      [dripId, now, reason],
    );
    return Number(rows[0].n);
  }

  /** Active enrollments of these customers in these drips (for exits decided outside the engine). */
  async activeOf(m: EntityManager, customerIds: string[], dripIds: string[]): Promise<string[]> {
    if (!customerIds.length || !dripIds.length) return [];
    const rows: { id: string }[] = await m.query(
      `SELECT id FROM drip_enrollment
        WHERE customer_id = ANY($1::uuid[]) AND drip_id = ANY($2::uuid[]) AND state = 'active'
        ORDER BY id FOR UPDATE`,
      [customerIds, dripIds],
    );
    return rows.map((r) => r.id);
  }

  /**
   * Enrollments whose customer unsubscribed (or complained) on one of the channels: a suppression
   * with one of those reasons of the customer, or of the address they have now.
   */
  async unsubscribedAmong(m: EntityManager, rows: DueEnrollment[], channels: string[]): Promise<Set<string>> {
    if (!rows.length || !channels.length) return new Set();
    const found: { id: string }[] = await m.query(
      `SELECT x.id FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[]) AS x(id, customer_id, email, phone)
        WHERE EXISTS (SELECT 1 FROM suppression s
                       WHERE s.customer_id = x.customer_id AND s.channel = ANY($5)
                         AND s.reason IN ('unsubscribed', 'complaint'))
           OR ('email' = ANY($5) AND x.email IS NOT NULL AND EXISTS (
                 SELECT 1 FROM suppression s WHERE s.channel = 'email'
                    AND s.address_hash = sha256(convert_to(x.email, 'UTF8')) AND s.reason IN ('unsubscribed', 'complaint')))
           OR ('sms' = ANY($5) AND x.phone IS NOT NULL AND EXISTS (
                 SELECT 1 FROM suppression s WHERE s.channel = 'sms'
                    AND s.address_hash = sha256(convert_to(x.phone, 'UTF8')) AND s.reason IN ('unsubscribed', 'complaint')))`,
      [
        rows.map((r) => r.id),
        rows.map((r) => r.customer_id),
        rows.map((r) => r.email),
        rows.map((r) => r.phone),
        channels,
      ],
    );
    return new Set(found.map((r) => r.id));
  }

  /**
   * The first purchase at or after each enrollment's entry: an order, a conversion response or a
   * `purchase` event, whichever came first (null: none yet). The goal of a drip, and the `purchased`
   * branch condition.
   */
  async firstPurchases(
    m: EntityManager,
    rows: { id: string; customer_id: string; entered_at: Date }[],
  ): Promise<Map<string, Date | null>> {
    if (!rows.length) return new Map();
    const found: { id: string; at: Date | null }[] = await m.query(
      `SELECT x.id, least(
                (SELECT min(o.ordered_at) FROM customer_order o
                  WHERE o.customer_id = x.customer_id AND o.ordered_at >= x.entered_at),
                (SELECT min(r.occurred_at) FROM response r
                  WHERE r.customer_id = x.customer_id AND r.type = 'conversion' AND r.occurred_at >= x.entered_at),
                (SELECT min(e.occurred_at) FROM customer_event e
                  WHERE e.customer_id = x.customer_id AND e.type = 'purchase' AND e.occurred_at >= x.entered_at)) AS at
         FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[]) AS x(id, customer_id, entered_at)`,
      [rows.map((r) => r.id), rows.map((r) => r.customer_id), rows.map((r) => r.entered_at)],
    );
    return new Map(found.map((r) => [r.id, r.at ? new Date(r.at) : null]));
  }

  /** Enrollments whose customer had one of these events since entering. */
  async eventsSinceEntry(m: EntityManager, rows: DueEnrollment[], types: string[]): Promise<Set<string>> {
    if (!rows.length || !types.length) return new Set();
    const found: { id: string }[] = await m.query(
      `SELECT x.id FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[]) AS x(id, customer_id, entered_at)
        WHERE EXISTS (SELECT 1 FROM customer_event e
                       WHERE e.customer_id = x.customer_id AND e.type = ANY($4) AND e.occurred_at >= x.entered_at)`,
      [rows.map((r) => r.id), rows.map((r) => r.customer_id), rows.map((r) => r.entered_at), types],
    );
    return new Set(found.map((r) => r.id));
  }

  /**
   * For enrollments and earlier send steps: when the step's message went out and the first open or
   * click by a person (machine activity is not a person reading), keyed `<type>:<step>`.
   */
  async engagement(
    m: EntityManager,
    rows: { id: string; customer_id: string }[],
    steps: string[],
  ): Promise<Map<string, Map<string, { sentAt: Date | null; firstAt: Date | null }>>> {
    const out = new Map<string, Map<string, { sentAt: Date | null; firstAt: Date | null }>>();
    if (!rows.length || !steps.length) return out;
    const found: {
      origin_id: string;
      step_id: string;
      sent_at: Date | null;
      first_open: Date | null;
      first_click: Date | null;
    }[] = await m.query(
      `SELECT s.origin_id, s.step_id, s.sent_at,
              (SELECT min(r.occurred_at) FROM response r WHERE r.send_id = s.id AND r.type = 'open' AND NOT r.machine)
                AS first_open,
              (SELECT min(r.occurred_at) FROM response r WHERE r.send_id = s.id AND r.type = 'click' AND NOT r.machine)
                AS first_click
         FROM send s
        WHERE s.customer_id = ANY($1::uuid[]) AND s.origin_id = ANY($2::uuid[]) AND lower(s.step_id) = ANY($3)`,
      [rows.map((r) => r.customer_id), rows.map((r) => r.id), steps.map((s) => s.toLowerCase())],
    );
    for (const f of found) {
      const map = out.get(f.origin_id) ?? new Map();
      const sentAt = f.sent_at ? new Date(f.sent_at) : null;
      map.set(`open:${f.step_id.toLowerCase()}`, { sentAt, firstAt: f.first_open ? new Date(f.first_open) : null });
      map.set(`click:${f.step_id.toLowerCase()}`, { sentAt, firstAt: f.first_click ? new Date(f.first_click) : null });
      out.set(f.origin_id, map);
    }
    return out;
  }

  /** The arm (cell code) each customer already has in a program automation keeps. */
  async arms(m: EntityManager, programId: string, customerIds: string[]): Promise<Map<string, string>> {
    if (!customerIds.length) return new Map();
    const found: { customer_id: string; code: string }[] = await m.query(
      `SELECT pm.customer_id, c.code FROM program_member pm JOIN cell c ON c.id = pm.cell_id
        WHERE pm.program_id = $1 AND pm.customer_id = ANY($2::uuid[])`,
      [programId, customerIds],
    );
    return new Map(found.map((r) => [r.customer_id, r.code]));
  }

  /** Customers given a cell of a program automation keeps (a customer keeps their first). */
  async addMembers(
    m: EntityManager,
    members: { programId: string; customerId: string; cellId: string }[],
    now: Date,
  ): Promise<void> {
    if (!members.length) return;
    await m.query(
      `INSERT INTO program_member (program_id, customer_id, cell_id, assigned_at)
       SELECT x.program_id, x.customer_id, x.cell_id, $4
         FROM unnest($1::uuid[], $2::uuid[], $3::uuid[]) AS x(program_id, customer_id, cell_id)
       ON CONFLICT DO NOTHING`,
      [members.map((x) => x.programId), members.map((x) => x.customerId), members.map((x) => x.cellId), now],
    );
  }
}
