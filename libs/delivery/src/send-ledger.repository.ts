import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { SEND_TRANSITIONS, SendState } from '@closeloop/core';
import { RENDER_COLUMNS, RenderRow } from '@closeloop/messaging';
import { DataSource, EntityManager } from 'typeorm';

/** A claimed send with everything its message is rendered from. */
export interface ClaimedSend extends RenderRow {
  id: string;
  program_id: string;
  channel: 'email' | 'sms';
  address: string;
  attempts: number;
  possible_duplicate: boolean;
  template_code: string | null;
  template_version: number | null;
  consent_email: boolean;
  consent_sms: boolean;
  erased: boolean;
}

/** What happened to one claimed send, written back in one statement per batch. */
export interface SendResult {
  id: string;
  state: SendState;
  messageId?: string | null;
  links?: string[] | null;
  segments?: number | null;
  error?: string | null;
  notBefore?: Date | null;
  /** The SMSC's message id of each segment, for delivery receipts. */
  providerIds?: string[];
}

/** A send that bounced, with why (kept in the response's detail). */
export interface BouncedSend {
  id: string;
  address: string;
  customerId: string;
  detail?: string | null;
}

/** A delivery receipt for a send; `event` names it when it should be kept in `delivery_event`. */
export interface Receipt {
  sendId: string;
  delivered: boolean;
  detail: string;
  at: Date;
  event?: { provider: string; id: string };
}

/**
 * A message automation decided to send: a drip step for an enrollment, or a rule's action for a
 * firing (`originId`, `stepId`), measured in a cell of a program automation keeps.
 */
export interface OriginSend {
  programId: string;
  cellId: string;
  responseCode: string;
  customerId: string;
  channel: 'email' | 'sms';
  /** The customer's address on the channel now; null when there is none (the send is written suppressed). */
  address: string | null;
  templateCode: string;
  templateVersion: number;
  originId: string;
  stepId: string;
  /** A holdout member: recorded in contact history as held out, never contacted. */
  heldOut: boolean;
}

/** One send as the tracking endpoints see it. */
export interface TrackingTarget {
  id: string;
  programId: string;
  programCode: string | null;
  cellId: string;
  customerId: string;
  responseCode: string;
  channel: 'email' | 'sms';
  address: string;
  links: string[] | null;
  sentAt: Date | null;
  locale: string | null;
}

const from = (event: keyof typeof SEND_TRANSITIONS) => `'{${SEND_TRANSITIONS[event].from.join(',')}}'::text[]`;

/**
 * The send ledger: the truth about who was contacted (RELIABILITY.md "Sends happen once"). Every
 * state change is one statement guarded by the state it starts from (the core state machine), so
 * two workers, or a job BullMQ delivers twice, can never both make it.
 */
