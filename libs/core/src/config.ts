import { parseByteSize } from './csv-import';
import { ConfigError } from './errors';
import { DEFAULT_START_WORDS, DEFAULT_STOP_WORDS, parseKeywordList } from './sms-keywords';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

export interface AppConfig {
  nodeEnv: 'development' | 'test' | 'production';
  databaseUrl: string;
  redisUrl: string;
  port: number;
  host: string;
  publicUrl: string;
  smtpUrl?: string;
  smtpRate?: number;
  mailFrom?: string;
  smppUrl?: string;
  smsFrom?: string;
  trackingSecrets: string[];
  trackingSecretIsDefault: boolean;
  webhookSecret?: string;
  logLevel: LogLevel;
  schedulerIntervalMs: number;
  bodyLimit: string;
  importMaxBytes: number;
  queuePrefix: string;
  smsRate?: number;
  smtpPoolSize: number;
  smtpDomainConcurrency: number;
  deliveryConcurrency: number;
  sendBatchSize: number;
  sendClaimTimeoutMs: number;
  smsStopWords: string[];
  smsStartWords: string[];
  trustProxy: number;
  dripTickMs: number;
  dripBatchSize: number;
  dripTriggerIntervalMs: number;
  ruleMaxDepth: number;
  outboundWebhookHosts: string[];
  outboundWebhookSecret?: string;
  outboundWebhookAllowPrivate: string[];
  outboundWebhookCa?: string;
}

export interface ConfigVariable {
  name: string;
  required: string;
  default: string;
  meaning: string;
}

