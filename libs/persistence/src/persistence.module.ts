import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppConfig } from '@closeloop/core';
import { APP_CONFIG } from './app-config.module';
import { AuditService } from './audit.service';
import { dataSourceOptions } from './data-source';
import { ENTITIES } from './entities';

/** The database connection (one pool per process) and the audit trail. Needs `AppConfigModule.forRoot()` in the app. */
@Global()
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({
        ...dataSourceOptions({ url: config.databaseUrl, applicationName: 'closeloop' }),
        // Fail fast at boot instead of retrying silently for half a minute.
        retryAttempts: 2,
        retryDelay: 500,
      }),
    }),
    TypeOrmModule.forFeature(ENTITIES),
  ],
  providers: [AuditService],
  exports: [TypeOrmModule, AuditService],
})
export class PersistenceModule {}
