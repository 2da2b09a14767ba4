import { InjectDataSource } from '@nestjs/typeorm';
import { MultiBar, Presets, SingleBar } from 'cli-progress';
import { simpleParser } from 'mailparser';
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Command, CommandRunner, Option } from 'nest-commander';
import { DataSource } from 'typeorm';
import { ApiKeyService } from '@closeloop/access';
import { ValidationError } from '@closeloop/core';
import { findRepoRoot, runMigrations } from '@closeloop/persistence';
import { SmscSimulator } from '../../../peers/src/smsc-simulator';
import { SmtpSink } from '../../../peers/src/smtp-sink';
import { Behaviour, generatePopulation, Member, simulateMembers, TRUE_RATES } from './demo-data';

/** The default size: the whole loop stays under 3 minutes on a 2-core machine. */
export const DEFAULT_CUSTOMERS = 50_000;
const BATCH = 10_000;
/** Parallel tracking requests, as many mail clients would make. */
const HTTP_CONCURRENCY = 24;
/** Clicks this soon after a send are flagged as link scanners' (core SCANNER_CLICK_WINDOW_MS is 10 s). */
const SCANNER_WINDOW_MS = 10_000;

const say = (line = '') => process.stdout.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const n0 = (x: number) => Math.round(x).toLocaleString('en-US');
const pct = (x: number, digits = 1) => `${(x * 100).toFixed(digits)}%`;
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

/** Runs fn over items with at most `limit` in flight. */
async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

interface CellReport {
  code: string;
  name: string;
  isControl: boolean;
  members: number;
  contacted: number;
  delivered: number;
  bounced: number;
  opens: number;
  opensHuman: number;
  clicks: number;
  clicksHuman: number;
  unsubscribes: number;
  conversions: number;
  conversionRate: number;
  conversionRateCi: [number, number];
  revenue: number;
  revenuePerMember: number;
}

interface Comparison {
  cell: string;
  against: string;
  metric: 'conversionRate' | 'revenuePerMember';
  absoluteLift: number;
  relativeLift: number | null;
  ci: [number, number];
  pValue: number | null;
  adjustedPValue: number | null;
  significant: boolean;
  smallSample: boolean;
}

interface ProgramReport {
  program: { code: string; name: string; channel: string; attributionWindowDays: number };
  confidence: number;
  cells: CellReport[];
  comparisons: Comparison[];
  overall: { statistic: number; df: number; pValue: number | null; smallSample: boolean } | null;
  verdict: string;
}

/** What the simulated customers did, per cell, as the report should come to count it. */
interface Expected {
  opens: number;
  clicks: number;
  unsubscribes: number;
  conversions: number;
}

// API answers are JSON, read field by field (a wrong field fails the demo loudly, which is what it is for).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
type Call = (method: string, path: string, body?: unknown) => Promise<Json>;

/** The last part of a cell code: A, B, CTL, SMS. */
const armOf = (cellCode: string) => cellCode.slice(cellCode.lastIndexOf('-') + 1);

/**
 * The whole loop on real API and worker processes, driven over HTTP as a marketer, a mail client
 * and a shop would: plan a campaign (an email A/B test with a control, and an SMS program), load a
 * seeded synthetic customer base, build the lists, send through an SMTP sink and an SMSC simulator,
 * have the customers open, click, unsubscribe (real requests to the tracking links) and buy
 * (conversions through the API, with known true rates per cell), then measure and recommend.
 */