/** Every variable the processes read, for the README's configuration table. */
export const CONFIG_VARIABLES: ConfigVariable[] = [
  {
    name: 'DATABASE_URL',
    required: 'yes*',
    default: 'local services',
    meaning: 'PostgreSQL connection string (postgres://...)',
  },
  {
    name: 'REDIS_URL',
    required: 'yes*',
    default: 'local services',
    meaning: 'Redis connection string (redis:// or rediss://)',
  },
  { name: 'NODE_ENV', required: 'no', default: 'development', meaning: 'development, test or production' },
  { name: 'PORT', required: 'no', default: '3000', meaning: 'API port' },
  { name: 'HOST', required: 'no', default: '127.0.0.1', meaning: 'API bind address (0.0.0.0 in a container)' },
  {
    name: 'PUBLIC_URL',
    required: 'no',
    default: 'http://localhost:PORT',
    meaning: 'base URL put into tracking links and unsubscribe headers',
  },
  { name: 'SMTP_URL', required: 'no', default: '-', meaning: 'smtp://user:pass@host:587, smtps:// for implicit TLS' },
  { name: 'SMTP_RATE', required: 'no', default: 'unlimited', meaning: 'messages per second across all workers' },
  {
    name: 'SMTP_POOL_SIZE',
    required: 'no',
    default: '5',
    meaning: 'pooled SMTP connections per worker process',
  },
  {
    name: 'SMTP_DOMAIN_CONCURRENCY',
    required: 'no',
    default: '10',
    meaning: 'messages in flight to one recipient domain per worker process',
  },
  { name: 'MAIL_FROM', required: 'no', default: '-', meaning: 'default From address: an email or "Name <email>"' },
  { name: 'SMPP_URL', required: 'no', default: '-', meaning: 'smpp://system_id:password@host:2775' },
  { name: 'SMS_FROM', required: 'no', default: '-', meaning: 'default SMS sender id' },
  { name: 'SMS_RATE', required: 'no', default: 'unlimited', meaning: 'SMS (segments) per second across all workers' },
  {
    name: 'DELIVERY_CONCURRENCY',
    required: 'no',
    default: '4',
    meaning: 'send batches a worker process works on at once',
  },
  { name: 'SEND_BATCH_SIZE', required: 'no', default: '50', meaning: 'sends per delivery job (1-1000)' },
  {
    name: 'SEND_CLAIM_TIMEOUT_MS',
    required: 'no',
    default: '120000',
    meaning: 'a send claimed this long ago by a worker that died is sent again (counted as a possible duplicate)',
  },
  {
    name: 'TRACKING_SECRET',
    required: 'in production',
    default: 'a fixed dev secret',
    meaning: 'HMAC secrets for tracking tokens, comma-separated, each >= 16 chars; the first signs, all verify',
  },
  {
    name: 'WEBHOOK_SECRET',
    required: 'no',
    default: '- (webhooks refused)',
    meaning: 'HMAC secret(s) for /v1/webhooks/delivery-events, comma-separated for rotation',
  },
  {
    name: 'SMS_STOP_WORDS',
    required: 'no',
    default: DEFAULT_STOP_WORDS.join(','),
    meaning: 'inbound SMS that unsubscribe the number (the whole message, any case)',
  },
  {
    name: 'SMS_START_WORDS',
    required: 'no',
    default: DEFAULT_START_WORDS.join(','),
    meaning: 'inbound SMS that lift an SMS unsubscribe',
  },
  {
    name: 'TRUST_PROXY',
    required: 'no',
    default: '0',
    meaning:
      'reverse proxies in front of the API whose X-Forwarded-For is believed (client IP for bot flags and limits)',
  },
  {
    name: 'LOG_LEVEL',
    required: 'no',
    default: 'info (warn in test)',
    meaning: 'fatal, error, warn, info, debug or trace',
  },
  {
    name: 'SCHEDULER_INTERVAL_MS',
    required: 'no',
    default: '5000',
    meaning: 'how often the worker launches due scheduled programs (>= 100)',
  },
  {
    name: 'QUEUE_PREFIX',
    required: 'no',
    default: 'closeloop',
    meaning: 'Redis key prefix of every queue (use {closeloop} for Redis Cluster)',
  },
  { name: 'BODY_LIMIT', required: 'no', default: '1mb', meaning: 'largest JSON request body; larger gets 413' },
  {
    name: 'DRIP_TICK_MS',
    required: 'no',
    default: '1000',
    meaning: 'how often the worker advances drip enrollments whose wait has ended (>= 50)',
  },
  {
    name: 'DRIP_BATCH_SIZE',
    required: 'no',
    default: '500',
    meaning: 'drip enrollments advanced per transaction (1-10000)',
  },
  {
    name: 'DRIP_TRIGGER_INTERVAL_MS',
    required: 'no',
    default: '60000',
    meaning: 'how often segment and date triggers are evaluated and goal exits swept (>= 100)',
  },
  {
    name: 'RULE_MAX_DEPTH',
    required: 'no',
    default: '5',
    meaning: 'events raised by rule actions this many levels deep fire no more rules (loop guard, 1-20)',
  },
  {
    name: 'OUTBOUND_WEBHOOK_HOSTS',
    required: 'no',
    default: '- (none)',
    meaning: 'hosts rule webhooks may call, comma-separated (exact, or *.example.com); https only',
  },
  {
    name: 'OUTBOUND_WEBHOOK_SECRET',
    required: 'with webhooks',
    default: '-',
    meaning: 'HMAC secret that signs rule webhooks (Closeloop-Signature, as inbound webhooks)',
  },
  {
    name: 'OUTBOUND_WEBHOOK_ALLOW_PRIVATE',
    required: 'no',
    default: '- (none)',
    meaning:
      'CIDRs rule webhooks may reach although private or loopback (e.g. 10.1.2.0/24); link-local and cloud metadata never',
  },
  {
    name: 'OUTBOUND_WEBHOOK_CA',
    required: 'no',
    default: '-',
    meaning: 'a PEM file of CA certificates trusted for rule webhooks besides the system ones',
  },
  {
    name: 'IMPORT_MAX_BYTES',
    required: 'no',
    default: '2gb',
    meaning: 'largest CSV upload to /v1/imports (b, kb, mb, gb); larger gets 413',
  },
];

const DEV_TRACKING_SECRET = 'closeloop-development-tracking-secret';
const LOG_LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];

type Env = Record<string, string | undefined>;

const value = (env: Env, name: string): string | undefined => {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
};

