import { DynamicModule, Module } from '@nestjs/common';
import { AccessModule } from '@closeloop/access';
import { AnalyticsModule } from '@closeloop/analytics';
import { ImportModule, LifecycleService } from '@closeloop/audience';
import { AppConfigModule, PersistenceModule } from '@closeloop/persistence';
import { ApiKeyCommand, ApiKeyCreateCommand, ApiKeyListCommand, ApiKeyRevokeCommand } from './commands/apikey.command';
import { DemoCommand } from './commands/demo.command';
import { MigrateCommand } from './commands/migrate.command';
import { ImportCommand } from './commands/import.command';
import { LifecycleCommand } from './commands/lifecycle.command';
import { ReconcileCommand } from './commands/reconcile.command';

@Module({
  imports: [PersistenceModule, AccessModule, ImportModule, AnalyticsModule],
  providers: [
    MigrateCommand,
    ApiKeyCommand,
    ApiKeyCreateCommand,
    ApiKeyListCommand,
    ApiKeyRevokeCommand,
    DemoCommand,
    ImportCommand,
    ReconcileCommand,
    // Provided here, not through AudienceModule: the CLI has no queues to register.
    LifecycleService,
    LifecycleCommand,
  ],
})
export class CliModule {
  /** Validates the environment now, at boot, and wires the app to it. */
  static forRoot(): DynamicModule {
    return { module: CliModule, imports: [AppConfigModule.forRoot()] };
  }
}