@Command({ name: 'demo', description: 'run the loop end to end on local services (starts them when needed)' })
export class DemoCommand extends CommandRunner {
  private readonly children: ChildProcess[] = [];
  private readonly sink = new SmtpSink();
  private readonly smscPassword = randomBytes(6).toString('hex');
  private readonly smsc = new SmscSimulator({ systemId: 'demo', password: this.smscPassword });
  private readonly startedAt = Date.now();

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly keys: ApiKeyService,
  ) {
    super();
  }

  async run(_params: string[], options: { customers?: number } = {}): Promise<void> {
    try {
      await this.demo(options.customers ?? DEFAULT_CUSTOMERS);
    } finally {
      await this.stopChildren();
      await this.sink.stop();
      await this.smsc.stop();
    }
  }

  @Option({
    flags: '-c, --customers <n>',
    description: `size of the synthetic customer base (default ${DEFAULT_CUSTOMERS}: under 3 minutes on 2 cores; the CI test uses 15000)`,
  })
  parseCustomers(value: string): number {
    const n = Number(value.replace(/[_,]/g, ''));
    if (!Number.isInteger(n) || n < 500 || n > 1_000_000) {
      throw new ValidationError('--customers must be a whole number from 500 to 1000000', 'customers');
    }
    return n;
  }

  private async demo(size: number): Promise<void> {
    say('Closeloop demo: plan -> list -> send -> respond -> measure -> adjust');
    say('='.repeat(72));
    const applied = await runMigrations(this.dataSource);
    say(`database: ${applied.length ? `applied ${applied.join(', ')}` : 'schema up to date'}`);
    const run = Date.now().toString(36).toUpperCase();
    const { key, apiKey } = await this.keys.create({ name: `demo-${run}`, role: 'marketer' });
    const admin = await this.keys.create({ name: `demo-${run}-admin`, role: 'admin' });
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    // A real SMTP conversation with a sink on loopback: every message the worker sends lands here.
    const smtp = await this.sink.start(0);
    // A real SMPP 3.4 message centre on loopback for the texts, with delivery receipts.
    const smpp = await this.smsc.start(0);
    const smppUrl = `smpp://demo:${this.smscPassword}@127.0.0.1:${smpp.port}`;
    const mail = { SMTP_URL: smtp.url, MAIL_FROM: 'Closeloop Shop <news@shop.example>', PUBLIC_URL: base };
    this.startProcess('api', { PORT: String(port), BODY_LIMIT: '64mb', ...mail });
    this.startProcess('worker', {
      SCHEDULER_INTERVAL_MS: '500',
      // The follow-up drip of the last step enters its segment's members within a second, not a minute.
      DRIP_TRIGGER_INTERVAL_MS: '1000',
      DRIP_TICK_MS: '250',
      SMPP_URL: smppUrl,
      SMS_FROM: 'Shop',
      DELIVERY_CONCURRENCY: '8',
      SEND_BATCH_SIZE: '200',
      ...mail,
    });
    await this.waitHealthy(base);
    say(`api: ${base} (OpenAPI at ${base}/docs); worker: running; key: ${apiKey.role} "${apiKey.name}"`);
    say(`smtp: a sink at ${smtp.url} stands in for the mail relay`);
    say(
      `sms: an SMSC simulator at smpp://127.0.0.1:${smpp.port} (SMPP 3.4, delivery receipts) stands in for the gateway`,
    );

    const call = async (method: string, path: string, body?: unknown, bearer = key) => {
      const res = await fetch(`${base}${path}`, {
        method,
        headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      const type = res.headers.get('content-type') ?? '';
      return { status: res.status, body: text && type.includes('json') ? JSON.parse(text) : text };
    };
    const http = (method: string, path: string, body?: unknown) => call(method, path, body);
    const must = async (method: string, path: string, body?: unknown, bearer = key) => {
      const res = await call(method, path, body, bearer);
      if (res.status >= 300) throw new Error(`${method} ${path} -> ${res.status} ${JSON.stringify(res.body)}`);
      return res.body;
    };

    // Both programs reach customers on the same day, texts at any hour: the demo turns the contact
    // policy's quiet hours and frequency cap off, and puts the policy back when it is done.
    const policy = await must('GET', '/v1/contact-policy', undefined, admin.key);
    await must('PUT', '/v1/contact-policy', { frequencyCap: null, quietHours: { email: null, sms: null } }, admin.key);
    say(
      'contact policy: quiet hours (SMS 21:00-08:00 local by default) and the frequency cap are off while the demo ' +
        'runs, so texts go out at any hour; restored at the end',
    );
    try {
      await this.loop(run, size, base, { http, must });
    } finally {
      await must('PUT', '/v1/contact-policy', policy, admin.key).catch((error: Error) =>
        say(`could not restore the contact policy (PUT /v1/contact-policy to set it): ${error.message}`),
      );
      await this.keys.revoke(admin.apiKey.id);
      await this.keys.revoke(apiKey.id);
    }
  }

  private async loop(
    run: string,
    size: number,
    base: string,
    api: {
      http: (method: string, path: string, body?: unknown) => Promise<{ status: number; body: Json }>;
      must: Call;
    },
  ): Promise<void> {
    const { http, must } = api;
    say('\n1. PLAN');
    const campaign = await must('POST', '/v1/campaigns', {
      code: `LOY26-${run}`,
      name: '2026 loyalty drive',
      objective: 'win back lapsed buyers',
      startsAt: '2026-01-01T00:00:00Z',
      endsAt: '2026-12-31T23:59:59Z',
      budget: { amount: 2_500_000, currency: 'EUR' },
    });
    say(
      `   campaign ${campaign.code}: "${campaign.name}", budget ${(campaign.budget.amount / 100).toFixed(2)} ${campaign.budget.currency}`,
    );
    const offer = await must('POST', '/v1/offers', {
      code: `SAVE10-${run}`,
      name: '10% off your next order',
      type: 'percent_off',
      value: 10,
      // The end of 31 December in Central Europe, where the customers live (23:59:59Z shows as 1 January there).
      validUntil: '2026-12-31T22:59:59Z',
    });
    say(`   offer ${offer.code}: ${offer.name}`);
    const root = findRepoRoot() ?? process.cwd();
    const html = readFileSync(`${root}/templates/email/spring-offer.hbs`, 'utf8');
    const plain = await must('POST', '/v1/templates', {
      code: `SPRING-${run}`,
      name: 'Spring offer',
      channel: 'email',
      subject: '{{customer.firstName}}, your {{offer.name}}',
      html,
    });
    const urgent = await must('POST', '/v1/templates', {
      code: `SPRING-URGENT-${run}`,
      name: 'Spring offer, urgent subject',
      channel: 'email',
      subject: 'Last days, {{customer.firstName}}: {{offer.name}}',
      html,
    });
    const broken = await http('POST', '/v1/templates', {
      code: `BROKEN-${run}`,
      channel: 'email',
      subject: 'Hi',
      html: '<p>Hello</p>\n{{#if customer.firstName}}<p>{{customer.firstName}}',
    });
    say(
      `   templates ${plain.code} and ${urgent.code} (v${plain.version}); a broken one -> ${broken.status}: ${broken.body.message}`,
    );
    const text = await must('POST', '/v1/templates', {
      code: `SPRING-SMS-${run}`,
      name: 'Spring offer, text message',
      channel: 'sms',
      body: readFileSync(`${root}/templates/sms/spring-offer.hbs`, 'utf8').trim(),
    });
    say(`   SMS template ${text.code}`);

    // The customer base: generated from a seed, loaded through the API in batches of 10,000.
    let t0 = Date.now();
    const world = generatePopulation(run, size);
    const { customers, orders } = world;
    const loadBar = this.bar('   loading   [{bar}] {percentage}% | {value}/{total} rows');
    loadBar.start(customers.length + orders.length, 0);
    for (let i = 0; i < customers.length; i += BATCH) {
      await must('POST', '/v1/customers', { customers: customers.slice(i, i + BATCH) });
      loadBar.increment(Math.min(BATCH, customers.length - i));
    }
    for (let i = 0; i < orders.length; i += BATCH) {
      await must('POST', '/v1/orders', { orders: orders.slice(i, i + BATCH) });
      loadBar.increment(Math.min(BATCH, orders.length - i));
    }
    loadBar.stop();
    say(
      `   ${n0(customers.length)} synthetic customers (seeded) with ${n0(orders.length)} orders loaded in ${secs(Date.now() - t0)}` +
        `${size === DEFAULT_CUSTOMERS ? ' (the default size: the whole demo stays under 3 minutes on 2 cores; --customers <n> for another)' : ` (--customers ${size})`}`,
    );
    say(
      `   lifecycle stages: ${Object.entries(world.byStage)
        .map(([stage, count]) => `${stage} ${n0(count)}`)
        .join(', ')}`,
    );
    const withEmail = customers.filter((c) => c.email);
    const suppressed = Math.max(20, Math.round(size / 1000));
    await pool(
      Array.from({ length: suppressed }, (_, i) => i),
      8,
      async (i) => {
        await must('POST', '/v1/suppressions', {
          channel: 'email',
          address: withEmail[100 + i * 37].email,
          reason: i % 4 ? 'unsubscribed' : 'hard-bounce',
        });
      },
    );
    say(`   ${suppressed} email addresses suppressed (earlier unsubscribes and hard bounces)`);

    const segmentCode = `LAPSED-BUYERS-${run}`;
    const segment = await must('POST', '/v1/segments', {
      code: segmentCode,
      name: 'Lapsed and at-risk buyers',
      criteria: {
        all: [
          { field: 'lifecycleStage', op: 'in', value: ['lapsed', 'at-risk'] },
          { field: 'orders.count', op: 'gte', value: 1 },
          { field: 'attributes.run', op: 'eq', value: run },
        ],
      },
    });
    const counted = await must('GET', `/v1/segments/${segment.code}`);
    say(`   segment ${segment.code}: ${n0(counted.count)} members now`);
    const draft = await must('POST', `/v1/campaigns/${campaign.code}/programs`, {
      code: `LAPSED-${run}`,
      name: 'Coupon for lapsed buyers',
      channel: 'email',
      segment: segmentCode,
      template: plain.code,
      offer: offer.code,
      attributionWindowDays: 14,
      seed: 2026,
      cells: [
        { code: `LAPSED-${run}-A`, name: 'A: 10% off, plain subject', weight: 45 },
        { code: `LAPSED-${run}-B`, name: 'B: 10% off, urgent subject', weight: 40, template: urgent.code },
        { code: `LAPSED-${run}-CTL`, name: 'Control (held out)', weight: 10, isControl: true },
      ],
    });
    say(`   program ${draft.code} (${draft.channel}), state ${draft.state}:`);
    this.printCells(draft.cells);
    say(`   readiness: ${draft.readiness.launchable ? 'ready' : `not ready: ${draft.readiness.reason}`}`);
    const refused = await http('POST', `/v1/programs/${draft.code}/launch`);
    say(`   launch now -> ${refused.status}: ${refused.body.message}`);
    await must('PATCH', `/v1/cells/LAPSED-${run}-B`, { weight: 45 });
    const illegal = await http('POST', `/v1/programs/${draft.code}/pause`);
    say(`   fixed cell B to 45%; pause a draft -> ${illegal.status}: ${illegal.body.message}`);

    const smsSegment = await must('POST', '/v1/segments', {
      code: `RECENT-BUYERS-${run}`,
      name: 'Active buyers, ordered within 90 days',
      criteria: {
        all: [
          { field: 'lifecycleStage', op: 'in', value: ['new', 'active', 'won-back'] },
          { field: 'orders.lastAt', op: 'withinDays', value: 90 },
          { field: 'attributes.run', op: 'eq', value: run },
        ],
      },
    });
    const smsCounted = await must('GET', `/v1/segments/${smsSegment.code}`);
    const sms = await must('POST', `/v1/campaigns/${campaign.code}/programs`, {
      code: `FLASH-${run}`,
      name: 'Spring offer by text for recent buyers',
      channel: 'sms',
      segment: smsSegment.code,
      template: text.code,
      offer: offer.code,
      attributionWindowDays: 7,
      seed: 2026,
      cells: [{ code: `FLASH-${run}-SMS`, name: 'Text: spring offer', weight: 100 }],
    });
    say(
      `   program ${sms.code} (${sms.channel}), one cell, to segment ${smsSegment.code}: ${n0(smsCounted.count)} members now ` +
        `(other lifecycle stages than the email's, so each purchase has one program to be credited to); ` +
        `readiness: ${sms.readiness.launchable ? 'ready' : sms.readiness.reason}`,
    );

    say('\n2. LIST');
    t0 = Date.now();
    await Promise.all([draft.code, sms.code].map((code) => must('POST', `/v1/programs/${code}/list`)));
    const [list, smsList] = await Promise.all([draft.code, sms.code].map((code) => this.builtList(must, code)));
    say(
      `   target lists built by the worker in ${secs(Date.now() - t0)} (seed ${list.seed}); waterfall of ${draft.code}:`,
    );
    this.printWaterfall(list.waterfall);
    for (const c of list.cells as { code: string; members: number; responseCode: string }[]) {
      say(`   cell ${c.code.padEnd(24)} ${n0(c.members).padStart(7)} members  response code ${c.responseCode}`);
    }
    say(`   waterfall of ${sms.code}:`);
    this.printWaterfall(smsList.waterfall);
    say(`   export: GET /v1/programs/${draft.code}/list.csv`);
    say('\n   back to the plan:');
    const at = new Date(Date.now() + 2000).toISOString();
    const scheduled = await must('POST', `/v1/programs/${draft.code}/schedule`, { scheduledAt: at });
    await must('POST', `/v1/programs/${sms.code}/schedule`, { scheduledAt: at });
    say(`   both programs scheduled for ${scheduled.scheduledAt}; cells are now frozen:`);
    const frozen = await http('POST', `/v1/programs/${draft.code}/cells`, { code: `LAPSED-${run}-D`, weight: 5 });
    say(`   add a cell -> ${frozen.status}: ${frozen.body.message}`);
    let program = scheduled;
    const deadline = Date.now() + 30_000;
    while (program.state === 'scheduled' && Date.now() < deadline) {
      await sleep(250);
      program = await must('GET', `/v1/programs/${draft.code}`);
    }
    if (program.state !== 'running') throw new Error(`the worker did not launch the program (state ${program.state})`);
    say(`   the worker's scheduler launched it at ${program.launchedAt}: state ${program.state}`);

    say('\n3. SEND');
    t0 = Date.now();
    // Bars only on a terminal (cli-progress draws a MultiBar's last frame even into a pipe, unfilled).
    const bars = process.stderr.isTTY
      ? new MultiBar(
          {
            format: '   {name} [{bar}] {percentage}% | {value}/{total} settled | {rate} msg/s',
            hideCursor: true,
            stream: process.stderr,
          },
          Presets.shades_classic,
        )
      : null;
    const progress: Record<string, Json> = {};
    const doneAt: Record<string, number> = {};
    const tracked = [
      { code: draft.code, bar: bars?.create(1, 0, { name: 'email', rate: 0 }) },
      { code: sms.code, bar: bars?.create(1, 0, { name: 'sms  ', rate: 0 }) },
    ];
    const sendDeadline = Date.now() + 600_000;
    for (;;) {
      for (const t of tracked) {
        const p = await must('GET', `/v1/programs/${t.code}/progress`);
        progress[t.code] = p;
        if (p.state !== 'running' && p.state !== 'scheduled') doneAt[t.code] ??= Date.now();
        t.bar?.setTotal(Math.max(p.total, 1));
        t.bar?.update(p.total - p.pending, { rate: p.ratePerSecond });
      }
      const all = Object.values(progress);
      if (all.some((p) => p.error) || all.every((p) => p.state !== 'running' && p.state !== 'scheduled')) break;
      if (Date.now() > sendDeadline) break;
      await sleep(250);
    }
    bars?.stop();
    const sendDone = Date.now();
    for (const t of tracked) {
      const p = progress[t.code];
      if (p.state !== 'completed') throw new Error(`program ${t.code} did not complete: ${JSON.stringify(p)}`);
      const counts = Object.entries(p.counts as Record<string, number>)
        .filter(([, n]) => n > 0)
        .map(([state, n]) => `${state} ${n0(n)}`)
        .join(', ');
      say(`   program ${t.code} ${p.state}: ${counts}`);
    }
    const mails = this.sink.messages();
    const texts = this.smsc.messages();
    say(
      `   sent in ${secs(sendDone - t0)}: the SMTP sink received ${n0(mails.length)} messages, the SMSC ${n0(texts.length)} texts`,
    );
    say('   (control-cell members are held out, never contacted)');
    const sample = await simpleParser(mails[0].raw);
    say(`   one email: To ${mails[0].to[0]}, Subject "${sample.subject}"`);
    say(`     Message-ID ${sample.messageId}`);
    const head = mails[0].raw
      .toString('utf8')
      .split('\r\n\r\n')[0]
      .replace(/\r\n[ \t]+/g, ' ');
    for (const name of ['List-Unsubscribe', 'List-Unsubscribe-Post']) {
      say(`     ${new RegExp(`^${name}: .*$`, 'm').exec(head)?.[0] ?? `${name}: (missing)`}`);
    }
    const links = [...String(sample.html).matchAll(/href="([^"]+\/t\/c\/[^"]+)"/g)].map((x) => x[1]);
    say(`     ${links.length} tracked link(s), e.g. ${links[0] ?? '-'}`);
    if (texts.length)
      say(`   one text: to +${texts[0].to.replace(/^\+/, '')}, ${texts[0].segments} segment(s): "${texts[0].text}"`);

    say('\n4. RESPOND');
    t0 = Date.now();
    const emailMembers = await this.members(must, draft.code);
    const smsMembers = await this.members(must, sms.code);
    const behaviour = simulateMembers(emailMembers, armOf);
    const smsBehaviour = simulateMembers(smsMembers, armOf);
    const byAddress = new Map(mails.map((m) => [m.to[0].toLowerCase(), m]));
    const active = behaviour.filter((b) => b.opens.length || b.click || b.unsubscribes);
    const conversions = [...behaviour, ...smsBehaviour].filter((b) => b.converts);
    type Hit = { kind: 'open' | 'click' | 'unsubscribe'; url: string; ua: string };
    const made = { open: 0, click: 0, unsubscribe: 0 };
    const failures: string[] = [];
    const bar = this.bar('   responding [{bar}] {percentage}% | {value}/{total} requests and conversions');
    bar.start(
      active.reduce((sum, b) => sum + b.opens.length + (b.click ? 1 : 0) + (b.unsubscribes ? 1 : 0), 0) +
        conversions.length,
      0,
    );
    const hit = async (h: Hit) => {
      const res =
        h.kind === 'unsubscribe'
          ? await fetch(h.url, {
              method: 'POST',
              headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'Closeloop-demo-mailbox' },
              body: 'List-Unsubscribe=One-Click',
            })
          : await fetch(h.url, { redirect: 'manual', headers: { 'user-agent': h.ua } });
      await res.arrayBuffer();
      const ok = h.kind === 'click' ? res.status === 302 : res.status === 200;
      if (ok) made[h.kind]++;
      else if (failures.length < 5) failures.push(`${h.kind} ${h.url} -> ${res.status}`);
      bar.increment();
    };
    // Each member who does something: read the message (open pixel, first tracked link, unsubscribe
    // URL from the List-Unsubscribe header), then open it, once or twice, in their mail client.
    const linksOf = new Map<Behaviour, { open?: string; click?: string; unsubscribe?: string }>();
    await pool(active, HTTP_CONCURRENCY, async (b) => {
      const message = byAddress.get(b.address.toLowerCase());
      if (!message) return; // not delivered
      const parsed = await simpleParser(message.raw);
      const body = String(parsed.html || '');
      const head = message.raw
        .toString('utf8')
        .split('\r\n\r\n')[0]
        .replace(/\r\n[ \t]+/g, ' ');
      const l = {
        open: /src="([^"]+\/t\/o\/[^"]+)"/.exec(body)?.[1],
        click: /href="([^"]+\/t\/c\/[^"]+)"/.exec(body)?.[1],
        unsubscribe: /^List-Unsubscribe: <(https?:[^>]+)>/im.exec(head)?.[1],
      };
      linksOf.set(b, l);
      if (l.open) for (const ua of b.opens) await hit({ kind: 'open', url: l.open, ua });
    });
    // Purchases: posted by the shop as conversions, no response code (attributed to the customer's
    // latest program cell within its window, the control's members included), after the sends.
    const boughtFrom = sendDone;
    const now = Date.now();
    const responses = conversions.map((b, i) => ({
      externalId: b.externalId,
      type: 'conversion',
      value: b.value,
      currency: 'EUR',
      occurredAt: new Date(boughtFrom + b.when * (now - boughtFrom)).toISOString(),
      idempotencyKey: `demo-${run}-order-${i}`,
    }));
    for (let i = 0; i < responses.length; i += BATCH) {
      const chunk = responses.slice(i, i + BATCH);
      await must('POST', '/v1/responses', { responses: chunk });
      bar.increment(chunk.length);
    }
    // A click within 10 s of its send looks like a link scanner's: the customers read first.
    const wait = (doneAt[draft.code] ?? sendDone) + SCANNER_WINDOW_MS + 1000 - Date.now();
    if (wait > 0) await sleep(wait);
    const clicks: Hit[] = [];
    const unsubscribes: Hit[] = [];
    for (const [b, l] of linksOf) {
      if (l.click && b.click) clicks.push({ kind: 'click', url: l.click, ua: b.click });
      if (l.unsubscribe && b.unsubscribes) unsubscribes.push({ kind: 'unsubscribe', url: l.unsubscribe, ua: '' });
    }
    await pool(clicks, HTTP_CONCURRENCY, hit);
    await pool(unsubscribes, 4, hit);
    bar.stop();
    const openers = behaviour.filter((b) => b.opens.length && linksOf.get(b)?.open);
    const machine = openers.filter((b) => b.openedByMachine).length;
    say(
      `   the customers: ${n0(made.open)} opens by ${n0(openers.length)} people (${n0(machine)} of them through ` +
        `Gmail's image proxy: machine opens), ${n0(made.click)} clicks, ${n0(made.unsubscribe)} one-click unsubscribes;`,
    );
    say(`   real requests to the tracking links in the messages (${base}/t/o/..., /t/c/..., /u/...)`);
    say(
      `   the shop: ${n0(conversions.length)} purchases posted to POST /v1/responses (no response code: attributed by window)`,
    );
    if (failures.length) say(`   unexpected answers: ${failures.join('; ')}`);
    say(`   responded in ${secs(Date.now() - t0)}; waiting for ingestion (API buffer -> Redis stream -> worker)...`);

    const expected = (list: Behaviour[]) => {
      const byArm = new Map<string, Expected>();
      for (const b of list) {
        const e = byArm.get(b.arm) ?? { opens: 0, clicks: 0, unsubscribes: 0, conversions: 0 };
        const l = linksOf.get(b);
        if (l && (b.opens.length || b.click)) e.opens++;
        if (l && b.click) e.clicks++;
        if (l && b.unsubscribes) e.unsubscribes++;
        if (b.converts) e.conversions++;
        byArm.set(b.arm, e);
      }
      return byArm;
    };
    t0 = Date.now();
    const [report, smsReport, settled] = await this.ingested(must, [
      { code: draft.code, expected: expected(behaviour) },
      { code: sms.code, expected: expected(smsBehaviour) },
    ]);
    say(
      settled
        ? `   the reports count every open, click, unsubscribe and purchase made (checked after ${secs(Date.now() - t0)})`
        : `   the reports had not caught up after ${secs(Date.now() - t0)}: the figures below may still grow`,
    );

    say('\n5. MEASURE');
    say(
      `   ${report.program.code}: "${report.program.name}" (conversion rate per member, ${pct(report.confidence, 0)} Wilson CI)`,
    );
    this.printReport(report);
    say('');
    say(`   ${smsReport.program.code}: "${smsReport.program.name}"`);
    this.printReport(smsReport);
    const dir = join(root, '.closeloop', 'reports');
    mkdirSync(dir, { recursive: true });
    const files: string[] = [];
    for (const code of [draft.code, sms.code]) {
      const page = await http('GET', `/v1/programs/${code}/report?format=html`);
      if (page.status !== 200) throw new Error(`GET /v1/programs/${code}/report?format=html -> ${page.status}`);
      const file = join(dir, `${code}.html`);
      writeFileSync(file, String(page.body));
      files.push(file);
    }
    say('   HTML reports (self-contained, with charts):');
    for (const file of files) say(`     ${file}`);

    say('\n6. ADJUST');
    const dripPage = await this.adjust(report, draft.code, run, { http, must }, dir);
    if (dripPage) say(`     ${dripPage}`);
    const smsCell = smsReport.cells[0];
    if (smsCell && smsReport.cells.length === 1) {
      say(
        `   ${smsReport.program.code}: ${pct(smsCell.conversionRate)} of its members bought within ${smsReport.program.attributionWindowDays} ` +
          'days, but with no control cell nobody can say how many would have bought anyway: give its next wave a 10% control.',
      );
    }

    say(`\nEvery run uses new codes (suffix ${run}) in the same database, so the demo can run again at any time;`);
    say('earlier runs stay, with their reports, for comparison. For a clean slate: `npm run services -- down`');
    say('(with local binaries rather than Docker, also delete .closeloop/services/pg), then run the demo again.');
    say(
      `The plan stays in the database: \`npm run start:api\`, then GET /v1/programs/${draft.code}/report with an API key`,
    );
    say('(`npm run --silent cli -- apikey create --role analyst --name me`).');
    say(`Demo finished in ${secs(Date.now() - this.startedAt)}.`);
  }

  /** Waits for a program's list build to finish; the built list. */
  private async builtList(must: Call, code: string): Promise<Json> {
    let list = await must('GET', `/v1/programs/${code}/list`);
    while (list.state === 'queued' || list.state === 'building') {
      await sleep(200);
      list = await must('GET', `/v1/programs/${code}/list`);
    }
    if (list.state !== 'built') throw new Error(`the list build of ${code} ${list.state}: ${list.error}`);
    return list;
  }

  /** The list members (external id, address, cell) from the CSV export. */
  private async members(must: Call, code: string): Promise<Member[]> {
    const csv = String(await must('GET', `/v1/programs/${code}/list.csv`));
    return csv
      .split('\r\n')
      .slice(1)
      .filter(Boolean)
      .map((line) => {
        const [externalId, address, cell] = line.split(',').map((f) => f.replace(/^"|"$/g, '').replace(/^'/, ''));
        return { externalId, address, cell };
      });
  }

  /**
   * Polls the reports until every cell counts what the customers did (opens and clicks travel
   * API buffer -> Redis stream -> worker -> response rows), or they stop changing for a while.
   */
  private async ingested(
    must: Call,
    programs: { code: string; expected: Map<string, Expected> }[],
  ): Promise<[ProgramReport, ProgramReport, boolean]> {
    const deadline = Date.now() + 90_000;
    let last = '';
    let stableSince = Date.now();
    for (;;) {
      const reports: ProgramReport[] = await Promise.all(
        programs.map((p) => must('GET', `/v1/programs/${p.code}/report`)),
      );
      const done = programs.every((p, i) =>
        reports[i].cells.every((c) => {
          const e = p.expected.get(armOf(c.code));
          return (
            !e ||
            (c.opens >= e.opens &&
              c.clicks >= e.clicks &&
              c.unsubscribes >= e.unsubscribes &&
              c.conversions >= e.conversions)
          );
        }),
      );
      if (done) return [reports[0], reports[1], true];
      const now = JSON.stringify(
        reports.map((r) => r.cells.map((c) => [c.opens, c.clicks, c.unsubscribes, c.conversions])),
      );
      if (now !== last) {
        last = now;
        stableSince = Date.now();
      }
      if (Date.now() > deadline || Date.now() - stableSince > 15_000) return [reports[0], reports[1], false];
      await sleep(500);
    }
  }

  private printReport(report: ProgramReport): void {
    const cols = [
      ['cell', 28],
      ['members', 8],
      ['delivered', 9],
      ['opens people/all', 16],
      ['clicks', 7],
      ['unsubs', 6],
      ['conv', 6],
      ['rate (95% CI)', 22],
      ['true rate', 9],
    ] as const;
    const email = report.program.channel === 'email';
    say(`   ${cols.map(([h, w], i) => (i === 0 ? h.padEnd(w) : h.padStart(w))).join(' ')}`);
    for (const c of report.cells) {
      const [lo, hi] = c.conversionRateCi;
      const values = [
        c.name.length > 28 ? `${c.name.slice(0, 27)}…` : c.name,
        n0(c.members),
        c.isControl ? '-' : n0(c.delivered),
        c.isControl || !email ? '-' : `${n0(c.opensHuman)}/${n0(c.opens)}`,
        c.isControl || !email ? '-' : n0(c.clicks),
        c.isControl ? '-' : n0(c.unsubscribes),
        n0(c.conversions),
        `${pct(c.conversionRate, 2)} (${pct(lo, 1)}-${pct(hi, 1)})`,
        TRUE_RATES[armOf(c.code)] !== undefined ? pct(TRUE_RATES[armOf(c.code)], 1) : '-',
      ];
      say(`   ${values.map((v, i) => (i === 0 ? v.padEnd(cols[i][1]) : v.padStart(cols[i][1]))).join(' ')}`);
    }
    const name = (code: string) => {
      const c = report.cells.find((x) => x.code === code)!;
      return c.isControl ? 'control' : armOf(code);
    };
    for (const c of report.comparisons) {
      const p = c.adjustedPValue ?? c.pValue;
      const pText =
        c.smallSample || p === null
          ? 'too few for a test'
          : `p ${p < 0.0001 ? '< 0.0001' : `= ${p.toFixed(4)}`} (Holm)`;
      if (c.metric === 'conversionRate') {
        say(
          `   ${name(c.cell)} vs ${name(c.against)}: conversion ${c.absoluteLift >= 0 ? '+' : '-'}${Math.abs(c.absoluteLift * 100).toFixed(2)} pts ` +
            `(CI ${(c.ci[0] * 100).toFixed(2)} to ${(c.ci[1] * 100).toFixed(2)})` +
            `${c.relativeLift !== null ? `, ${c.relativeLift >= 0 ? '+' : ''}${(c.relativeLift * 100).toFixed(0)}% relative` : ''}, ${pText}` +
            `${c.significant ? ', significant' : ''}`,
        );
      } else {
        say(
          `   ${name(c.cell)} vs ${name(c.against)}: revenue per member ${c.absoluteLift >= 0 ? '+' : '-'}EUR ${Math.abs(c.absoluteLift / 100).toFixed(2)} ` +
            `(CI ${(c.ci[0] / 100).toFixed(2)} to ${(c.ci[1] / 100).toFixed(2)}), ${pText}${c.significant ? ', significant' : ''}`,
        );
      }
    }
    if (report.overall) {
      const o = report.overall;
      say(
        `   across all cells: chi-square ${o.statistic.toFixed(1)} (df ${o.df}), ${o.pValue === null ? 'too few for a test' : `p ${o.pValue < 0.0001 ? '< 0.0001' : `= ${o.pValue.toFixed(4)}`}`}`,
      );
    }
    say(`   verdict: ${report.verdict}`);
  }

  /**
   * Turns the verdict into the next step: roll out the winner, and follow up on those who clicked but did
   * not buy with a drip (entered by the segment of them, a reminder, a 10% holdout to measure it). Returns
   * the drip report's HTML file.
   */
  private async adjust(
    report: ProgramReport,
    programCode: string,
    run: string,
    {
      http,
      must,
    }: { http: (method: string, path: string, body?: unknown) => Promise<{ status: number; body: Json }>; must: Call },
    dir: string,
  ): Promise<string | null> {
    const winners = report.comparisons
      .filter((c) => c.metric === 'conversionRate' && c.significant && c.absoluteLift > 0)
      .sort((a, b) => b.absoluteLift - a.absoluteLift);
    const control = report.cells.find((c) => c.isControl);
    if (winners.length) {
      const best = report.cells.find((c) => c.code === winners[0].cell)!;
      const lift = winners[0].absoluteLift;
      say(
        `   roll out cell ${armOf(best.code)} ("${best.name}"): send its template to the rest of the segment and to the ` +
          `next wave, keeping a 10% control to go on measuring.`,
      );
      say(
        `   expected: about ${n0(lift * 10_000)} more buyers per 10,000 members than without the mailing` +
          `${control ? ` (${pct(best.conversionRate)} vs ${pct(control.conversionRate)})` : ''}.`,
      );
      for (const other of report.comparisons.filter(
        (c) => c.metric === 'conversionRate' && c.cell !== best.code && !c.significant,
      )) {
        say(
          `   cell ${armOf(other.cell)} is not distinguishable from control: drop it in favour of ${armOf(best.code)}.`,
        );
      }
    } else {
      say(
        '   no cell beats the control yet: keep the test running (the verdict above says how many more members it needs).',
      );
    }
    const followUp = await must('POST', '/v1/segments', {
      code: `CLICKED-NOT-BOUGHT-${run}`,
      name: 'Clicked the win-back email but did not buy',
      criteria: {
        all: [
          { field: 'responses.click.count', op: 'gt', value: 0, program: programCode },
          { field: 'responses.conversion.count', op: 'eq', value: 0, program: programCode },
        ],
      },
    });
    const size = await must('GET', `/v1/segments/${followUp.code}`);
    say(
      `   follow-up: segment ${followUp.code} holds the ${n0(size.count)} customers who clicked but did not buy: ` +
        'the audience of a reminder.',
    );
    const template = await must('POST', '/v1/templates', {
      code: `REMIND-${run}`,
      channel: 'email',
      subject: '{{customer.firstName}}, your offer is still waiting',
      html: '<p>Hello {{customer.firstName}},</p><p>The offer you looked at is still yours.</p><p><a href="https://shop.example/offer">See it again</a></p>',
    });
    const created = await must('POST', '/v1/drips', {
      code: `REMIND-${run}`,
      name: 'Reminder for those who clicked but did not buy',
      trigger: { type: 'segment', segment: followUp.code, existing: true },
      exit: { unsubscribed: true, converted: true },
      reentry: 'never',
      steps: [
        {
          id: 'holdout',
          type: 'split',
          seed: 1,
          cells: [
            { code: `REMIND-${run}-R`, name: 'Reminder', weight: 90 },
            { code: `REMIND-${run}-H`, name: 'Held out', weight: 10, isControl: true },
          ],
        },
        { id: 'remind', type: 'send', template: template.code },
      ],
    });
    await must('POST', `/v1/drips/${created.code}/activate`);
    const deadline = Date.now() + 60_000;
    let drip = await must('GET', `/v1/drips/${created.code}`);
    while ((drip.enrollments.total < size.count || drip.enrollments.active > 0) && Date.now() < deadline) {
      await sleep(250);
      drip = await must('GET', `/v1/drips/${created.code}`);
    }
    // Enrollments end once their message is written; wait for the messages to go out too.
    const settled = (r: Json) => r.sent + r.failed + r.heldOut >= r.entered;
    let remind = (await must('GET', `/v1/drips/${created.code}/report`)).steps.find((x: Json) => x.id === 'remind');
    while (!settled(remind) && Date.now() < deadline) {
      await sleep(250);
      remind = (await must('GET', `/v1/drips/${created.code}/report`)).steps.find((x: Json) => x.id === 'remind');
    }
    say(
      `   drip ${created.code}: entered by the segment's ${n0(drip.enrollments.total)} customers, ${n0(remind.sent)} ` +
        `reminders sent, ${n0(remind.heldOut)} held out to measure what the reminder adds (its split's report compares ` +
        'them as conversions come in). Its report:',
    );
    const page = await http('GET', `/v1/drips/${created.code}/report?format=html`);
    if (page.status !== 200) return null;
    const file = join(dir, `drip-${created.code}.html`);
    writeFileSync(file, String(page.body));
    return file;
  }

  private printWaterfall(
    waterfall: { step: string; remaining: number; removed: number; reasons?: Record<string, number> }[],
  ): void {
    for (const w of waterfall) {
      const why =
        w.reasons && Object.keys(w.reasons).length
          ? `  (${Object.entries(w.reasons)
              .map(([k, v]) => `${k} ${n0(v)}`)
              .join(', ')})`
          : '';
      say(
        `   ${w.step.padEnd(10)} ${n0(w.remaining).padStart(7)} remain  ${(w.removed ? `-${n0(w.removed)}` : '0').padStart(7)}${why}`,
      );
    }
  }

  private printCells(
    cells: { code: string; name: string; weight: number; isControl: boolean; responseCode: string }[],
  ) {
    say(`   ${'cell'.padEnd(24)} ${'weight'.padStart(6)}  ${'control'.padEnd(7)}  response code  name`);
    for (const c of cells) {
      say(
        `   ${c.code.padEnd(24)} ${`${c.weight}%`.padStart(6)}  ${(c.isControl ? 'yes' : 'no').padEnd(7)}  ${c.responseCode.padEnd(13)}  ${c.name}`,
      );
    }
  }

  /** A progress bar on stderr, drawn only on a terminal. */
  private bar(format: string): Pick<SingleBar, 'start' | 'increment' | 'stop'> {
    if (!process.stderr.isTTY) return { start: () => undefined, increment: () => undefined, stop: () => undefined };
    return new SingleBar({ format, hideCursor: true, stream: process.stderr }, Presets.shades_classic);
  }

  private startProcess(app: 'api' | 'worker', env: Record<string, string>): void {
    const child = spawn(process.execPath, [join(__dirname, '..', '..', '..', app, 'src', 'main.js')], {
      env: { ...process.env, LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    this.children.push(child);
  }

  private async waitHealthy(base: string): Promise<void> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        if ((await fetch(`${base}/health`)).ok) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`the API did not become healthy at ${base} within 30 s`);
      await sleep(200);
    }
  }

  private async stopChildren(): Promise<void> {
    await Promise.all(
      this.children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
            child.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            child.kill('SIGTERM');
          }),
      ),
    );
  }
}
