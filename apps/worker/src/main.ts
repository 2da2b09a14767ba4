import 'reflect-metadata';
import { applyLocalServiceDefaults } from '@closeloop/persistence';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { WORKER_ID } from './heartbeat.processor';
import { WorkerModule } from './worker.module';

// worker.close() waits for running jobs with no limit of its own (RELIABILITY.md "SIGTERM").
const SHUTDOWN_TIMEOUT_MS = 30_000;

async function main(): Promise<void> {
  applyLocalServiceDefaults();
  const app = await NestFactory.createApplicationContext(WorkerModule.forRoot(), { bufferLogs: true });
  app.useLogger(app.get(Logger));
  await app.init();
  process.stdout.write(`closeloop worker ${WORKER_ID} started\n`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`closeloop worker ${WORKER_ID}: ${signal}, finishing in-flight jobs\n`);
    const timer = setTimeout(() => {
      process.stderr.write(`closeloop worker: jobs still running after ${SHUTDOWN_TIMEOUT_MS} ms; exiting\n`);
      process.exit(1);
    }, SHUTDOWN_TIMEOUT_MS);
    timer.unref();
    app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
