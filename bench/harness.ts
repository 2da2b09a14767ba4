import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';

export const ROOT = join(__dirname, '..', '..');
export const DIST = join(ROOT, 'dist');

export interface Figure {
  value: number;
  unit: string;
  detail?: string;
}

export interface ScenarioResult {
  ours: Figure;
  baseline: Figure;
  /** Larger is better (throughput) or smaller is better (latency). */
  higherIsBetter: boolean;
}

export interface Scenario {
  name: string;
  description: string;
  run(ctx: BenchContext): Promise<ScenarioResult>;
}

export interface BenchContext {
  databaseUrl: string;
  redisUrl: string;
  log(line: string): void;
}

export const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

/** Runs a built app (api | worker | cli) as a real process, as an operator would. */
export function startApp(app: 'api' | 'worker', env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, [join(DIST, 'apps', app, 'src', 'main.js')], {
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

/** A baseline server (its source, run with `node -e`) in its own process, listening on PORT. */
export function startBareServer(source: string, port: number): ChildProcess {
  return spawn(process.execPath, ['-e', source], {
    env: { ...process.env, PORT: String(port) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

export function cli(args: string[], env: Record<string, string>): string {
  return execFileSync(process.execPath, [join(DIST, 'apps', 'cli', 'src', 'main.js'), ...args], {
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    encoding: 'utf8',
  });
}

export function stopApp(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export async function waitHealthy(base: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      if ((await fetch(`${base}/health`)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${base} did not become healthy`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export function formatRow(name: string, r: ScenarioResult): string {
  const ratio = r.ours.value / r.baseline.value;
  const fmt = (f: Figure) => `${f.value.toFixed(f.value >= 100 ? 0 : 1)} ${f.unit}`;
  return `${name} | ${fmt(r.ours)} | ${fmt(r.baseline)} | ${ratio.toFixed(2)}x${r.higherIsBetter ? '' : ' (lower is better)'}`;
}

/** The built API on a free port with a marketer key, as every HTTP scenario starts it. */
export interface BenchApi {
  /** The environment the API runs with (give the same to a worker). */
  env: Record<string, string>;
  key: string;
  base: string;
  api: ChildProcess;
  headers: Record<string, string>;
  /** POST JSON with the key; throws on a status of 300 or more. */
  post(path: string, body: unknown): Promise<unknown>;
}

export async function startBenchApi(ctx: BenchContext, extraEnv: Record<string, string> = {}): Promise<BenchApi> {
  const env = {
    DATABASE_URL: ctx.databaseUrl,
    REDIS_URL: ctx.redisUrl,
    QUEUE_PREFIX: `bench${Date.now()}`,
    ...extraEnv,
  };
  const out = cli(['apikey', 'create', '--role', 'marketer', '--name', `bench-${Date.now()}`], env)
    .trimEnd()
    .split('\n');
  const key = out[out.length - 1];
  const port = await freePort();
  const api = startApp('api', { ...env, PORT: String(port) });
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitHealthy(base);
  } catch (error) {
    await stopApp(api);
    throw error;
  }
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${base}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
    if (res.status >= 300) throw new Error(`POST ${path} -> ${res.status} ${await res.text()}`);
    return res.json();
  };
  return { env, key, base, api, headers, post };
}
