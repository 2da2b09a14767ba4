export * from './entities';
export { MIGRATIONS } from './migrations';
export { SnakeNamingStrategy } from './naming-strategy';
export { createDataSource, dataSourceOptions, runMigrations } from './data-source';
export type { DataSourceSettings } from './data-source';
export { PersistenceModule } from './persistence.module';
export { AppConfigModule, APP_CONFIG, InjectConfig } from './app-config.module';
export { AuditService } from './audit.service';
export type { AuditRecord, AuditQuery, AuditEntryView } from './audit.service';
export { createTestDatabase } from './testing/test-database';
export { applyLocalServiceDefaults, ensureLocalServices, findRepoRoot } from './local-services';
export { exitOnShutdownSignals } from './shutdown';
export {
  assertCodeFree,
  codeTaken,
  findByRef,
  iso,
  isUniqueViolation,
  keysetPage,
  toDate,
  whereRef,
} from './query-helpers';
export { PageQueryDto } from './page-query.dto';
export type { Page } from './page-query.dto';
export { queueRootOptions } from './queue-options';
