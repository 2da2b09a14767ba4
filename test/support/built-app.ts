import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';

export const ROOT = join(__dirname, '..', '..');

/** Compiles apps and libs once per test file (swc, about a second), as `npm run build` does. */
export function buildOnce(): void {
  execFileSync(
    process.execPath,
    [
      join(ROOT, 'node_modules/@swc/cli/bin/swc.js'),
      'apps',
      'libs',
      'bench',
      '-d',
      'dist',
      '--ignore',
      '**/*.spec.ts',
      '--quiet',
    ],
    {
      cwd: ROOT,
      stdio: 'pipe',
    },
  );
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI as an operator would: a real process with its own environment. */
export function runCli(args: string[], env: Record<string, string | undefined>): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'dist/apps/cli/src/main.js'), ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'test', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Resolves when the process has exited (at once if it already has). */
export const exited = (child: ChildProcess): Promise<void> =>
  new Promise<void>((resolve) =>
    child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve()),
  );

/**
 * The built worker as a real process on the given database and environment (the shared REDIS_URL), so a
 * test can kill it with SIGKILL; `workers` collects it for the test's cleanup.
 */
export function startBuiltWorker(
  databaseUrl: string,
  env: Record<string, string>,
  workers: ChildProcess[],
): ChildProcess {
  const child = spawn(process.execPath, [join(ROOT, 'dist/apps/worker/src/main.js')], {
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'test',
      LOG_LEVEL: 'error',
      CLOSELOOP_NO_LOCAL_SERVICES: '1',
      DATABASE_URL: databaseUrl,
      REDIS_URL: process.env.REDIS_URL!,
      ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  workers.push(child);
  return child;
}
