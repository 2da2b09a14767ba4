import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { applyLocalServiceDefaults, exitOnShutdownSignals } from '@closeloop/persistence';
import { WORKER_ID } from './heartbeat.processor';
import { WorkerModule } from './worker.module';

async function main(): Promise<void> {
  applyLocalServiceDefaults();
  const app = await NestFactory.createApplicationContext(WorkerModule.forRoot(), { bufferLogs: true });
  app.useLogger(app.get(Logger));
  await app.init();
  exitOnShutdownSignals(app, `closeloop worker ${WORKER_ID}`);
  process.stdout.write(`closeloop worker ${WORKER_ID} started\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
