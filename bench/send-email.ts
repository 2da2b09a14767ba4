import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { simpleParser } from 'mailparser';
import { createTransport } from 'nodemailer';
import { Client } from 'pg';
import { BenchContext, cli, DIST, freePort, Scenario, startApp, stopApp, waitHealthy } from './harness';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 50_000);
// The same pool as ours (SMTP_POOL_SIZE and EmailChannel's maxMessages defaults).
const POOL = { maxConnections: 5, maxMessages: 1000 };
// Messages handed to the raw transport at once: enough for its queue never to run dry.
const BASELINE_IN_FLIGHT = 100;
const MAIL_FROM = 'Closeloop Shop <news@shop.example.com>';
const PUBLIC_URL = 'https://go.shop.example.com';
const CLOCK_TICKS = 100; // getconf CLK_TCK on Linux
// A completed program whose counts have not moved for this long will not settle (a lost receipt, say).
const STALL_MS = 30_000;

export type ApiCall = <T = unknown>(method: string, path: string, body?: unknown) => Promise<T>;

export interface Progress {
  state: string;
  counts: Record<string, number>;
  total: number;
  pending: number;
  dispatchedAt: string | null;
  error: string | null;
}

/** Resident memory of a process, from /proc (Linux): now (VmRSS) and its peak (VmHWM), in MB. */
export function memoryMb(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN);
  return { rss: Math.round(kb('VmRSS') / 1024), peak: Math.round(kb('VmHWM') / 1024) };
}

/** CPU seconds a process used (user + system, with its reaped children: PostgreSQL's postmaster reaps backends). */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from the 3rd on
    return fields.slice(11, 15).reduce((a, f) => a + Number(f), 0) / CLOCK_TICKS;
  } catch {
    return 0; // gone in between
  }
}

/** CPU seconds of every process with this command name (all PostgreSQL backends, say). */
function cpuSecondsOf(command: string): number {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === command) total += cpuSeconds(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return total;
}

export interface CpuMeter {
  /** CPU seconds per process since the meter started. */
  read(): Record<string, number>;
}

/** CPU used by each of these processes (and PostgreSQL, Redis as a whole) from now on. */
export function cpuMeter(pids: Record<string, number>): CpuMeter {
  const sample = (): Record<string, number> => ({
    ...Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuSeconds(pid)])),
    postgres: cpuSecondsOf('postgres'),
    redis: cpuSecondsOf('redis-server'),
  });
  const start = sample();
  return {
    read: () => Object.fromEntries(Object.entries(sample()).map(([name, s]) => [name, s - start[name]])),
  };
}

export const formatCpu = (cpu: Record<string, number>): string =>
  Object.entries(cpu)
    .map(([name, s]) => `${name} ${s.toFixed(1)}`)
    .join(', ');

export interface Peers {
  child: ChildProcess;
  smtpUrl: string;
  smppUrl: string;
}

/**
 * The SMTP sink and SMSC simulator as their own process (as `npm run services -- up` runs them):
 * their CPU is charged to neither ours nor the baseline, and both send to the same one.
 */
