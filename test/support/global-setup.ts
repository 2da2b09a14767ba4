/* eslint-disable @typescript-eslint/no-require-imports */
import { join } from 'node:path';

/** Jest globalSetup: make sure PostgreSQL and Redis are there when the env names none. */
export default async function globalSetup(): Promise<void> {
  if (process.env.DATABASE_URL && process.env.REDIS_URL) return;
  const services = require(join(__dirname, '..', '..', 'tools', 'services.js'));
  const { databaseUrl, redisUrl } = await services.ensureServices({ quiet: true });
  process.env.DATABASE_URL ??= databaseUrl;
  process.env.REDIS_URL ??= redisUrl;
}
