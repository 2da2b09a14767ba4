import { InjectQueue } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Queue } from 'bullmq';
import { createHash } from 'node:crypto';
import {
  Actor,
  cellRankBounds,
  checkLaunchableCells,
  codeKey,
  detectableEffect,
  ConflictError,
  CriteriaNode,
  DEFAULT_CONTACT_POLICY,
  FrequencyCap,
  isUuid,
  NotFoundError,
  parseContactPolicy,
  sampleCount,
} from '@closeloop/core';
import { AuditService, iso } from '@closeloop/persistence';
import { DataSource, EntityManager } from 'typeorm';
import { ListCellView, ListSizingView, TargetListView, WaterfallStepView } from './dto/target-list.dto';
import { AUDIENCE_QUEUE, AudienceJob } from './queues';
import { SegmentService } from './segment.service';

interface ProgramRow {
  id: string;
  code: string;
  state: string;
  channel: 'email' | 'sms';
  segment_code: string | null;
  sample_size: number | null;
  sample_percent: string | null;
  seed: number | null;
}

interface CellRow {
  id: string;
  code: string;
  weight: string;
  is_control: boolean;
  response_code: string;
}

const BUILDABLE = ['draft', 'scheduled'];

/** Without a program seed, one derived from the program id: rebuilds stay reproducible. */
export const defaultSeed = (programId: string): number =>
  createHash('sha256').update(programId).digest().readInt32BE(0);

/**
 * Target lists (PRODUCT.md "target list", "waterfall"): segment -> reachable -> dedupe -> suppress
 * -> sample -> split into cells, set-based in PostgreSQL inside one transaction, so the snapshot is
 * replaced atomically and members never pass through Node's memory.
 */