export async function startPeers(sinkDir?: string): Promise<Peers> {
  const child = spawn(process.execPath, [join(DIST, 'apps', 'peers', 'src', 'main.js')], {
    env: { ...process.env, SMTP_SINK_PORT: '0', SMSC_PORT: '0', ...(sinkDir ? { SINK_DIR: sinkDir } : {}) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const urls: Record<string, string> = {};
  const lines = createInterface({ input: child.stdout! });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the peers did not start within 10 s')), 10_000);
    child.once('exit', (code) => reject(new Error(`the peers exited with ${code}`)));
    lines.on('line', (line) => {
      const match = /^(SMTP_URL|SMPP_URL)=(.+)$/.exec(line);
      if (match) urls[match[1]] = match[2];
      if (urls.SMTP_URL && urls.SMPP_URL) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return { child, smtpUrl: urls.SMTP_URL, smppUrl: urls.SMPP_URL };
}

export interface ProgramRunOptions {
  channel: 'email' | 'sms';
  /** The template's parts: subject + html, or body. */
  template: Record<string, string>;
  /** SMTP_URL, MAIL_FROM or SMPP_URL, SMS_FROM, for the API and the worker. */
  env: Record<string, string>;
  /** Done when this holds for the program's progress (after it completed). */
  isSettled(progress: Progress): boolean;
  /** How often progress is polled; default 1000 ms. */
  pollMs?: number;
  /** The peers' process, whose CPU is reported with ours. */
  peersPid: number;
  /** Runs against the API once the program settled, before it stops (e.g. a preview). */
  afterSettled?(call: ApiCall): Promise<void>;
}

/** Phase timestamps from the ledger and the target list (server clocks, ms precision). */
export interface ProgramTimings {
  launchedAt: Date;
  /** The list's builtAt: now() of the build transaction, so when the build began. */
  listBuiltAt: Date;
  dispatchedAt: Date;
  firstSentAt: Date;
  lastSentAt: Date;
  endedAt: Date;
}

export interface ProgramRun {
  timings: ProgramTimings;
  counts: Record<string, number>;
  /** Wall time from the launch request until the poll saw the program settled (or last saw it move). */
  polledSeconds: number;
  /** Completed, but never settled: the counts stopped moving (lost receipts, say). */
  isStalled: boolean;
  workerPeakMb: number;
  /** Worker VmRSS at each poll, from dispatch to the end. */
  workerRssMb: number[];
  cpu: Record<string, number>;
}

const seconds = (from: Date, to: Date) => (to.getTime() - from.getTime()) / 1000;

/** "launch -> list built 1.2 s -> dispatched 2.3 s -> first sent ... -> last sent ...", from launch. */
export function formatPhases(t: ProgramTimings): string {
  const at = (d: Date | null) => (d ? `${seconds(t.launchedAt, d).toFixed(1)} s` : '-');
  return (
    `launch -> list build began ${at(t.listBuiltAt)} -> dispatched ${at(t.dispatchedAt)} -> first sent ${at(t.firstSentAt)}` +
    ` -> last sent ${at(t.lastSentAt)} -> completed ${at(t.endedAt)}`
  );
}

export const formatRss = (samples: number[]): string =>
  samples.length
    ? `VmRSS ${Math.min(...samples)}..${Math.max(...samples)} MB over ${samples.length} samples ` +
      `(first ${samples[0]}, last ${samples[samples.length - 1]})`
    : 'no RSS samples';

/** Ten samples spread over the run, to see whether memory levels off or keeps growing. */
export const rssTrend = (samples: number[]): string =>
  Array.from(
    { length: Math.min(10, samples.length) },
    (_, i) => samples[Math.round((i * (samples.length - 1)) / Math.max(1, Math.min(10, samples.length) - 1))],
  ).join(' ');

/**
 * One program over the whole seeded customer table (country DE), two cells 50/50, launched through
 * the built API and run by the built worker against the peers; timed from the launch to the ledger.
 */
export async function runProgram(ctx: BenchContext, options: ProgramRunOptions): Promise<ProgramRun> {
  const env = {
    DATABASE_URL: ctx.databaseUrl,
    REDIS_URL: ctx.redisUrl,
    QUEUE_PREFIX: `bench${Date.now()}`,
    PUBLIC_URL,
    ...options.env,
  };
  const out = cli(['apikey', 'create', '--role', 'admin', '--name', `bench-${Date.now()}`], env)
    .trimEnd()
    .split('\n');
  const key = out[out.length - 1];
  const port = await freePort();
  const api = startApp('api', { ...env, PORT: String(port) });
  // BENCH_CPU_PROF=<dir>: a V8 CPU profile of the worker, written when it stops (node refuses it in NODE_OPTIONS).
  const profile = process.env.BENCH_CPU_PROF;
  const worker = profile
    ? spawn(
        process.execPath,
        ['--cpu-prof', `--cpu-prof-dir=${profile}`, join(DIST, 'apps', 'worker', 'src', 'main.js')],
        {
          env: { ...process.env, LOG_LEVEL: 'warn', ...env },
          stdio: ['ignore', 'ignore', 'inherit'],
        },
      )
    : startApp('worker', env);
  const db = new Client({ connectionString: ctx.databaseUrl });
  await db.connect();
  try {
    const base = `http://127.0.0.1:${port}`;
    await waitHealthy(base);
    const call: ApiCall = async <T>(method: string, path: string, body?: unknown) => {
      const res = await fetch(`${base}${path}`, {
        method,
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      if (res.status >= 300) throw new Error(`${method} ${path} -> ${res.status} ${await res.text()}`);
      return (await res.json()) as T;
    };
    // Quiet hours (SMS, by default) would defer the sends to the morning; no cap either.
    await call('PUT', '/v1/contact-policy', { frequencyCap: null, quietHours: { email: null, sms: null } });
    await call('POST', '/v1/offers', {
      code: 'BENCH-SPRING10',
      name: '€10 off your next order',
      type: 'amount_off',
      value: 1000,
      currency: 'EUR',
      validUntil: '2030-05-31T21:59:59Z',
    });
    await call('POST', '/v1/segments', {
      code: 'bench-de',
      name: 'bench',
      criteria: { field: 'country', op: 'eq', value: 'DE' },
    });
    await call('POST', '/v1/templates', { code: 'BENCH-SPRING', channel: options.channel, ...options.template });
    await call('POST', '/v1/campaigns', { code: 'BENCH', name: 'bench' });
    const program = 'BENCH-SEND';
    await call('POST', '/v1/campaigns/BENCH/programs', {
      code: program,
      name: 'bench',
      channel: options.channel,
      segment: 'bench-de',
      template: 'BENCH-SPRING',
      offer: 'BENCH-SPRING10',
      seed: 1,
      cells: [
        { code: 'BENCH-A', name: 'A', weight: 50 },
        { code: 'BENCH-B', name: 'B', weight: 50 },
      ],
    });

    const cpu = cpuMeter({ worker: worker.pid!, api: api.pid!, peers: options.peersPid });
    ctx.log(`ours: POST /v1/programs/${program}/launch, polling progress every ${options.pollMs ?? 1000} ms`);
    const started = Date.now();
    await call('POST', `/v1/programs/${program}/launch`);
    const rss: number[] = [];
    let progress: Progress;
    let counts = '';
    let movedAt = Date.now();
    let isStalled = false;
    for (;;) {
      await new Promise((r) => setTimeout(r, options.pollMs ?? 1000));
      progress = await call<Progress>('GET', `/v1/programs/${program}/progress`);
      if (progress.error) throw new Error(`dispatch failed: ${progress.error}`);
      if (progress.state !== 'running' && progress.state !== 'completed') {
        throw new Error(`program ${progress.state}: ${JSON.stringify(progress.counts)}`);
      }
      if (worker.exitCode !== null || worker.signalCode !== null) throw new Error('the worker exited');
      if (progress.dispatchedAt) rss.push(memoryMb(worker.pid!).rss);
      if (JSON.stringify(progress.counts) !== counts) {
        counts = JSON.stringify(progress.counts);
        movedAt = Date.now();
      }
      if (progress.state === 'completed' && options.isSettled(progress)) break;
      if (progress.state === 'completed' && Date.now() - movedAt > STALL_MS) {
        ctx.log(`warning: completed, but nothing moved for ${STALL_MS / 1000} s: ${counts}`);
        isStalled = true;
        break;
      }
      if (Date.now() - started > 20 * 60_000) throw new Error(`not done after 20 min: ${JSON.stringify(progress)}`);
    }
    const polledSeconds = ((isStalled ? movedAt : Date.now()) - started) / 1000;
    const cpuUsed = cpu.read();
    const workerPeakMb = memoryMb(worker.pid!).peak;
    const list = await call<{ builtAt: string }>('GET', `/v1/programs/${program}/list`);
    const [row] = (
      await db.query(
        `SELECT p.launched_at, p.dispatched_at, p.ended_at, min(s.sent_at) AS first_sent, max(s.sent_at) AS last_sent
           FROM program p JOIN send s ON s.program_id = p.id
          WHERE p.code = $1
          GROUP BY p.id`,
        [program],
      )
    ).rows;
    await options.afterSettled?.(call);
    return {
      timings: {
        launchedAt: row.launched_at,
        listBuiltAt: new Date(list.builtAt),
        dispatchedAt: row.dispatched_at,
        firstSentAt: row.first_sent,
        lastSentAt: row.last_sent,
        endedAt: row.ended_at,
      },
      counts: Object.fromEntries(Object.entries(progress.counts).filter(([, n]) => n > 0)),
      polledSeconds,
      isStalled,
      workerPeakMb,
      workerRssMb: rss,
      cpu: cpuUsed,
    };
  } finally {
    // Stopped before any baseline runs: an idle worker still polls, and its SMPP session would take receipts.
    await stopApp(worker);
    await stopApp(api);
    await db.end();
  }
}

/** The customers: one INSERT ... SELECT, spread over a few recipient domains as a real list is. */
async function seedCustomers(ctx: BenchContext, count: number): Promise<void> {
  const db = new Client({ connectionString: ctx.databaseUrl });
  await db.connect();
  try {
    await db.query(
      `INSERT INTO customer (external_id, email, email_given, first_name, last_name, locale, time_zone, country,
                             consent_email, lifecycle_stage)
       SELECT 'e' || i, a, a, (ARRAY['Anna','Ben','Chloé','Dmitri','Eva','Farid','Grete','Hiro'])[1 + i % 8],
              (ARRAY['Müller','Schmidt','Weber','Berg'])[1 + i % 4], 'de-DE', 'Europe/Berlin', 'DE', true, 'active'
         FROM generate_series(1, $1::int) AS i,
              LATERAL (SELECT 'shopper' || i || '@' || (ARRAY['example.com','example.org','example.net','example.de'])[1 + i % 4]) AS x(a)`,
      [count],
    );
    await db.query('ANALYZE');
  } finally {
    await db.end();
  }
}

/** A message ours sent, as the sink kept it: what the baseline sends again. */
async function sampleMessage(sinkDir: string) {
  const file = join(sinkDir, '1.eml');
  const parsed = await simpleParser(readFileSync(file));
  // Header lines as sent (prepared, so nodemailer neither folds nor re-encodes them).
  const headers: Record<string, { prepared: true; value: string }> = {};
  for (const { key, line } of parsed.headerLines) {
    if (key === 'list-unsubscribe' || key === 'list-unsubscribe-post' || key.startsWith('x-closeloop-')) {
      headers[key] = { prepared: true, value: line.slice(line.indexOf(':') + 1).trim() };
    }
  }
  return {
    subject: parsed.subject ?? '',
    html: typeof parsed.html === 'string' ? parsed.html : '',
    text: parsed.text ?? '',
    headers,
    bytes: statSync(file).size,
  };
}

/** Mean size of the .eml files with these ids (the sink numbers messages in arrival order). */
function meanSize(sinkDir: string, ids: number[]): number {
  return Math.round(ids.reduce((a, id) => a + statSync(join(sinkDir, `${id}.eml`)).size, 0) / ids.length);
}

/**
 * 50,000 emails from one program (spring-offer template, two cells) through the executor (list
 * build, dispatch, batched claims, rendering with tracked links, pooled SMTP) against raw nodemailer
 * with the same pool sending the same rendered message to the same sink. Figures in messages per second.
 */
export const sendEmail: Scenario = {
  name: 'send-email',
  description: `${MESSAGES.toLocaleString('en')} emails: launch -> completed through API + worker vs raw pooled nodemailer`,
  async run(ctx: BenchContext) {
    const sinkDir = mkdtempSync(join(tmpdir(), 'closeloop-bench-sink-'));
    const peers = await startPeers(sinkDir);
    try {
      ctx.log(`generating ${MESSAGES.toLocaleString('en')} customers with SQL; sink keeps .eml files in ${sinkDir}`);
      await seedCustomers(ctx, MESSAGES);
      const html = readFileSync(join(__dirname, '..', '..', 'templates', 'email', 'spring-offer.hbs'), 'utf8');
      const run = await runProgram(ctx, {
        channel: 'email',
        template: { subject: 'Hello {{customer.firstName}}, your spring offer is here', html },
        env: { SMTP_URL: peers.smtpUrl, MAIL_FROM },
        peersPid: peers.child.pid!,
        isSettled: () => true,
      });
      const t = run.timings;
      const sent = run.counts.sent ?? 0;
      if (sent !== MESSAGES) ctx.log(`warning: ${sent} of ${MESSAGES} sent: ${JSON.stringify(run.counts)}`);
      const ours = MESSAGES / seconds(t.launchedAt, t.endedAt);
      const delivery = sent / seconds(t.dispatchedAt, t.lastSentAt);
      ctx.log(formatPhases(t));
      ctx.log(
        `ours: ${ours.toFixed(0)} msgs/s launch -> completed; ${delivery.toFixed(0)} msgs/s dispatched -> last sent; ` +
          `polled ${run.polledSeconds.toFixed(1)} s`,
      );
      ctx.log(
        `ours: counts ${JSON.stringify(run.counts)}; worker peak RSS ${run.workerPeakMb} MB; ${formatRss(run.workerRssMb)}`,
      );
      ctx.log(`ours: worker VmRSS trend (MB): ${rssTrend(run.workerRssMb)}`);
      ctx.log(`ours: CPU s launch -> completed: ${formatCpu(run.cpu)}`);

      const message = await sampleMessage(sinkDir);
      const oursSize = meanSize(sinkDir, [1, Math.ceil(MESSAGES / 2), MESSAGES]);
      ctx.log(
        `baseline: raw nodemailer pool (${POOL.maxConnections} connections, ${BASELINE_IN_FLIGHT} in flight) sending ` +
          `message 1 again (${message.bytes} bytes as ours sent it)`,
      );
      const endpoint = new URL(peers.smtpUrl);
      const transport = createTransport({
        pool: true,
        host: endpoint.hostname,
        port: Number(endpoint.port),
        secure: false,
        ...POOL,
        logger: false,
      });
      const cpu = cpuMeter({ peers: peers.child.pid!, bench: process.pid });
      const domains = ['example.com', 'example.org', 'example.net', 'example.de'];
      let next = 0;
      const t0 = process.hrtime.bigint();
      const lane = async () => {
        while (next < MESSAGES) {
          const i = next++;
          await transport.sendMail({
            from: MAIL_FROM,
            to: `shopper${i + 1}@${domains[(i + 1) % 4]}`,
            subject: message.subject,
            html: message.html,
            text: message.text,
            messageId: `<bench-${i}@shop.example.com>`,
            headers: message.headers,
          });
        }
      };
      await Promise.all(Array.from({ length: BASELINE_IN_FLIGHT }, lane));
      const baselineSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
      const baselineCpu = cpu.read();
      transport.close();
      const baselineSize = meanSize(sinkDir, [MESSAGES + 1, MESSAGES + Math.ceil(MESSAGES / 2), 2 * MESSAGES]);
      ctx.log(
        `baseline: ${MESSAGES.toLocaleString('en')} in ${baselineSeconds.toFixed(1)} s; CPU s: ${formatCpu(baselineCpu)}`,
      );
      ctx.log(`mean .eml size: ours ${oursSize} bytes, baseline ${baselineSize} bytes`);
      return {
        ours: {
          value: ours,
          unit: 'msgs/s',
          detail:
            `${sent.toLocaleString('en')} sent in ${seconds(t.launchedAt, t.endedAt).toFixed(1)} s from launch ` +
            `(list + dispatch ${seconds(t.launchedAt, t.dispatchedAt).toFixed(1)} s, then ${delivery.toFixed(0)} msgs/s); ` +
            `worker peak RSS ${run.workerPeakMb} MB, ${formatRss(run.workerRssMb)}`,
        },
        baseline: { value: MESSAGES / baselineSeconds, unit: 'msgs/s' },
        higherIsBetter: true,
      };
    } finally {
      await stopApp(peers.child);
      rmSync(sinkDir, { recursive: true, force: true });
    }
  },
};
