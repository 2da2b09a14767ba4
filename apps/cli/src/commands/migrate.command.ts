import { InjectDataSource } from '@nestjs/typeorm';
import { Command, CommandRunner } from 'nest-commander';
import { runMigrations } from '@closeloop/persistence';
import { DataSource } from 'typeorm';

@Command({ name: 'migrate', description: 'apply pending database migrations to DATABASE_URL (idempotent)' })
export class MigrateCommand extends CommandRunner {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {
    super();
  }

  async run(): Promise<void> {
    const applied = await runMigrations(this.dataSource);
    process.stdout.write(
      applied.length ? `applied ${applied.length} migration(s): ${applied.join(', ')}\n` : 'database is up to date\n',
    );
  }
}
