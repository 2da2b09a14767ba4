import { Command, CommandRunner, Option, SubCommand } from 'nest-commander';
import { ApiKeyService } from '@closeloop/access';

@SubCommand({ name: 'create', description: 'create a key; prints it once, alone on the last line' })
export class ApiKeyCreateCommand extends CommandRunner {
  constructor(private readonly keys: ApiKeyService) {
    super();
  }

  async run(_: string[], options: { role?: string; name?: string }): Promise<void> {
    const { key, apiKey } = await this.keys.create({ name: options.name, role: options.role });
    process.stdout.write(`created ${apiKey.role} key "${apiKey.name}" (id ${apiKey.id}); it is shown only now:\n`);
    process.stdout.write(`${key}\n`);
  }

  @Option({ flags: '-r, --role <role>', description: 'admin | marketer | analyst', required: true })
  parseRole(value: string): string {
    return value;
  }

  @Option({ flags: '-n, --name <name>', description: 'who or what uses the key', required: true })
  parseName(value: string): string {
    return value;
  }
}

@SubCommand({ name: 'list', description: 'list keys (never their secrets)' })
export class ApiKeyListCommand extends CommandRunner {
  constructor(private readonly keys: ApiKeyService) {
    super();
  }

  async run(_: string[], options: { all?: boolean }): Promise<void> {
    const keys = await this.keys.list(options.all ?? false);
    const rows = keys.map((k) => [
      k.id,
      k.name,
      k.role,
      `cl_${k.prefix}_…`,
      k.createdAt,
      k.lastUsedAt ?? '-',
      k.revokedAt ?? '-',
    ]);
    const header = ['id', 'name', 'role', 'key', 'created', 'last used', 'revoked'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    for (const row of [header, ...rows]) {
      process.stdout.write(`${row.map((cell, i) => cell.padEnd(widths[i])).join('  ')}\n`);
    }
  }

  @Option({ flags: '-a, --all', description: 'include revoked keys' })
  parseAll(): boolean {
    return true;
  }
}

@SubCommand({ name: 'revoke', arguments: '<key>', description: 'revoke a key by id, name or prefix' })
export class ApiKeyRevokeCommand extends CommandRunner {
  constructor(private readonly keys: ApiKeyService) {
    super();
  }

  async run([ref]: string[]): Promise<void> {
    const key = await this.keys.revoke(ref);
    process.stdout.write(`revoked ${key.role} key "${key.name}" (id ${key.id})\n`);
  }
}

@Command({
  name: 'apikey',
  description: 'manage API keys',
  subCommands: [ApiKeyCreateCommand, ApiKeyListCommand, ApiKeyRevokeCommand],
})
export class ApiKeyCommand extends CommandRunner {
  async run(): Promise<void> {
    this.command.help();
  }
}
