import { InjectDataSource } from '@nestjs/typeorm';
import { SingleBar, Presets } from 'cli-progress';
import { simpleParser } from 'mailparser';
import { ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Command, CommandRunner } from 'nest-commander';
import { DataSource } from 'typeorm';
import { ApiKeyService } from '@closeloop/access';
import { findRepoRoot, runMigrations } from '@closeloop/persistence';
import { SmtpSink } from '../../../peers/src/smtp-sink';

const NOT_BUILT_YET = [
  'tracking: opens, clicks, unsubscribes, conversions by response code',
  'measurement: per-cell reports with significance, sample-size planning, scorecard',
  'automation: drips, triggers, business rules',
];

const say = (line = '') => process.stdout.write(`${line}\n`);
const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

/**
 * The loop as far as it is built: real API and worker processes on local services, driven over
 * HTTP as a marketer would. Each later issue extends this to the next step of the loop.
 */
@Command({ name: 'demo', description: 'run the loop end to end on local services (starts them when needed)' })
export class DemoCommand extends CommandRunner {
  private readonly children: ChildProcess[] = [];
  private readonly sink = new SmtpSink();

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly keys: ApiKeyService,
  ) {
    super();
  }

  async run(): Promise<void> {
    try {
      await this.demo();
    } finally {
      await this.stopChildren();
      await this.sink.stop();
    }
  }

  private async demo(): Promise<void> {
    say('Closeloop demo: plan -> list -> send -> respond -> measure -> adjust');
    say('='.repeat(72));
    const applied = await runMigrations(this.dataSource);
    say(`database: ${applied.length ? `applied ${applied.join(', ')}` : 'schema up to date'}`);
    const run = Date.now().toString(36).toUpperCase();
    const { key, apiKey } = await this.keys.create({ name: `demo-${run}`, role: 'marketer' });
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    // A real SMTP conversation with a sink on loopback: every message the worker sends lands here.
    const smtp = await this.sink.start(0);
    const mail = { SMTP_URL: smtp.url, MAIL_FROM: 'Closeloop Shop <news@shop.example>', PUBLIC_URL: base };
    this.startProcess('api', { PORT: String(port), ...mail });
    this.startProcess('worker', { SCHEDULER_INTERVAL_MS: '500', ...mail });
    await this.waitHealthy(base);
    say(`api: ${base} (OpenAPI at ${base}/docs); worker: running; key: ${apiKey.role} "${apiKey.name}"`);
    say(`smtp: a sink at ${smtp.url} stands in for the mail relay`);

    const http = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${base}${path}`, {
        method,
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null };
    };
    const must = async (method: string, path: string, body?: unknown) => {
      const res = await http(method, path, body);
      if (res.status >= 300) throw new Error(`${method} ${path} -> ${res.status} ${JSON.stringify(res.body)}`);
      return res.body;
    };

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
      validUntil: '2026-12-31T23:59:59Z',
    });
    say(`   offer ${offer.code}: ${offer.name}`);
    const html = readFileSync(`${findRepoRoot() ?? process.cwd()}/templates/email/spring-offer.hbs`, 'utf8');
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
    const segmentCode = `LAPSED-BUYERS-${run}`;
    const customers = demoCustomers(run, 2000);
    for (let i = 0; i < customers.length; i += 1000) {
      await must('POST', '/v1/customers', { customers: customers.slice(i, i + 1000) });
    }
    const withEmail = customers.filter((c) => c.email);
    for (let i = 0; i < 40; i++) {
      await must('POST', '/v1/suppressions', {
        channel: 'email',
        address: withEmail[100 + i * 7].email,
        reason: i % 4 ? 'unsubscribed' : 'hard-bounce',
      });
    }
    const segment = await must('POST', '/v1/segments', {
      code: segmentCode,
      name: 'Lapsed buyers in DACH',
      criteria: {
        all: [
          { field: 'country', op: 'in', value: ['DE', 'AT', 'CH'] },
          { field: 'lifecycleStage', op: 'eq', value: 'lapsed' },
          { field: 'attributes.run', op: 'eq', value: run },
        ],
      },
    });
    const counted = await must('GET', `/v1/segments/${segment.code}`);
    say(`   ${customers.length} customers loaded; segment ${segment.code}: ${counted.count} members now`);
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

    say('\n2. LIST');
    await must('POST', `/v1/programs/${draft.code}/list`);
    let list = await must('GET', `/v1/programs/${draft.code}/list`);
    while (list.state === 'queued' || list.state === 'building') {
      await new Promise((r) => setTimeout(r, 200));
      list = await must('GET', `/v1/programs/${draft.code}/list`);
    }
    if (list.state !== 'built') throw new Error(`the list build ${list.state}: ${list.error}`);
    say(`   target list built by the worker (seed ${list.seed}); waterfall:`);
    for (const w of list.waterfall as {
      step: string;
      remaining: number;
      removed: number;
      reasons?: Record<string, number>;
    }[]) {
      const why = w.reasons
        ? `  (${Object.entries(w.reasons)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ')})`
        : '';
      say(`   ${w.step.padEnd(10)} ${String(w.remaining).padStart(6)} remain  ${String(-w.removed).padStart(6)}${why}`);
    }
    for (const c of list.cells as { code: string; members: number; responseCode: string }[]) {
      say(`   cell ${c.code.padEnd(24)} ${String(c.members).padStart(6)} members  response code ${c.responseCode}`);
    }
    say(`   export: GET /v1/programs/${draft.code}/list.csv`);
    say('\n   back to the plan:');
    const at = new Date(Date.now() + 2000).toISOString();
    const scheduled = await must('POST', `/v1/programs/${draft.code}/schedule`, { scheduledAt: at });
    say(`   scheduled for ${scheduled.scheduledAt}; cells are now frozen:`);
    const frozen = await http('POST', `/v1/programs/${draft.code}/cells`, { code: `LAPSED-${run}-D`, weight: 5 });
    say(`   add a cell -> ${frozen.status}: ${frozen.body.message}`);
    let program = scheduled;
    const deadline = Date.now() + 30_000;
    while (program.state === 'scheduled' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      program = await must('GET', `/v1/programs/${draft.code}`);
    }
    if (program.state !== 'running') throw new Error(`the worker did not launch the program (state ${program.state})`);
    say(`   the worker's scheduler launched it at ${program.launchedAt}: state ${program.state}`);

    say('\n3. SEND');
    const bar = new SingleBar(
      { format: '   sending [{bar}] {percentage}% | {value}/{total} settled | {rate} msg/s', hideCursor: true },
      Presets.shades_classic,
    );
    let progress = await must('GET', `/v1/programs/${draft.code}/progress`);
    bar.start(Math.max(progress.total, 1), 0, { rate: 0 });
    const sendDeadline = Date.now() + 120_000;
    while (progress.state === 'running' && !progress.error && Date.now() < sendDeadline) {
      await new Promise((r) => setTimeout(r, 250));
      progress = await must('GET', `/v1/programs/${draft.code}/progress`);
      bar.setTotal(Math.max(progress.total, 1));
      bar.update(progress.total - progress.pending, { rate: progress.ratePerSecond });
    }
    bar.stop();
    if (progress.state !== 'completed') throw new Error(`the program did not complete: ${JSON.stringify(progress)}`);
    const counts = Object.entries(progress.counts as Record<string, number>)
      .filter(([, n]) => n > 0)
      .map(([state, n]) => `${state} ${n}`)
      .join(', ');
    say(`   program ${progress.state}: ${counts}`);
    say(`   the SMTP sink received ${this.sink.count()} messages (control-cell members are held out, never contacted)`);
    const sample = await simpleParser(this.sink.messages()[0].raw);
    say(`   one of them: To ${this.sink.messages()[0].to[0]}, Subject "${sample.subject}"`);
    say(`     Message-ID ${sample.messageId}`);
    const head = this.sink.messages()[0].raw.toString('utf8').split('\r\n\r\n')[0];
    for (const name of ['List-Unsubscribe', 'List-Unsubscribe-Post']) {
      say(`     ${new RegExp(`^${name}: .*$`, 'm').exec(head)?.[0] ?? `${name}: (missing)`}`);
    }
    const links = [...String(sample.html).matchAll(/href="([^"]+\/t\/c\/[^"]+)"/g)].map((x) => x[1]);
    say(`     ${links.length} tracked link(s), e.g. ${links[0] ?? '-'}`);

    say('\n4. RESPOND, 5. MEASURE, 6. ADJUST: not built yet');
    for (const item of NOT_BUILT_YET) say(`   - ${item}`);

    await this.keys.revoke(apiKey.id);
    say(`\nThe plan stays in the database: \`npm run start:api\`, then GET /v1/programs/${draft.code} with an API key`);
    say(
      '(`npm run --silent cli -- apikey create --role analyst --name me`). `npm run services -- down` stops PostgreSQL and Redis.',
    );
    say('Demo finished.');
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
      await new Promise((r) => setTimeout(r, 200));
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

/** A reproducible demo population: countries, stages, consent, missing and shared addresses. */
function demoCustomers(run: string, n: number) {
  let state = 2026;
  const random = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const pick = <T>(xs: T[]) => xs[Math.floor(random() * xs.length)];
  return Array.from({ length: n }, (_, i) => ({
    externalId: `demo-${run}-${i}`,
    email: random() < 0.04 ? undefined : `shopper${i % 1950}.${run.toLowerCase()}@example.com`,
    firstName: pick(['Anna', 'Ben', 'Clara', 'David', 'Eva', 'Felix']),
    country: pick(['DE', 'DE', 'AT', 'CH', 'FR', 'NL']),
    lifecycleStage: pick(['active', 'lapsed', 'lapsed', 'at-risk', 'new']),
    consent: { email: random() < 0.9, sms: false },
    attributes: { run },
  }));
}
