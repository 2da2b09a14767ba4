import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Client } from 'pg';
import { BenchContext, DIST, Scenario, startBenchApi, stopApp } from './harness';
import { cpuMeter, formatCpu, memoryMb } from './send-email';

const ENROLLMENTS = Number(process.env.BENCH_ENROLLMENTS ?? 100_000);
const TICK_MS = 100;
// DRIP_BATCH_SIZE's default, given explicitly so that the figure says what it measured.
const BATCH_SIZE = 500;
const DRIP = 'BENCH-DRIP';
const TEMPLATE = 'BENCH-DRIP-WELCOME';
/** A day's wait, one email, a week's wait: every enrollment advanced enters s1 and w2. */
const STEPS = [
  { id: 'w1', type: 'wait', duration: 'P1D' },
  { id: 's1', type: 'send', template: TEMPLATE },
  { id: 'w2', type: 'wait', duration: 'P7D' },
];
const STEPS_PER_ENROLLMENT = 2;
// Advancing that has not moved for this long will not finish (a worker stuck on a lock, say).
const STALL_MS = 30_000;
// Delivery fails every send at once (no SMTP_URL); it is waited for this long before the baseline.
const DELIVERY_SETTLE_MS = 120_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const seconds = (from: bigint) => Number(process.hrtime.bigint() - from) / 1e9;

interface Seeded {
  dripId: string;
  version: number;
  programId: string;
  cellId: string;
}

/**
 * The built worker, resolved once it says it started (its job schedulers, the drip tick among them,
 * are registered by then). BENCH_CPU_PROF=<dir>: a V8 CPU profile of it, written when it stops.
 */