function url(env: Env, name: string, protocols: string[], required: true): string;
function url(env: Env, name: string, protocols: string[], required?: false): string | undefined;
function url(env: Env, name: string, protocols: string[], required = false): string | undefined {
  const v = value(env, name);
  if (v === undefined) {
    if (required) throw new ConfigError(name, 'is missing');
    return undefined;
  }
  let parsed: URL;
  try {
    parsed = new URL(v);
  } catch {
    throw new ConfigError(name, `is not a URL (expected ${protocols.map((p) => `${p}//...`).join(' or ')})`);
  }
  if (!protocols.includes(parsed.protocol) || !parsed.hostname) {
    throw new ConfigError(name, `must be a ${protocols.map((p) => `${p}//`).join(' or ')} URL with a host`);
  }
  return v;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const v = value(env, name);
  if (v === undefined) return fallback;
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) {
    throw new ConfigError(name, `must be a whole number from ${min} to ${max}, got "${v}"`);
  }
  return Number(v);
}

function rate(env: Env, name: string): number | undefined {
  const raw = value(env, name);
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) {
    throw new ConfigError(name, `must be a positive number of messages per second, got "${raw}"`);
  }
  return n;
}

function keywords(env: Env, name: string, fallback: readonly string[]): string[] {
  const raw = value(env, name);
  return raw === undefined ? [...fallback] : parseKeywordList(raw, name);
}

function list(env: Env, name: string): string[] {
  return (value(env, name) ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

const HOST_PATTERN =
  /^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]{0,62})?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62})?)*$|^\[?[0-9a-fA-F:.]+\]?$/;
const CIDR = /^([0-9.]+\/\d{1,2}|[0-9a-fA-F:.]+\/\d{1,3})$/;

