import { INestApplicationContext } from '@nestjs/common';

/**
 * SIGTERM / SIGINT: stop taking work, let Nest close (HTTP server, BullMQ workers, pools), then
 * exit 0. `close()` waits for in-flight jobs with no limit of its own (RELIABILITY.md "SIGTERM"),
 * so after `timeoutMs` the process exits 1 anyway. Shared by the API and the worker entry points.
 */
export function exitOnShutdownSignals(app: INestApplicationContext, name: string, timeoutMs = 30_000): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`${name}: ${signal}, finishing in-flight work\n`);
    const timer = setTimeout(() => {
      process.stderr.write(`${name}: still busy after ${timeoutMs} ms; exiting\n`);
      process.exit(1);
    }, timeoutMs);
    timer.unref();
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`${name}: error while stopping: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