function startWorker(env: Record<string, string>): Promise<ChildProcess> {
  const profile = process.env.BENCH_CPU_PROF;
  const worker = spawn(
    process.execPath,
    [...(profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : []), join(DIST, 'apps', 'worker', 'src', 'main.js')],
    { env: { ...process.env, LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the worker did not start within 30 s')), 30_000);
    const lines = createInterface({ input: worker.stdout! });
    lines.on('line', (line) => {
      if (!/^closeloop worker .* started$/.test(line)) return;
      clearTimeout(timer);
      resolve(worker);
    });
    worker.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the worker exited before starting (${code ?? signal})`));
    });
  });
}

/**
 * An active drip made through the API (its program and cell are the activation's), then, with SQL,
 * the customers and what EnrollmentRepository.enroll writes for each of them (an enrollment, a
 * member of the drip's program, the drip's `enrolled` counter) moved on to where the engine leaves
 * them after entering w1 (waiting there until a day from now, counted as entered).
 */
async function seed(db: Client, call: (path: string, body: unknown) => Promise<unknown>): Promise<Seeded> {
  await call('/v1/templates', {
    code: TEMPLATE,
    channel: 'email',
    subject: 'Welcome to the shop',
    html: '<p>Welcome to the shop.</p><a href="https://shop.example.com/new">What is new</a>',
  });
  const created = (await call('/v1/drips', {
    code: DRIP,
    name: 'bench welcome',
    trigger: { type: 'event', event: 'signup' },
    steps: STEPS,
  })) as { id: string };
  const drip = (await call(`/v1/drips/${created.id}/activate`, {})) as { id: string; version: number; state: string };
  if (drip.state !== 'active') throw new Error(`drip ${DRIP} is ${drip.state} after activate`);
  const [main] = (
    await db.query(
      `SELECT p.id AS program_id, c.id AS cell_id FROM program p JOIN cell c ON c.program_id = p.id
        WHERE p.managed_by = 'drip' AND p.managed_id = $1 AND p.code = $2`,
      [drip.id, `drip:${DRIP}`],
    )
  ).rows as { program_id: string; cell_id: string }[];
  if (!main) throw new Error(`no program drip:${DRIP} after activate`);
  await db.query(
    `INSERT INTO customer (external_id, email, email_given, consent_email, lifecycle_stage)
     SELECT 'd' || i, 'member' || i || '@example.com', 'member' || i || '@example.com', true, 'active'
       FROM generate_series(1, $1::int) AS i`,
    [ENROLLMENTS],
  );
  // exclusive: the drip's re-entry policy is the default (after-exit), not 'always'.
  await db.query(
    `INSERT INTO drip_enrollment (drip_id, version, customer_id, state, step_id, waiting, due_at, program_id, cell_id,
                                  trigger_key, exclusive, depth, entered_at, updated_at)
     SELECT $1, $2, c.id, 'active', 'w1', true, now() + interval '1 day', $3, $4, NULL, true, 0, now(), now()
       FROM customer c`,
    [drip.id, drip.version, main.program_id, main.cell_id],
  );
  await db.query(
    `INSERT INTO program_member (program_id, customer_id, cell_id, assigned_at)
     SELECT program_id, customer_id, cell_id, entered_at FROM drip_enrollment WHERE drip_id = $1`,
    [drip.id],
  );
  await db.query(
    `INSERT INTO drip_counter (drip_id, step_id, metric, value) VALUES ($1, '', 'enrolled', $2), ($1, 'w1', 'entered', $2)`,
    [drip.id, ENROLLMENTS],
  );
  await db.query('ANALYZE');
  return { dripId: drip.id, version: drip.version, programId: main.program_id, cellId: main.cell_id };
}

/** Every wait ends now: the one statement that starts a scenario's clock (timed on its own). */
async function release(db: Client, dripId: string): Promise<number> {
  const t = process.hrtime.bigint();
  const r = await db.query(`UPDATE drip_enrollment SET due_at = now() WHERE drip_id = $1 AND state = 'active'`, [
    dripId,
  ]);
  if (r.rowCount !== ENROLLMENTS) throw new Error(`released ${r.rowCount} enrollments, not ${ENROLLMENTS}`);
  return seconds(t);
}

/** Back to waiting at w1, vacuumed: each run starts from the same table. */
async function reset(db: Client, dripId: string): Promise<void> {
  await db.query(
    `UPDATE drip_enrollment SET step_id = 'w1', waiting = true, due_at = now() + interval '1 day', updated_at = now()
      WHERE drip_id = $1 AND state = 'active'`,
    [dripId],
  );
  await db.query('VACUUM ANALYZE drip_enrollment');
}

/** What the engine must have left: every enrollment at w2, one s1 send each, the steps counted once. */
async function check(
  db: Client,
  s: Seeded,
  releasedAt: Date,
  endedAt: Date,
): Promise<{ problems: string[]; sends: number }> {
  const problems: string[] = [];
  const [e] = (
    await db.query(
      `SELECT count(*) AS n,
              count(*) FILTER (WHERE state = 'active' AND step_id = 'w2' AND waiting) AS at_w2,
              count(*) FILTER (WHERE due_at >= $2::timestamptz + interval '7 days'
                                 AND due_at <= $3::timestamptz + interval '7 days') AS due_in_a_week,
              count(*) FILTER (WHERE program_id = $4 AND cell_id = $5) AS in_main_cell
         FROM drip_enrollment WHERE drip_id = $1`,
      [s.dripId, releasedAt, endedAt, s.programId, s.cellId],
    )
  ).rows;
  for (const [what, n] of [
    ['enrollments', e.n],
    ['enrollments active and waiting at w2', e.at_w2],
    ['enrollments due 7 days after they were advanced', e.due_in_a_week],
    ['enrollments in the main cell', e.in_main_cell],
  ]) {
    if (Number(n) !== ENROLLMENTS) problems.push(`${what}: ${n}, not ${ENROLLMENTS}`);
  }
  const [sends] = (
    await db.query(
      `SELECT count(*) AS n, count(DISTINCT s.origin_id) AS enrollments,
              count(*) FILTER (WHERE e.id IS NULL OR e.customer_id <> s.customer_id) AS unmatched,
              count(*) FILTER (WHERE s.cell_id <> $2 OR s.template_code <> $3) AS elsewhere
         FROM send s LEFT JOIN drip_enrollment e ON e.id = s.origin_id
        WHERE s.program_id = $1`,
      [s.programId, s.cellId, TEMPLATE],
    )
  ).rows;
  const [steps] = (
    await db.query(`SELECT array_agg(DISTINCT step_id) AS ids FROM send WHERE program_id = $1`, [s.programId])
  ).rows;
  if (Number(sends.n) !== ENROLLMENTS) problems.push(`sends: ${sends.n}, not ${ENROLLMENTS}`);
  if (Number(sends.enrollments) !== ENROLLMENTS) {
    problems.push(`enrollments with a send: ${sends.enrollments}, not ${ENROLLMENTS}`);
  }
  if (Number(sends.unmatched) !== 0) problems.push(`${sends.unmatched} sends not of their enrollment's customer`);
  if (Number(sends.elsewhere) !== 0) problems.push(`${sends.elsewhere} sends in another cell or template`);
  if (JSON.stringify(steps.ids) !== JSON.stringify(['s1'])) problems.push(`sends for steps ${steps.ids}, not [s1]`);
  const counters = new Map(
    (
      (await db.query(`SELECT step_id, metric, value FROM drip_counter WHERE drip_id = $1`, [s.dripId])).rows as {
        step_id: string;
        metric: string;
        value: string;
      }[]
    ).map((r) => [`${r.step_id || '(drip)'} ${r.metric}`, Number(r.value)]),
  );
  const expected = new Map([
    ['(drip) enrolled', ENROLLMENTS],
    ['w1 entered', ENROLLMENTS],
    ['s1 entered', ENROLLMENTS],
    ['w2 entered', ENROLLMENTS],
  ]);
  for (const key of new Set([...expected.keys(), ...counters.keys()])) {
    if (counters.get(key) !== expected.get(key)) {
      problems.push(`counter ${key}: ${counters.get(key) ?? 'none'}, not ${expected.get(key) ?? 'none'}`);
    }
  }
  return { problems, sends: Number(sends.n) };
}

/**
 * 100,000 customers waiting at w1 of an active drip [w1 wait P1D, s1 send, w2 wait P7D]; every wait
 * ends at once (one UPDATE), and the built worker (DRIP_TICK_MS=100, batches of 500) advances them
 * all to w2: claim, exit checks, core's advanceEnrollment, a send and its outbox row each, moves,
 * counters, and the delivery jobs enqueued after each commit. Timed from the UPDATE's commit until
 * the w2 counter (written in each batch's transaction) reaches 100,000. Baseline: one raw UPDATE
 * of the same rows from w1 to their end state (w2, waiting, due 7 days later). Figures in
 * enrollments per second.
 */
export const dripAdvance: Scenario = {
  name: 'drip-advance',
  description: `${ENROLLMENTS.toLocaleString('en')} drip enrollments due at once, w1 -> s1 (send) -> w2: worker vs one raw UPDATE`,
  async run(ctx: BenchContext) {
    const { env, api, post: call } = await startBenchApi(ctx);
    const db = new Client({ connectionString: ctx.databaseUrl });
    await db.connect();
    let worker: ChildProcess | null = null;
    try {
      ctx.log(`generating ${ENROLLMENTS.toLocaleString('en')} customers enrolled and waiting at w1, with SQL`);
      const seeded = await seed(db, call);
      await stopApp(api); // set-up only: the API plays no part in advancing
      await db.query('VACUUM ANALYZE drip_enrollment');

      ctx.log(
        `ours: one worker (DRIP_TICK_MS=${TICK_MS}, DRIP_BATCH_SIZE=${BATCH_SIZE}); SMTP_URL not set, so delivery ` +
          `is not configured: each send is written and its delivery job enqueued, then failed by the job`,
      );
      worker = await startWorker({
        ...env,
        DRIP_TICK_MS: String(TICK_MS),
        DRIP_BATCH_SIZE: String(BATCH_SIZE),
        SMTP_URL: '',
      });
      await sleep(2000); // a few ticks with nothing due: the worker is warm and idle
      const w = worker;
      const isGone = () => w.exitCode !== null || w.signalCode !== null;
      const advanced = async () =>
        Number(
          (
            await db.query(
              `SELECT value FROM drip_counter WHERE drip_id = $1 AND step_id = 'w2' AND metric = 'entered'`,
              [seeded.dripId],
            )
          ).rows[0]?.value ?? 0,
        );

      const cpu = cpuMeter({ worker: w.pid!, bench: process.pid });
      const releasedAt = new Date();
      const releaseSeconds = await release(db, seeded.dripId);
      const t0 = process.hrtime.bigint();
      const samples: { s: number; n: number }[] = [];
      let movedAt = Date.now();
      for (let n = 0; n < ENROLLMENTS;) {
        await sleep(50);
        const now = await advanced();
        if (now !== n) movedAt = Date.now();
        n = now;
        samples.push({ s: seconds(t0), n });
        if (isGone()) throw new Error('the worker exited');
        if (Date.now() - movedAt > STALL_MS) {
          throw new Error(`advancing stalled at ${n} of ${ENROLLMENTS} for ${STALL_MS / 1000} s`);
        }
      }
      const oursSeconds = seconds(t0);
      const endedAt = new Date();
      const cpuUsed = cpu.read();
      const workerMb = memoryMb(w.pid!);
      const at = (share: number) => samples.find((x) => x.n >= share * ENROLLMENTS)!.s;
      const steady = (0.8 * ENROLLMENTS) / (at(0.9) - at(0.1));
      ctx.log(
        `ours: ${ENROLLMENTS.toLocaleString('en')} at w2 ${oursSeconds.toFixed(2)} s after the release ` +
          `(the release UPDATE itself took ${releaseSeconds.toFixed(2)} s, before the clock); first batch at ` +
          `${samples.find((x) => x.n > 0)!.s.toFixed(2)} s, 10% -> 90% at ${steady.toFixed(0)} enrollments/s`,
      );
      ctx.log(`ours: CPU s: ${formatCpu(cpuUsed)}; worker peak RSS ${workerMb.peak} MB`);

      const { problems, sends } = await check(db, seeded, releasedAt, endedAt);
      if (problems.length) {
        throw new Error(`drip-advance: the engine's result is wrong:\n  ${problems.join('\n  ')}`);
      }
      ctx.log(
        `ours: checked: ${ENROLLMENTS.toLocaleString('en')} enrollments at w2 due 7 days on, one s1 send each ` +
          `(${sends.toLocaleString('en')} sends), counters s1/w2 entered = ${ENROLLMENTS.toLocaleString('en')}`,
      );

      // Delivery goes on after the last batch; it has to be over before the baseline runs.
      const settleFrom = Date.now();
      const pending = async () =>
        Number(
          (
            await db.query(
              `SELECT count(*) AS n FROM send WHERE program_id = $1 AND state IN ('queued', 'sending', 'deferred')`,
              [seeded.programId],
            )
          ).rows[0].n,
        );
      while ((await pending()) > 0 && Date.now() - settleFrom < DELIVERY_SETTLE_MS) await sleep(200);
      const states = (
        await db.query(
          `SELECT state, coalesce(error, '-') AS error, count(*) AS n FROM send WHERE program_id = $1
            GROUP BY 1, 2 ORDER BY 3 DESC`,
          [seeded.programId],
        )
      ).rows as { state: string; error: string; n: string }[];
      ctx.log(
        `ours: delivery (not configured) ${((Date.now() - settleFrom) / 1000).toFixed(1)} s after the last batch: ` +
          states.map((r) => `${r.state} ${Number(r.n).toLocaleString('en')} (${r.error})`).join(', '),
      );
      await stopApp(w);

      ctx.log(`baseline: the same rows back at w1, released, then one UPDATE to w2 (waiting, due_at + 7 days)`);
      await reset(db, seeded.dripId);
      await release(db, seeded.dripId);
      const baselineCpu = cpuMeter({ bench: process.pid });
      const tb = process.hrtime.bigint();
      const moved = await db.query(
        `UPDATE drip_enrollment SET step_id = 'w2', waiting = true, due_at = due_at + interval '7 days', updated_at = now()
          WHERE drip_id = $1 AND state = 'active' AND due_at <= now()`,
        [seeded.dripId],
      );
      const baselineSeconds = seconds(tb);
      const baselineCpuUsed = baselineCpu.read();
      if (moved.rowCount !== ENROLLMENTS) throw new Error(`baseline moved ${moved.rowCount}, not ${ENROLLMENTS}`);
      ctx.log(
        `baseline: ${ENROLLMENTS.toLocaleString('en')} rows in ${baselineSeconds.toFixed(2)} s; ` +
          `CPU s: ${formatCpu(baselineCpuUsed)}`,
      );

      // For reference, not the figure: the engine's own claim and write-back statements alone, a batch
      // per transaction as the engine does (no exit check, no sends, no counters, one connection).
      await reset(db, seeded.dripId);
      await release(db, seeded.dripId);
      const tr = process.hrtime.bigint();
      let batches = 0;
      for (;;) {
        await db.query('BEGIN');
        const ids = (
          await db.query(
            `SELECT e.id FROM drip_enrollment e JOIN customer c ON c.id = e.customer_id
              WHERE e.drip_id = $1 AND e.state = 'active' AND e.due_at <= now()
              ORDER BY e.due_at LIMIT $2 FOR UPDATE OF e SKIP LOCKED`,
            [seeded.dripId, BATCH_SIZE],
          )
        ).rows.map((r: { id: string }) => r.id);
        if (ids.length) {
          await db.query(
            `UPDATE drip_enrollment e SET step_id = 'w2', waiting = true, due_at = x.due_at, updated_at = now()
               FROM unnest($1::uuid[], $2::timestamptz[]) AS x(id, due_at) WHERE e.id = x.id`,
            [ids, ids.map(() => new Date(Date.now() + 7 * 86_400_000))],
          );
        }
        await db.query('COMMIT');
        if (!ids.length) break;
        batches++;
      }
      const rawBatchedSeconds = seconds(tr);
      ctx.log(
        `reference: claim + UPDATE ... FROM unnest, ${batches} transactions of ${BATCH_SIZE}: ` +
          `${rawBatchedSeconds.toFixed(2)} s, ${(ENROLLMENTS / rawBatchedSeconds).toFixed(0)} enrollments/s`,
      );

      const rate = ENROLLMENTS / oursSeconds;
      return {
        ours: {
          value: rate,
          unit: 'rows/s',
          detail:
            `${(rate * STEPS_PER_ENROLLMENT).toFixed(0)} steps/s (s1 and w2 each), ` +
            `${ENROLLMENTS.toLocaleString('en')} enrollments in ${oursSeconds.toFixed(2)} s, ` +
            `${sends.toLocaleString('en')} sends written (delivery not configured: SMTP_URL unset)`,
        },
        baseline: { value: ENROLLMENTS / baselineSeconds, unit: 'rows/s' },
        higherIsBetter: true,
      };
    } finally {
      if (worker) await stopApp(worker);
      await stopApp(api);
      await db.end();
    }
  },
};