@Injectable()
export class SendLedgerRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * One send row per list member, set-based. The (program, customer) key makes a rerun write
   * nothing new. Control-cell members get `held_out` rows: in contact history, never contacted.
   * `pins` maps lower-cased template codes to the versions the program launched with.
   */
  async writeSends(
    m: EntityManager,
    programId: string,
    channel: string,
    pins: Record<string, number>,
  ): Promise<number> {
    const rows = await m.query(
      `WITH n AS (
         INSERT INTO send (program_id, customer_id, cell_id, response_code, channel, address, state, template_version,
                           finished_at)
         SELECT lm.program_id, lm.customer_id, lm.cell_id, lm.response_code, $2, lm.address,
                CASE WHEN ce.is_control THEN 'held_out' ELSE 'queued' END,
                ($3::jsonb ->> lower(coalesce(ce.template_code, p.template_code)))::int,
                CASE WHEN ce.is_control THEN now() END
           FROM list_member lm
           JOIN cell ce ON ce.id = lm.cell_id
           JOIN program p ON p.id = lm.program_id
          WHERE lm.program_id = $1
          ORDER BY lm.rank
         ON CONFLICT (program_id, customer_id, origin_id, step_id) DO NOTHING
         RETURNING 1)
       SELECT count(*)::int AS n FROM n`,
      [programId, channel, JSON.stringify(pins)],
    );
    return rows[0].n;
  }

  /**
   * Sends decided by automation, written in the caller's transaction (with the enrollment moves or the
   * firing that decided them). The key (program, customer, origin, step) makes a rerun write nothing.
   * The queued ones go into `delivery_outbox` in the same statement: `DispatcherService.flushOutbox`
   * enqueues them once the transaction has committed, or the reconcile sweep does after a crash.
   */
  async writeOriginSends(
    m: EntityManager,
    sends: OriginSend[],
    now: Date,
  ): Promise<{ written: number; outbox: string[] }> {
    if (!sends.length) return { written: 0, outbox: [] };
    const rows: { written: number; outbox: string[] | null }[] = await m.query(
      `WITH n AS (
         INSERT INTO send (program_id, customer_id, cell_id, response_code, channel, address, state, template_code,
                           template_version, origin_id, step_id, error, finished_at, created_at, updated_at)
         SELECT r.program_id, r.customer_id, r.cell_id, r.response_code, r.channel, coalesce(r.address, ''),
                CASE WHEN r.held THEN 'held_out' WHEN r.address IS NULL THEN 'suppressed' ELSE 'queued' END,
                r.template_code, r.template_version, r.origin_id, r.step_id,
                CASE WHEN NOT r.held AND r.address IS NULL THEN 'no ' || r.channel || ' address' END,
                CASE WHEN r.held OR r.address IS NULL THEN $13::timestamptz END, $13, $13
           FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[], $8::int[],
                       $9::uuid[], $10::text[], $11::bool[], $12::int[])
                AS r(program_id, customer_id, cell_id, response_code, channel, address, template_code, template_version,
                     origin_id, step_id, held, ord)
          ORDER BY r.ord
         ON CONFLICT (program_id, customer_id, origin_id, step_id) DO NOTHING
         RETURNING id, program_id, state),
       o AS (
         INSERT INTO delivery_outbox (program_id, send_ids, created_at)
         SELECT program_id, array_agg(id ORDER BY id), $13 FROM n WHERE state = 'queued' GROUP BY program_id
         RETURNING id)
       SELECT (SELECT count(*) FROM n)::int AS written, (SELECT array_agg(id::text) FROM o) AS outbox`,
      [
        sends.map((x) => x.programId),
        sends.map((x) => x.customerId),
        sends.map((x) => x.cellId),
        sends.map((x) => x.responseCode),
        sends.map((x) => x.channel),
        sends.map((x) => x.address),
        sends.map((x) => x.templateCode),
        sends.map((x) => x.templateVersion),
        sends.map((x) => x.originId),
        sends.map((x) => x.stepId),
        sends.map((x) => x.heldOut),
        sends.map((_, i) => i),
        now,
      ],
    );
    return { written: rows[0].written, outbox: rows[0].outbox ?? [] };
  }

  /** Ids of a program's sends still to be delivered, a page at a time in id order. */
  async pendingIds(programId: string, after: string | null, limit: number): Promise<string[]> {
    const rows: { id: string }[] = await this.dataSource.query(
      `SELECT id FROM send WHERE program_id = $1 AND state IN ('queued', 'deferred') AND ($2::uuid IS NULL OR id > $2)
        ORDER BY id LIMIT $3`,
      [programId, after, limit],
    );
    return rows.map((r) => r.id);
  }

  /**
   * Claims the sends of a batch that are due, for a running program, in one statement. A send
   * still `sending` under a claim older than `claimTimeoutMs` belongs to a worker that died
   * mid-send: it is claimed again and flagged as a possible duplicate (the first try may have been
   * accepted before the worker died; that window is the in-flight messages of one worker).
   */
  async claim(sendIds: string[], token: string, now: Date, claimTimeoutMs: number): Promise<ClaimedSend[]> {
    return this.dataSource.query(
      `WITH claimed AS (
         UPDATE send s SET state = 'sending', claim_token = $2, claimed_at = $3, attempts = s.attempts + 1,
                possible_duplicate = s.possible_duplicate OR s.state = 'sending', updated_at = $3
           FROM program p
          WHERE s.id = ANY($1) AND p.id = s.program_id AND p.state = 'running'
            -- As a CASE, the states cannot steer the planner to send_pending_idx (which, with statistics that
            -- lag behind a drip writing sends all day, it takes for tiny and then filters whole): the batch's
            -- ids are found by primary key.
            AND CASE s.state
                  WHEN 'queued' THEN true
                  WHEN 'deferred' THEN s.not_before <= $3
                  WHEN 'sending' THEN s.claimed_at < $3::timestamptz - make_interval(secs => $4::float8 / 1000)
                  ELSE false
                END
         RETURNING s.*)
       SELECT s.id, s.program_id, s.channel, s.address, s.attempts, s.possible_duplicate, s.template_version,
              coalesce(s.template_code, ce.template_code, p.template_code) AS template_code,
              c.consent_email, c.consent_sms, c.erased_at IS NOT NULL AS erased, ${RENDER_COLUMNS}
         FROM claimed s
         JOIN customer c ON c.id = s.customer_id
         JOIN cell ce ON ce.id = s.cell_id
         JOIN program p ON p.id = s.program_id
         LEFT JOIN offer o ON o.id = coalesce(ce.offer_id, p.offer_id)`,
      [sendIds, token, now, claimTimeoutMs],
    );
  }

  /** The claimed sends whose address or customer is suppressed on the channel now. */
  async suppressedAmong(channel: string, sends: { id: string; address: string; customer_id: string }[]) {
    if (!sends.length) return new Set<string>();
    const rows: { id: string }[] = await this.dataSource.query(
      `SELECT x.id FROM unnest($2::uuid[], $3::text[], $4::uuid[]) AS x(id, address, customer_id)
        WHERE EXISTS (SELECT 1 FROM suppression su WHERE su.channel = $1
                        AND (su.address_hash = sha256(convert_to(x.address, 'UTF8')) OR su.customer_id = x.customer_id))`,
      [channel, sends.map((s) => s.id), sends.map((s) => s.address), sends.map((s) => s.customer_id)],
    );
    return new Set(rows.map((r) => r.id));
  }

  /** When each customer was last contacted on the channel since `since` (contact history, any program). */
  async recentContacts(channel: string, customerIds: string[], since: Date, exclude: string[]) {
    const rows: { customer_id: string; at: Date[] }[] = await this.dataSource.query(
      `SELECT customer_id, array_agg(sent_at ORDER BY sent_at) AS at FROM send
        WHERE customer_id = ANY($2) AND channel = $1 AND sent_at > $3 AND NOT (id = ANY($4))
        GROUP BY customer_id`,
      [channel, customerIds, since, exclude],
    );
    return new Map(rows.map((r) => [r.customer_id, r.at.map((d) => new Date(d))]));
  }

  /**
   * Writes a batch's outcomes under the claim that made them. A receipt that already moved a send
   * on (delivered) is kept; `sent_at` is when the peer accepted it.
   */
  async record(token: string, results: SendResult[], now: Date): Promise<void> {
    if (!results.length) return;
    await this.dataSource.query(
      `UPDATE send s SET
              state = CASE WHEN s.state = 'sending' THEN r.state ELSE s.state END,
              message_id = coalesce(r.message_id, s.message_id),
              links = coalesce(r.links, s.links),
              segments = coalesce(r.segments, s.segments),
              error = CASE WHEN s.state = 'sending' THEN r.error ELSE s.error END,
              not_before = CASE WHEN s.state = 'sending' THEN r.not_before ELSE s.not_before END,
              sent_at = CASE WHEN r.state IN ('sent', 'delivered') THEN coalesce(s.sent_at, $3) ELSE s.sent_at END,
              finished_at = CASE WHEN r.state IN ('queued', 'deferred') THEN NULL ELSE coalesce(s.finished_at, $3) END,
              claim_token = NULL,
              updated_at = $3
         FROM unnest($1::uuid[], $4::text[], $5::text[], $6::jsonb[], $7::int[], $8::text[], $9::timestamptz[])
              AS r(id, state, message_id, links, segments, error, not_before)
        WHERE s.id = r.id AND s.claim_token = $2`,
      [
        results.map((r) => r.id),
        token,
        now,
        results.map((r) => r.state),
        results.map((r) => r.messageId ?? null),
        results.map((r) => (r.links ? JSON.stringify(r.links) : null)),
        results.map((r) => r.segments ?? null),
        results.map((r) => r.error ?? null),
        results.map((r) => r.notBefore ?? null),
      ],
    );
    const provider = results.flatMap((r) => (r.providerIds ?? []).map((id) => [id, r.id] as const));
    if (provider.length) {
      await this.dataSource.query(
        `INSERT INTO send_provider_message (provider_message_id, send_id)
         SELECT * FROM unnest($1::text[], $2::uuid[]) ON CONFLICT (provider_message_id) DO NOTHING`,
        [provider.map(([id]) => id), provider.map(([, send]) => send)],
      );
    }
  }

  /**
   * Hard bounces become suppressions (reason hard-bounce), matched by the address hash, and `bounce`
   * responses in the history (one per send: the idempotency key is `bounce:<send id>`).
   */
  async suppressBounced(channel: string, bounced: BouncedSend[], source: string, at: Date = new Date()) {
    if (!bounced.length) return;
    await this.dataSource.transaction(async (m) => {
      await m.query(
        `INSERT INTO suppression (channel, address, address_hash, customer_id, reason, source, created_by)
         SELECT $1, a, sha256(convert_to(a, 'UTF8')), cid, 'hard-bounce', $2, 'delivery'
           FROM unnest($3::text[], $4::uuid[]) AS x(a, cid)
         ON CONFLICT (channel, address_hash) DO NOTHING`,
        [channel, source, bounced.map((b) => b.address), bounced.map((b) => b.customerId)],
      );
      await this.recordBounceResponses(m, bounced, source, at);
    });
  }

  /** `bounce` responses for sends (skipped when the send already has one). */
  async recordBounceResponses(m: EntityManager, bounced: BouncedSend[], source: string, at: Date): Promise<void> {
    await m.query(
      `INSERT INTO response (send_id, customer_id, program_id, cell_id, response_code, type, occurred_at,
                             idempotency_key, source, detail)
       SELECT s.id, s.customer_id, s.program_id, s.cell_id, s.response_code, 'bounce', $2, 'bounce:' || s.id, $3,
              jsonb_build_object('error', x.detail)
         FROM unnest($1::uuid[], $4::text[]) AS x(id, detail) JOIN send s ON s.id = x.id
       ON CONFLICT (idempotency_key) DO NOTHING`,
      [bounced.map((b) => b.id), at, source, bounced.map((b) => b.detail ?? null)],
    );
  }

  /**
   * A provider reported a hard bounce after the peer accepted the message: the send moves to bounced
   * (when the state machine allows it). Returns the sends that moved.
   */
  async markBounced(sendIds: string[], detail: string, at: Date): Promise<string[]> {
    if (!sendIds.length) return [];
    const rows: { id: string }[] = await this.dataSource.query(
      `WITH b AS (UPDATE send SET state = 'bounced', error = $2, finished_at = coalesce(finished_at, $3), updated_at = $3
                   WHERE id = ANY($1) AND state = ANY(${from('bounce')}) RETURNING id)
       SELECT id FROM b`,
      [sendIds, detail, at],
    );
    return rows.map((r) => r.id);
  }

  /** What the tracking endpoints need of one send; null when there is no such send. */
  async trackingTarget(sendId: string): Promise<TrackingTarget | null> {
    const rows = await this.dataSource.query(
      `SELECT s.id, s.program_id AS "programId", s.cell_id AS "cellId", s.customer_id AS "customerId",
              s.response_code AS "responseCode", s.channel, s.address, s.links, s.sent_at AS "sentAt",
              c.locale, p.code AS "programCode"
         FROM send s LEFT JOIN customer c ON c.id = s.customer_id LEFT JOIN program p ON p.id = s.program_id
        WHERE s.id = $1`,
      [sendId],
    );
    return rows[0] ?? null;
  }

  /** The sends of SMSC message ids (those not known yet are missing from the map). */
  async sendsOfProviderIds(providerIds: string[]): Promise<Map<string, string>> {
    const rows: { provider_message_id: string; send_id: string }[] = await this.dataSource.query(
      `SELECT provider_message_id, send_id FROM send_provider_message WHERE provider_message_id = ANY($1)`,
      [providerIds],
    );
    return new Map(rows.map((r) => [r.provider_message_id, r.send_id]));
  }

  /**
   * Delivery receipts, many in one statement: each moves its send on (delivered, or failed), if the
   * send is where the state machine allows it. A delivered receipt wins over a failed one for the
   * same send (one receipt per segment). Receipts that name their provider event (SMPP receipts:
   * `smpp`, message id and status) are also kept in `delivery_event`, beside what webhooks report.
   */
  async applyReceipts(receipts: Receipt[]): Promise<void> {
    if (!receipts.length) return;
    await this.dataSource.query(
      `WITH ev AS (
         INSERT INTO delivery_event (provider, event_id, send_id, type, occurred_at, detail)
         SELECT e.provider, e.event_id, e.send_id, e.type, e.at, e.detail
           FROM unnest($5::text[], $6::text[], $1::uuid[], $2::text[], $4::timestamptz[], $3::text[])
                AS e(provider, event_id, send_id, type, at, detail)
          WHERE e.provider IS NOT NULL
         ON CONFLICT (provider, event_id) DO NOTHING)
       UPDATE send s SET state = r.state,
              delivered_at = CASE WHEN r.state = 'delivered' THEN r.at ELSE s.delivered_at END,
              error = CASE WHEN r.state = 'delivered' THEN s.error ELSE r.detail END,
              finished_at = coalesce(s.finished_at, r.at), updated_at = r.at
         FROM (SELECT DISTINCT ON (x.send_id) x.send_id, x.state, x.detail, x.at
                 FROM unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[]) AS x(send_id, state, detail, at)
                ORDER BY x.send_id, x.state = 'delivered' DESC) r
        WHERE s.id = r.send_id
          AND s.state = ANY(CASE WHEN r.state = 'delivered' THEN ${from('deliver')} ELSE ${from('fail')} END)`,
      [
        receipts.map((r) => r.sendId),
        receipts.map((r) => (r.delivered ? 'delivered' : 'failed')),
        receipts.map((r) => r.detail),
        receipts.map((r) => r.at),
        receipts.map((r) => r.event?.provider ?? null),
        receipts.map((r) => r.event?.id ?? null),
      ],
    );
  }

  /** Cancels what a cancelled program has not sent yet. */
  async cancelPending(programId: string): Promise<number> {
    const rows = await this.dataSource.query(
      `WITH c AS (UPDATE send SET state = 'cancelled', finished_at = now(), updated_at = now()
                   WHERE program_id = $1 AND state = ANY(${from('cancel')}) RETURNING 1)
       SELECT count(*)::int AS n FROM c`,
      [programId],
    );
    return rows[0].n;
  }

  /**
   * Sends per state: from the per-cell counters the database keeps as sends change state (migration
   * report-counters: exact, in the same transaction), so a progress poll on a million-send program
   * reads a handful of rows instead of grouping the program's sends.
   */
  async countsByState(programId: string): Promise<Record<string, number>> {
    const rows: { state: string; n: number }[] = await this.dataSource.query(
      `SELECT substr(metric, 7) AS state, sum(value)::int AS n FROM report_counter
        WHERE program_id = $1 AND metric LIKE 'state:%' GROUP BY 1 HAVING sum(value) <> 0`,
      [programId],
    );
    return Object.fromEntries(rows.map((r) => [r.state, r.n]));
  }

  /** Messages accepted by the peer since `since`, and when the first of them was. */
  async sentSince(programId: string, since: Date): Promise<{ n: number; first: Date | null }> {
    const rows = await this.dataSource.query(
      `SELECT count(*)::int AS n, min(sent_at) AS first FROM send WHERE program_id = $1 AND sent_at > $2`,
      [programId, since],
    );
    return { n: rows[0].n, first: rows[0].first ? new Date(rows[0].first) : null };
  }

  async hasPending(programId: string): Promise<boolean> {
    const rows = await this.dataSource.query(
      `SELECT EXISTS (SELECT 1 FROM send WHERE program_id = $1 AND state IN ('queued', 'sending', 'deferred')) AS pending`,
      [programId],
    );
    return rows[0].pending;
  }

  /**
   * Work the queue may have lost: sends whose claim expired (their worker died) and deferred
   * sends well past their time (their delayed job is gone), grouped by program.
   */
  async stranded(
    now: Date,
    claimTimeoutMs: number,
    limit = 10_000,
  ): Promise<{ programId: string; sendIds: string[] }[]> {
    const rows: { program_id: string; ids: string[] }[] = await this.dataSource.query(
      `SELECT s.program_id, array_agg(s.id) AS ids FROM (
         SELECT s.program_id, s.id FROM send s JOIN program p ON p.id = s.program_id AND p.state = 'running'
          WHERE (s.state = 'sending' AND s.claimed_at < $1::timestamptz - make_interval(secs => $2::float8 / 1000))
             OR (s.state = 'deferred' AND s.not_before < $1::timestamptz - interval '15 seconds')
          LIMIT $3) s
        GROUP BY s.program_id`,
      [now, claimTimeoutMs, limit],
    );
    return rows.map((r) => ({ programId: r.program_id, sendIds: r.ids }));
  }
}
