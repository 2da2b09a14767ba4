import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Client } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { BenchContext, cli, freePort, Scenario, startApp, stopApp, waitHealthy } from './harness';

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const PHONE_SHARE = 0.5;

const peakRssMb = (pid: number): number => {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Math.round(Number(match[1]) / 1024) : NaN;
};

/** A small seeded generator (mulberry32): the same file on every run. */
function random(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FIRST = ['Anna', 'Ben', 'Chloé', 'Dmitri', 'Eva', 'Farid', 'Grete', 'Hiro', 'Ines', 'Jonas', 'Kai', 'Lea'];
const LAST = ['Müller', 'Schmidt', 'Dubois', "O'Neil", 'Rossi', 'García', 'Novak', 'Berg', 'Smith, Jr.', 'Weber'];
const PLACES = [
  ['DE', 'Europe/Berlin', (r: () => number) => `+49 151 ${String(Math.floor(r() * 1e8)).padStart(8, '0')}`],
  ['FR', 'Europe/Paris', (r: () => number) => `06 ${String(Math.floor(r() * 1e8)).padStart(8, '0')}`],
  ['GB', 'Europe/London', (r: () => number) => `020 7${String(Math.floor(r() * 1e7)).padStart(7, '0')}`],
  ['US', 'America/New_York', (r: () => number) => `(212) 555-${String(Math.floor(r() * 1e4)).padStart(4, '0')}`],
] as const;

/** Writes the seeded file (also used to try the import by hand: `import customers FILE`). */
export async function writeCustomerCsv(path: string, rows = ROWS): Promise<void> {
  const r = random(20261124);
  const out = createWriteStream(path);
  out.write('externalId,email,phone,firstName,lastName,country,timeZone,consentEmail,consentSms,attributes.tier\n');
  let buf = '';
  for (let i = 0; i < rows; i++) {
    const [country, zone, phone] = PLACES[Math.floor(r() * PLACES.length)];
    const first = FIRST[Math.floor(r() * FIRST.length)];
    const last = LAST[Math.floor(r() * LAST.length)];
    const tel = r() < PHONE_SHARE ? phone(r) : '';
    buf +=
      `c${i},${first
        .normalize('NFD')
        .replace(/[^A-Za-z]/g, '')
        .toLowerCase()}.${i}@Example.com,${tel},${first},"${last}",${country},${zone},` +
      `${r() < 0.8 ? 'yes' : 'no'},${tel && r() < 0.5 ? 'yes' : 'no'},${['gold', 'silver', 'bronze'][i % 3]}\n`;
    if (buf.length > 1 << 20) {
      if (!out.write(buf)) await new Promise<void>((res) => out.once('drain', () => res()));
      buf = '';
    }
  }
  out.write(buf);
  await new Promise<void>((res) => out.end(() => res()));
}

/**
 * A seeded 1,000,000-row customer CSV (half with phones in national or international form)
 * uploaded to POST /v1/imports/customers and processed by the worker until `completed`, against
 * a raw `COPY` of the same file into a bare table of text columns. Figures in rows per second.
 */
export const importCustomers: Scenario = {
  name: 'import-customers',
  description: `${ROWS.toLocaleString('en')}-row customer CSV through POST /v1/imports + worker vs raw COPY of the file`,
  async run(ctx: BenchContext) {
    const dir = mkdtempSync(join(tmpdir(), 'closeloop-bench-'));
    const file = join(dir, 'customers.csv');
    ctx.log(`writing ${ROWS.toLocaleString('en')} seeded rows to ${file}`);
    await writeCustomerCsv(file);
    const bytes = statSync(file).size;
    ctx.log(`${(bytes / 1024 / 1024).toFixed(0)} MiB`);
    const db = new Client({ connectionString: ctx.databaseUrl });
    await db.connect();

    const env = { DATABASE_URL: ctx.databaseUrl, REDIS_URL: ctx.redisUrl, QUEUE_PREFIX: `bench${Date.now()}` };
    const out = cli(['apikey', 'create', '--role', 'marketer', '--name', `bench-${Date.now()}`], env)
      .trimEnd()
      .split('\n');
    const key = out[out.length - 1];
    const port = await freePort();
    const api = startApp('api', { ...env, PORT: String(port) });
    const worker = startApp('worker', env);
    try {
      const base = `http://127.0.0.1:${port}`;
      await waitHealthy(base);
      ctx.log('ours: POST /v1/imports/customers (the file streamed), until completed');
      const started = process.hrtime.bigint();
      const res = await fetch(`${base}/v1/imports/customers`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'text/csv', 'content-length': String(bytes) },
        body: createReadStream(file) as unknown as RequestInit['body'],
        duplex: 'half',
      } as RequestInit);
      if (res.status !== 202) throw new Error(`upload -> ${res.status} ${await res.text()}`);
      const { id } = (await res.json()) as { id: string };
      const uploaded = Number(process.hrtime.bigint() - started) / 1e9;
      let imp: { state: string; progress: number; error: string | null; counts: Record<string, number> | null };
      let shown = -1;
      do {
        await new Promise((r) => setTimeout(r, 250));
        imp = (await (
          await fetch(`${base}/v1/imports/${id}`, { headers: { authorization: `Bearer ${key}` } })
        ).json()) as typeof imp;
        const pct = Math.floor(imp.progress * 10) * 10;
        if (pct !== shown) ctx.log(`  ${imp.state} ${pct}%`);
        shown = pct;
      } while (imp.state === 'queued' || imp.state === 'running');
      const ours = Number(process.hrtime.bigint() - started) / 1e9;
      if (imp.state !== 'completed') throw new Error(`import ${imp.state}: ${imp.error}`);
      const rss = peakRssMb(worker.pid!);

      ctx.log('baseline: COPY of the same file into a bare table of text columns');
      await db.query(`CREATE TABLE raw_customers (
        external_id text, email text, phone text, first_name text, last_name text, country text, time_zone text,
        consent_email text, consent_sms text, tier text)`);
      const t0 = process.hrtime.bigint();
      await pipeline(
        createReadStream(file),
        db.query(copyFrom(`COPY raw_customers FROM STDIN WITH (FORMAT csv, HEADER true)`)),
      );
      const baseline = Number(process.hrtime.bigint() - t0) / 1e9;
      const c = imp.counts!;
      return {
        ours: {
          value: ROWS / ours,
          unit: 'rows/s',
          detail:
            `${ours.toFixed(1)} s (upload ${uploaded.toFixed(1)} s): ${c.inserted.toLocaleString('en')} inserted, ` +
            `${c.rejected} rejected; worker peak RSS ${rss} MB; raw COPY ${baseline.toFixed(1)} s`,
        },
        baseline: { value: ROWS / baseline, unit: 'rows/s' },
        higherIsBetter: true,
      };
    } finally {
      await stopApp(worker);
      await stopApp(api);
      await db.end();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
