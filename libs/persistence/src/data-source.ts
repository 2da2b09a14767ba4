import { DataSource, DataSourceOptions } from 'typeorm';
import { ENTITIES } from './entities';
import { MIGRATIONS } from './migrations';
import { SnakeNamingStrategy } from './naming-strategy';

export interface DataSourceSettings {
  url: string;
  applicationName?: string;
  poolSize?: number;
  logging?: boolean;
}

export function dataSourceOptions(settings: DataSourceSettings): DataSourceOptions {
  return {
    type: 'postgres',
    url: settings.url,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'schema_migration',
    namingStrategy: new SnakeNamingStrategy(),
    synchronize: false,
    migrationsRun: false,
    logging: settings.logging ?? false,
    applicationName: settings.applicationName ?? 'closeloop',
    extra: { max: settings.poolSize ?? 10 },
  };
}

export function createDataSource(settings: DataSourceSettings): DataSource {
  return new DataSource(dataSourceOptions(settings));
}

// Holds one pooled connection for the lock while migrations use another: needs a pool of 2 or more.
// Migrations may be started by several processes at once (a deploy with N workers): one
// session-level advisory lock serialises them, so each migration runs exactly once.
const MIGRATION_LOCK = 7_311_998_401;

/** Applies pending migrations (idempotent) and returns the names of those it applied. */
export async function runMigrations(dataSource: DataSource): Promise<string[]> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    return applied.map((m) => m.name);
  } finally {
    await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    await runner.release();
  }
}