/** Validates the environment once, at boot; anything missing or malformed names its variable. */
export function parseConfig(env: Env): AppConfig {
  const nodeEnvRaw = value(env, 'NODE_ENV') ?? 'development';
  if (!['development', 'test', 'production'].includes(nodeEnvRaw)) {
    throw new ConfigError('NODE_ENV', `must be development, test or production, got "${nodeEnvRaw}"`);
  }
  const nodeEnv = nodeEnvRaw as AppConfig['nodeEnv'];
  const databaseUrl = url(env, 'DATABASE_URL', ['postgres:', 'postgresql:'], true);
  const redisUrl = url(env, 'REDIS_URL', ['redis:', 'rediss:'], true);
  const port = integer(env, 'PORT', 3000, 0, 65535);
  const host = value(env, 'HOST') ?? '127.0.0.1';
  if (!/^[\w.:-]+$/.test(host)) throw new ConfigError('HOST', `is not a host name or address: "${host}"`);
  const publicUrl = (url(env, 'PUBLIC_URL', ['http:', 'https:']) ?? `http://localhost:${port}`).replace(/\/+$/, '');
  const smtpUrl = url(env, 'SMTP_URL', ['smtp:', 'smtps:']);
  const smtpRate = rate(env, 'SMTP_RATE');
  const smsRate = rate(env, 'SMS_RATE');
  const mailFrom = value(env, 'MAIL_FROM');
  if (mailFrom !== undefined && !/^(?:[^<>\r\n]*<)?[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+>?$/.test(mailFrom)) {
    throw new ConfigError('MAIL_FROM', `must be an email address or "Name <email>", got "${mailFrom}"`);
  }
  const smppUrl = url(env, 'SMPP_URL', ['smpp:', 'smpps:']);
  const smsFrom = value(env, 'SMS_FROM');
  const secretsRaw = value(env, 'TRACKING_SECRET');
  let trackingSecrets: string[];
  if (secretsRaw === undefined) {
    if (nodeEnv === 'production') throw new ConfigError('TRACKING_SECRET', 'is required in production');
    trackingSecrets = [DEV_TRACKING_SECRET];
  } else {
    trackingSecrets = secretsRaw.split(',').map((s) => s.trim());
    if (trackingSecrets.some((s) => s.length < 16)) {
      throw new ConfigError('TRACKING_SECRET', 'must be comma-separated secrets of at least 16 characters each');
    }
  }
  const logLevelRaw = value(env, 'LOG_LEVEL') ?? (nodeEnv === 'test' ? 'warn' : 'info');
  if (!LOG_LEVELS.includes(logLevelRaw as LogLevel)) {
    throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}, got "${logLevelRaw}"`);
  }
  const bodyLimit = value(env, 'BODY_LIMIT') ?? '1mb';
  if (!/^\d+(?:b|kb|mb)$/i.test(bodyLimit)) {
    throw new ConfigError('BODY_LIMIT', `must be a size such as 512kb or 1mb, got "${bodyLimit}"`);
  }
  const importMaxRaw = value(env, 'IMPORT_MAX_BYTES') ?? '2gb';
  const importMaxBytes = parseByteSize(importMaxRaw);
  if (!importMaxBytes) {
    throw new ConfigError('IMPORT_MAX_BYTES', `must be a size such as 500mb or 2gb, got "${importMaxRaw}"`);
  }
  const queuePrefix = value(env, 'QUEUE_PREFIX') ?? 'closeloop';
  if (!/^[\w{}:.-]{1,64}$/.test(queuePrefix)) {
    throw new ConfigError('QUEUE_PREFIX', `may hold letters, digits and _ { } : . - only, got "${queuePrefix}"`);
  }
  return {
    nodeEnv,
    queuePrefix,
    databaseUrl,
    redisUrl,
    port,
    host,
    publicUrl,
    smtpUrl,
    smtpRate,
    mailFrom,
    smppUrl,
    smsFrom,
    trackingSecrets,
    trackingSecretIsDefault: secretsRaw === undefined,
    webhookSecret: value(env, 'WEBHOOK_SECRET'),
    logLevel: logLevelRaw as LogLevel,
    schedulerIntervalMs: integer(env, 'SCHEDULER_INTERVAL_MS', 5000, 100, 86_400_000),
    bodyLimit,
    importMaxBytes,
    smsRate,
    smtpPoolSize: integer(env, 'SMTP_POOL_SIZE', 5, 1, 100),
    smtpDomainConcurrency: integer(env, 'SMTP_DOMAIN_CONCURRENCY', 10, 1, 1000),
    deliveryConcurrency: integer(env, 'DELIVERY_CONCURRENCY', 4, 1, 100),
    sendBatchSize: integer(env, 'SEND_BATCH_SIZE', 50, 1, 1000),
    sendClaimTimeoutMs: integer(env, 'SEND_CLAIM_TIMEOUT_MS', 120_000, 1000, 86_400_000),
    smsStopWords: keywords(env, 'SMS_STOP_WORDS', DEFAULT_STOP_WORDS),
    smsStartWords: keywords(env, 'SMS_START_WORDS', DEFAULT_START_WORDS),
    trustProxy: integer(env, 'TRUST_PROXY', 0, 0, 10),
    dripTickMs: integer(env, 'DRIP_TICK_MS', 1000, 50, 3_600_000),
    dripBatchSize: integer(env, 'DRIP_BATCH_SIZE', 500, 1, 10_000),
    dripTriggerIntervalMs: integer(env, 'DRIP_TRIGGER_INTERVAL_MS', 60_000, 100, 86_400_000),
    ruleMaxDepth: integer(env, 'RULE_MAX_DEPTH', 5, 1, 20),
    outboundWebhookHosts: webhookHosts(env),
    outboundWebhookSecret: value(env, 'OUTBOUND_WEBHOOK_SECRET'),
    outboundWebhookAllowPrivate: webhookCidrs(env),
    outboundWebhookCa: value(env, 'OUTBOUND_WEBHOOK_CA'),
  };
}

function webhookHosts(env: Env): string[] {
  const hosts = list(env, 'OUTBOUND_WEBHOOK_HOSTS').map((h) => h.toLowerCase());
  const bad = hosts.find((h) => !HOST_PATTERN.test(h));
  if (bad) throw new ConfigError('OUTBOUND_WEBHOOK_HOSTS', `holds "${bad}", which is not a host name or *.domain`);
  return hosts;
}

function webhookCidrs(env: Env): string[] {
  const cidrs = list(env, 'OUTBOUND_WEBHOOK_ALLOW_PRIVATE');
  const bad = cidrs.find((c) => !CIDR.test(c));
  if (bad)
    throw new ConfigError('OUTBOUND_WEBHOOK_ALLOW_PRIVATE', `holds "${bad}", which is not a CIDR such as 10.0.0.0/8`);
  return cidrs;
}

/** The configuration table as markdown (kept in the README). */
export function describeConfig(): string {
  const rows = CONFIG_VARIABLES.map((v) => `| \`${v.name}\` | ${v.required} | ${v.default} | ${v.meaning} |`);
  return ['| variable | required | default | meaning |', '| --- | --- | --- | --- |', ...rows].join('\n');
}
