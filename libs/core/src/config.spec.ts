import { CONFIG_VARIABLES, describeConfig, parseConfig } from './config';
import { ConfigError } from './errors';

const base = { DATABASE_URL: 'postgres://u@127.0.0.1:5432/db', REDIS_URL: 'redis://127.0.0.1:6379' };

describe('configuration', () => {
  it('applies defaults', () => {
    const c = parseConfig(base);
    expect(c).toMatchObject({
      nodeEnv: 'development',
      port: 3000,
      host: '127.0.0.1',
      publicUrl: 'http://localhost:3000',
      logLevel: 'info',
      schedulerIntervalMs: 5000,
      bodyLimit: '1mb',
      importMaxBytes: 2 * 1024 ** 3,
      trackingSecretIsDefault: true,
    });
    expect(c.trackingSecrets).toHaveLength(1);
  });

  it('reads every variable', () => {
    const c = parseConfig({
      ...base,
      NODE_ENV: 'production',
      PORT: '8080',
      PUBLIC_URL: 'https://mail.example.com/',
      SMTP_URL: 'smtps://u:p@smtp.example.com:465',
      SMTP_RATE: '12.5',
      MAIL_FROM: 'Shop <news@example.com>',
      SMPP_URL: 'smpp://id:pw@127.0.0.1:2775',
      SMS_FROM: 'SHOP',
      TRACKING_SECRET: 'first-secret-0123456789, second-secret-0123456789',
      WEBHOOK_SECRET: 'w',
      LOG_LEVEL: 'debug',
      SCHEDULER_INTERVAL_MS: '250',
      IMPORT_MAX_BYTES: '300mb',
    });
    expect(c.importMaxBytes).toBe(300 * 1024 * 1024);
    expect(c).toMatchObject({
      nodeEnv: 'production',
      port: 8080,
      publicUrl: 'https://mail.example.com',
      smtpRate: 12.5,
      trackingSecrets: ['first-secret-0123456789', 'second-secret-0123456789'],
      trackingSecretIsDefault: false,
      logLevel: 'debug',
      schedulerIntervalMs: 250,
    });
  });

  it.each([
    ['DATABASE_URL', { DATABASE_URL: undefined }],
    ['DATABASE_URL', { DATABASE_URL: 'mysql://x/y' }],
    ['DATABASE_URL', { DATABASE_URL: 'not a url' }],
    ['REDIS_URL', { REDIS_URL: '' }],
    ['REDIS_URL', { REDIS_URL: 'http://127.0.0.1' }],
    ['PORT', { PORT: 'eighty' }],
    ['PORT', { PORT: '70000' }],
    ['PUBLIC_URL', { PUBLIC_URL: 'ftp://x' }],
    ['SMTP_URL', { SMTP_URL: 'http://smtp' }],
    ['SMTP_RATE', { SMTP_RATE: '-1' }],
    ['MAIL_FROM', { MAIL_FROM: 'nobody' }],
    ['SMPP_URL', { SMPP_URL: 'smtp://x' }],
    ['TRACKING_SECRET', { TRACKING_SECRET: 'short' }],
    ['TRACKING_SECRET', { NODE_ENV: 'production' }],
    ['LOG_LEVEL', { LOG_LEVEL: 'loud' }],
    ['NODE_ENV', { NODE_ENV: 'staging' }],
    ['SCHEDULER_INTERVAL_MS', { SCHEDULER_INTERVAL_MS: '10' }],
    ['BODY_LIMIT', { BODY_LIMIT: 'huge' }],
    ['IMPORT_MAX_BYTES', { IMPORT_MAX_BYTES: '1tb' }],
    ['IMPORT_MAX_BYTES', { IMPORT_MAX_BYTES: '0mb' }],
    ['HOST', { HOST: 'a b' }],
    ['DRIP_TICK_MS', { DRIP_TICK_MS: '10' }],
    ['DRIP_BATCH_SIZE', { DRIP_BATCH_SIZE: '0' }],
    ['RULE_MAX_DEPTH', { RULE_MAX_DEPTH: '50' }],
    ['OUTBOUND_WEBHOOK_HOSTS', { OUTBOUND_WEBHOOK_HOSTS: 'hooks.example.com,not a host' }],
    ['OUTBOUND_WEBHOOK_ALLOW_PRIVATE', { OUTBOUND_WEBHOOK_ALLOW_PRIVATE: '10.0.0.0' }],
  ])('stops on a bad %s', (variable, over) => {
    let error: unknown;
    try {
      parseConfig({ ...base, ...over });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe(variable);
    expect((error as Error).message).toContain(variable);
  });

  it('reads the automation variables', () => {
    const c = parseConfig({
      ...base,
      DRIP_TICK_MS: '250',
      DRIP_BATCH_SIZE: '2000',
      DRIP_TRIGGER_INTERVAL_MS: '30000',
      RULE_MAX_DEPTH: '3',
      OUTBOUND_WEBHOOK_HOSTS: 'Hooks.Example.com, *.zapier.com',
      OUTBOUND_WEBHOOK_SECRET: 's3cret',
      OUTBOUND_WEBHOOK_ALLOW_PRIVATE: '10.1.2.0/24,fd00::/8',
      OUTBOUND_WEBHOOK_CA: '/etc/ssl/internal-ca.pem',
    });
    expect(c).toMatchObject({
      dripTickMs: 250,
      dripBatchSize: 2000,
      dripTriggerIntervalMs: 30000,
      ruleMaxDepth: 3,
      outboundWebhookHosts: ['hooks.example.com', '*.zapier.com'],
      outboundWebhookSecret: 's3cret',
      outboundWebhookAllowPrivate: ['10.1.2.0/24', 'fd00::/8'],
      outboundWebhookCa: '/etc/ssl/internal-ca.pem',
    });
    expect(parseConfig(base)).toMatchObject({ dripTickMs: 1000, ruleMaxDepth: 5, outboundWebhookHosts: [] });
  });

  it('documents every variable it reads', () => {
    const table = describeConfig();
    for (const v of CONFIG_VARIABLES) expect(table).toContain(`\`${v.name}\``);
    expect(CONFIG_VARIABLES.map((v) => v.name)).toEqual(
      expect.arrayContaining([
        'DATABASE_URL',
        'REDIS_URL',
        'PORT',
        'PUBLIC_URL',
        'SMTP_URL',
        'SMTP_RATE',
        'MAIL_FROM',
        'SMPP_URL',
        'SMS_FROM',
        'TRACKING_SECRET',
        'WEBHOOK_SECRET',
      ]),
    );
  });
});