@Injectable()
export class TargetListService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly segments: SegmentService,
    private readonly audit: AuditService,
    @InjectQueue(AUDIENCE_QUEUE) private readonly queue: Queue,
  ) {}

  /** Queues a build; the worker runs it. A build already queued or running is returned as is. */
  async requestBuild(actor: Actor, programRef: string): Promise<TargetListView> {
    const program = await this.program(this.dataSource.manager, programRef);
    this.assertBuildable(program);
    const rows = await this.dataSource.query(
      `INSERT INTO target_list (program_id, state, requested_by) VALUES ($1, 'queued', $2)
       ON CONFLICT (program_id) DO UPDATE SET state = 'queued', progress = 0, error = NULL,
              requested_by = excluded.requested_by, requested_at = now()
        WHERE target_list.state NOT IN ('queued', 'building')
       RETURNING extract(epoch FROM requested_at)::text AS at`,
      [program.id, actor.name],
    );
    if (rows.length) {
      await this.queue.add(
        AudienceJob.ListBuild,
        { programId: program.id },
        { jobId: `list-build:${program.id}:${rows[0].at}`, attempts: 3, backoff: { type: 'exponential', delay: 1000 } },
      );
      await this.audit.record(this.dataSource.manager, actor, {
        action: 'list.build',
        entityType: 'program',
        entityId: program.id,
        entityCode: program.code,
      });
    }
    return this.get(program.id);
  }

  async get(programRef: string): Promise<TargetListView> {
    const program = await this.program(this.dataSource.manager, programRef);
    const rows = await this.dataSource.query(`SELECT * FROM target_list WHERE program_id = $1`, [program.id]);
    if (!rows.length) {
      return {
        state: 'none',
        progress: 0,
        seed: null,
        waterfall: [],
        cells: [],
        error: null,
        requestedAt: null,
        builtAt: null,
      };
    }
    const r = rows[0];
    return {
      state: r.state,
      progress: Number(r.progress),
      seed: r.seed,
      waterfall: r.waterfall,
      cells: r.cells,
      error: r.error,
      requestedAt: iso(r.requested_at),
      builtAt: iso(r.built_at),
      sizing: r.state === 'built' ? await this.sizing(program, r.cells) : null,
    };
  }

  /**
   * Are the cells big enough? For each cell, the smallest lift in conversion rate it can detect
   * against the control (or the first cell) at alpha 0.05 and 80% power (core detectableEffect),
   * from the conversion rate of past control cells on this channel (at least 1,000 members), else 5%.
   */
  private async sizing(program: ProgramRow, cells: ListCellView[]): Promise<ListSizingView | null> {
    const reference = cells.find((c) => c.isControl) ?? cells[0];
    if (!reference || cells.length < 2) return null;
    const [past] = await this.dataSource.query(
      `SELECT coalesce(sum(rc.value) FILTER (WHERE rc.metric = 'unique:conversion'), 0) AS converters,
              coalesce(sum(rc.value) FILTER (WHERE rc.metric = 'state:held_out'), 0) AS members
         FROM report_counter rc JOIN cell c ON c.id = rc.cell_id AND c.is_control
         JOIN program p ON p.id = rc.program_id
        WHERE p.channel = $1 AND p.id <> $2`,
      [program.channel, program.id],
    );
    const history = Number(past.members) >= 1000 && Number(past.converters) > 0;
    const baselineRate = history ? Math.min(0.99, Number(past.converters) / Number(past.members)) : 0.05;
    const [alpha, power] = [0.05, 0.8];
    const sized = cells
      .filter((c) => c !== reference)
      .map((c) => ({
        code: c.code,
        members: c.members,
        against: reference.code,
        detectableLift: detectableEffect(baselineRate, c.members, reference.members, alpha, power),
      }));
    const pct = (x: number) => `${(x * 100).toFixed(1)}`;
    const summary = sized
      .map((c) =>
        c.detectableLift === null
          ? `${c.code} (${c.members}) vs ${c.against} (${reference.members}): too small to detect any lift`
          : `${c.code} (${c.members}) vs ${c.against} (${reference.members}): detects ${pct(c.detectableLift)} pts or more`,
      )
      .join('; ');
    return {
      baselineRate,
      baselineSource: history ? 'history' : 'default',
      alpha,
      power,
      cells: sized,
      summary: `At a ${pct(baselineRate)}% baseline, 80% power, alpha 0.05: ${summary}.`,
    };
  }

  /**
   * The list a launched program sends to: the built one, or one built now when the program was
   * launched without it (the executor calls this; a launched program's list is built once, then frozen).
   */
  async ensureBuiltForLaunch(
    programId: string,
    onProgress: (fraction: number) => Promise<void> = async () => undefined,
  ): Promise<TargetListView> {
    const [list] = await this.dataSource.query(`SELECT state FROM target_list WHERE program_id = $1`, [programId]);
    if (list?.state === 'built') return this.get(programId);
    return this.build(programId, onProgress, { forLaunch: true });
  }

  /** Runs a build (the worker calls this). Idempotent: a rerun replaces the snapshot with the same one. */
  async build(
    programId: string,
    onProgress: (fraction: number) => Promise<void> = async () => undefined,
    options: { forLaunch?: boolean } = {},
  ): Promise<TargetListView> {
    await this.dataSource.query(`UPDATE target_list SET state = 'building', progress = 0 WHERE program_id = $1`, [
      programId,
    ]);
    try {
      await this.dataSource.transaction(async (m) => {
        const program = await this.program(m, programId, true);
        if (options.forLaunch) await this.assertFirstBuildOfLaunched(m, program);
        else this.assertBuildable(program);
        const result = await this.buildIn(m, program, async (fraction) => {
          await this.dataSource.query(`UPDATE target_list SET progress = $2 WHERE program_id = $1`, [
            programId,
            fraction,
          ]);
          await onProgress(fraction);
        });
        await m.query(
          `INSERT INTO target_list (program_id, state, progress, seed, waterfall, cells, requested_by, built_at)
           VALUES ($1, 'built', 1, $2, $3, $4, 'system', now())
           ON CONFLICT (program_id) DO UPDATE SET state = 'built', progress = 1, seed = $2, waterfall = $3, cells = $4,
                  error = NULL, built_at = now()`,
          [programId, result.seed, JSON.stringify(result.waterfall), JSON.stringify(result.cells)],
        );
      });
    } catch (error) {
      await this.dataSource.query(`UPDATE target_list SET state = 'failed', error = $2 WHERE program_id = $1`, [
        programId,
        error instanceof Error ? error.message : String(error),
      ]);
      throw error;
    }
    return this.get(programId);
  }

  private async buildIn(
    m: EntityManager,
    program: ProgramRow,
    progress: (fraction: number) => Promise<void>,
  ): Promise<{ seed: number; waterfall: WaterfallStepView[]; cells: ListCellView[] }> {
    // Dedupe and ranking sort the whole selection: enough memory keeps those sorts off disk. Local
    // to this transaction.
    await m.query(`SET LOCAL work_mem = '256MB'`);
    if (!program.segment_code) throw new ConflictError(`program ${program.code} has no segment to build a list from`);
    const cells: CellRow[] = await m.query(
      `SELECT id, code, weight, is_control, response_code FROM cell WHERE program_id = $1 ORDER BY position`,
      [program.id],
    );
    const check = checkLaunchableCells(
      cells.map((c) => ({ code: c.code, weight: Number(c.weight), isControl: c.is_control })),
    );
    if (!check.ok) throw new ConflictError(`program ${program.code} cannot be split into cells: ${check.reason}`);
    const segment = await m.query(`SELECT code, criteria FROM segment WHERE lower(code) = $1`, [
      codeKey(program.segment_code),
    ]);
    if (!segment.length)
      throw new ConflictError(
        `program ${program.code} targets segment "${program.segment_code}", which does not exist`,
      );
    const compiled = await this.segments.compile(m, segment[0].criteria as CriteriaNode, [codeKey(segment[0].code)]);
    const seed = program.seed ?? defaultSeed(program.id);
    const address = program.channel === 'email' ? 'c.email' : 'c.phone';
    const consent = program.channel === 'email' ? 'c.consent_email' : 'c.consent_sms';
    const waterfall: WaterfallStepView[] = [];
    const step = (name: string, remaining: number, reasons?: Record<string, number>) => {
      const before = waterfall.length ? waterfall[waterfall.length - 1].remaining : remaining;
      waterfall.push({ step: name, remaining, removed: before - remaining, ...(reasons ? { reasons } : {}) });
    };

    // 1. select: the segment, as its compiled SQL.
    await m.query(`CREATE TEMP TABLE lb (id uuid, seq bigint, address text, consent boolean) ON COMMIT DROP`);
    await m.query(
      `INSERT INTO lb SELECT c.id, c.seq, ${address}, ${consent}
         FROM customer c WHERE c.erased_at IS NULL AND ${compiled.sql}`,
      compiled.params,
    );
    let remaining = await count(m);
    step('select', remaining);
    await progress(0.2);

    // 2. reachable: an address on the channel and consent for it.
    const noAddress = await deleted(m, `DELETE FROM lb WHERE address IS NULL`);
    const noConsent = await deleted(m, `DELETE FROM lb WHERE NOT consent`);
    remaining -= noAddress + noConsent;
    step('reachable', remaining, { 'no address': noAddress, 'no consent': noConsent });
    await progress(0.4);

    // 3. dedupe: one member per normalised address; the customer that arrived first is kept.
    // Grouped by hashing (no sort of the whole selection); only repeated addresses are joined back.
    remaining -= await deleted(
      m,
      `DELETE FROM lb USING (SELECT address, min(seq) AS keep FROM lb GROUP BY address HAVING count(*) > 1) d
        WHERE lb.address = d.address AND lb.seq <> d.keep`,
    );
    step('dedupe', remaining);

    // 4. suppress: on the channel, counted by reason. A suppression that keeps its (normalised)
    // address matches on it; one whose address was erased matches on the SHA-256 of the address,
    // which is only worked out for the whole selection when such suppressions exist.
    const byReason = new Map<string, number>();
    const suppress = async (match: string) => {
      const rows: { reason: string; n: number }[] = await m.query(
        `WITH gone AS (DELETE FROM lb USING suppression s WHERE s.channel = $1 AND ${match} RETURNING s.reason)
         SELECT reason, count(*)::int AS n FROM gone GROUP BY reason`,
        [program.channel],
      );
      for (const r of rows) byReason.set(r.reason, (byReason.get(r.reason) ?? 0) + r.n);
    };
    await suppress(`s.address = lb.address`);
    const [{ erased }] = await m.query(
      `SELECT EXISTS (SELECT 1 FROM suppression WHERE channel = $1 AND address IS NULL) AS erased`,
      [program.channel],
    );
    if (erased) await suppress(`s.address IS NULL AND s.address_hash = sha256(convert_to(lb.address, 'UTF8'))`);
    const suppressed = [...byReason].sort(([a], [b]) => a.localeCompare(b));
    remaining -= suppressed.reduce((a, [, n]) => a + n, 0);
    step('suppress', remaining, Object.fromEntries(suppressed));

    // 4b. policy: the contact policy's frequency cap across programs, from contact history (sends
    // on the channel within the period). Applied again at send time; quiet hours only apply then.
    const cap = await this.frequencyCap(m);
    let capped = 0;
    if (cap) {
      const [row] = await m.query(
        `WITH gone AS (
           DELETE FROM lb WHERE (SELECT count(*) FROM send s
                                  WHERE s.customer_id = lb.id AND s.channel = $1
                                    AND s.sent_at > now() - make_interval(hours => $2)) >= $3
           RETURNING 1)
         SELECT count(*)::int AS n FROM gone`,
        [program.channel, cap.periodHours, cap.max],
      );
      capped = row.n;
    }
    remaining -= capped;
    step('policy', remaining, capped ? { 'frequency cap': capped } : undefined);
    await progress(0.6);

    // 5. sample and 6. split, in one pass: members are ranked by a keyed hash of (seed, customer id)
    // and the first N kept. The rank depends on nothing but the seed and the ids, so a rebuild or a
    // reshuffled table gives the same list; ranks map to cells by the lower bounds of exact shares
    // (largest remainder), so every cell is within one member of its weight.
    const sample =
      program.sample_size !== null
        ? { size: program.sample_size }
        : program.sample_percent !== null
          ? { percent: Number(program.sample_percent) }
          : null;
    const kept = sampleCount(remaining, sample);
    step('sample', kept);
    await progress(0.7);
    const bounds = cellRankBounds(
      kept,
      cells.map((c) => Number(c.weight)),
    );
    const lowerBounds = bounds.map((_, i) => (i === 0 ? 1 : bounds[i - 1] + 1));
    await m.query(`DELETE FROM list_member WHERE program_id = $1`, [program.id]);
    await m.query(
      `INSERT INTO list_member (program_id, customer_id, cell_id, response_code, address, rank)
       SELECT $1, r.id, ($2::uuid[])[width_bucket(r.n, $4::int[])], ($3::text[])[width_bucket(r.n, $4::int[])], r.address, r.n
         FROM (SELECT id, address, row_number() OVER (ORDER BY md5($5::text || ':' || id::text) COLLATE "C", id) AS n FROM lb) r
        WHERE r.n <= $6`,
      [program.id, cells.map((c) => c.id), cells.map((c) => c.response_code), lowerBounds, String(seed), kept],
    );
    // The shares are exact by construction (ranks 1..kept, split at the bounds): no count query needed.
    const shares = bounds.map((bound, i) => bound - (i === 0 ? 0 : bounds[i - 1]));
    return {
      seed,
      waterfall,
      cells: cells.map((c, i) => ({
        code: c.code,
        isControl: c.is_control,
        responseCode: c.response_code,
        members: shares[i],
      })),
    };
  }

  /** Members with cell and response code, in rank order, a page at a time (for the CSV export). */
  async *members(
    programRef: string,
    batch = 5000,
  ): AsyncGenerator<{ externalId: string; address: string; cell: string; responseCode: string }[]> {
    const program = await this.program(this.dataSource.manager, programRef);
    let after = 0;
    for (;;) {
      const rows = await this.dataSource.query(
        `SELECT m.rank, c.external_id AS "externalId", m.address, ce.code AS cell, m.response_code AS "responseCode"
           FROM list_member m JOIN customer c ON c.id = m.customer_id JOIN cell ce ON ce.id = m.cell_id
          WHERE m.program_id = $1 AND m.rank > $2 ORDER BY m.rank LIMIT $3`,
        [program.id, after, batch],
      );
      if (!rows.length) return;
      yield rows;
      after = rows[rows.length - 1].rank;
    }
  }

  /** The contact policy's frequency cap (the delivery lib owns the setting; the rule is core's). */
  private async frequencyCap(m: EntityManager): Promise<FrequencyCap | null> {
    const rows: { value: unknown }[] = await m.query(`SELECT value FROM setting WHERE key = 'contact-policy'`);
    return (rows.length ? parseContactPolicy(rows[0].value) : DEFAULT_CONTACT_POLICY).frequencyCap;
  }

  private async assertFirstBuildOfLaunched(m: EntityManager, program: ProgramRow): Promise<void> {
    const [list] = await m.query(`SELECT state FROM target_list WHERE program_id = $1 FOR UPDATE`, [program.id]);
    if (program.state !== 'running' || list?.state === 'built') {
      throw new ConflictError(`program ${program.code} is ${program.state} and its list is built: it stays as it is`);
    }
  }

  private assertBuildable(program: ProgramRow): void {
    if (!BUILDABLE.includes(program.state)) {
      throw new ConflictError(
        `program ${program.code} is ${program.state}: its list is frozen (lists are built before launch)`,
      );
    }
  }

  private async program(m: EntityManager, ref: string, lock = false): Promise<ProgramRow> {
    const rows = await m.query(
      `SELECT id, code, state, channel, segment_code, sample_size, sample_percent, seed FROM program
        WHERE ${isUuid(ref) ? 'id = $1' : 'lower(code) = lower($1)'}${lock ? ' FOR UPDATE' : ''}`,
      [ref],
    );
    if (!rows.length) throw new NotFoundError('program', ref);
    return rows[0];
  }
}

async function count(m: EntityManager): Promise<number> {
  const [{ n }] = await m.query(`SELECT count(*)::int AS n FROM lb`);
  return n;
}

async function deleted(m: EntityManager, sql: string, params: unknown[] = []): Promise<number> {
  const result = await m.query(sql, params);
  // node-pg through TypeORM answers [rows, rowCount] for DELETE.
  return Array.isArray(result) && typeof result[1] === 'number' ? result[1] : 0;
}
