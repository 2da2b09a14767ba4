import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The checkout's root: the nearest folder above `from` holding tools/services.js. */
export function findRepoRoot(from = __dirname): string | null {
  let dir = from;
  for (;;) {
    if (existsSync(join(dir, 'tools', 'services.js'))) return dir;
    const up = dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

interface ServicesApi {
  ensureServices(options?: {
    quiet?: boolean;
  }): Promise<{ databaseUrl: string; redisUrl: string; startedHere: boolean }>;
  readState?(): { databaseUrl?: string; redisUrl?: string } | null;
}

function servicesApi(): ServicesApi | null {
  const root = findRepoRoot();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return root ? (require(join(root, 'tools', 'services.js')) as ServicesApi) : null;
}

/**
 * Developer convenience at the process edge, before config is validated: when DATABASE_URL or
 * REDIS_URL is unset and `npm run services -- up` is running for this checkout, use its URLs.
 * Set CLOSELOOP_NO_LOCAL_SERVICES=1 to turn this off (production never has the state file).
 */
export function applyLocalServiceDefaults(env: NodeJS.ProcessEnv = process.env): void {
  if (env.CLOSELOOP_NO_LOCAL_SERVICES === '1' || (env.DATABASE_URL && env.REDIS_URL)) return;
  const root = findRepoRoot();
  const stateFile = root && join(root, '.closeloop', 'services', 'state.json');
  if (!stateFile || !existsSync(stateFile)) return;
  try {
    const state = JSON.parse(readFileSync(stateFile, 'utf8')) as { databaseUrl?: string; redisUrl?: string };
    if (!env.DATABASE_URL && state.databaseUrl) env.DATABASE_URL = state.databaseUrl;
    if (!env.REDIS_URL && state.redisUrl) env.REDIS_URL = state.redisUrl;
  } catch {
    // A damaged state file is the services script's business; config validation will name what is missing.
  }
}

/** Starts (or reuses) local PostgreSQL and Redis when the environment names none. */
export async function ensureLocalServices(env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  if (env.DATABASE_URL && env.REDIS_URL) return false;
  const api = servicesApi();
  if (!api) throw new Error('DATABASE_URL and REDIS_URL are unset and tools/services.js is not in this checkout');
  const { databaseUrl, redisUrl, startedHere } = await api.ensureServices({ quiet: false });
  env.DATABASE_URL ??= databaseUrl;
  env.REDIS_URL ??= redisUrl;
  return startedHere;
}
