import 'reflect-metadata';
import { AppConfig } from '@closeloop/core';
import { APP_CONFIG, applyLocalServiceDefaults, exitOnShutdownSignals } from '@closeloop/persistence';
import { createApiApp } from './create-app';

async function main(): Promise<void> {
  applyLocalServiceDefaults();
  const app = await createApiApp();
  const config = app.get<AppConfig>(APP_CONFIG);
  await app.listen(config.port, config.host);
  exitOnShutdownSignals(app, 'closeloop api');
  process.stdout.write(`closeloop api listening on http://${config.host}:${config.port} (docs at /docs)\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
