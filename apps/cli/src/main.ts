import 'reflect-metadata';
import { CommandFactory } from 'nest-commander';
import { DomainError } from '@closeloop/core';
import { CliModule } from './cli.module';
import { applyLocalServiceDefaults, ensureLocalServices } from '@closeloop/persistence';

async function main(): Promise<void> {
  // The demo runs on a fresh machine with nothing running: it starts what it needs.
  if (process.argv[2] === 'demo') await ensureLocalServices();
  applyLocalServiceDefaults();
  await CommandFactory.run(CliModule.forRoot(), {
    logger: ['error', 'warn'],
    errorHandler: (error) => {
      // commander's own exits (help, version, unknown option) arrive here too.
      const code = (error as { exitCode?: number }).exitCode;
      if (typeof code === 'number') process.exit(code);
      throw error;
    },
    // Errors thrown inside a command: print the message (domain errors name the field) and fail.
    serviceErrorHandler: (error) => fail(error),
  });
}

function fail(error: unknown): never {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`${error instanceof DomainError ? '' : 'error: '}${message}\n`);
  process.exit(1);
}

main().catch(fail);
