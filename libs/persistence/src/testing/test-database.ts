import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { createDataSource, runMigrations } from '../data-source';
import { MIGRATIONS } from '../migrations';

const TEMPLATE_LOCK = 7_311_998_402;

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

async function adminQuery<T>(baseUrl: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: withDatabase(baseUrl, 'postgres') });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * A fresh, migrated database for one test file, so files run in parallel without sharing rows.
 * Migrations run once into a template database (named after the migration list, so a new
 * migration makes a new template); each test database is a cheap copy of it.
 */
export async function createTestDatabase(
  baseUrl = process.env.DATABASE_URL,
): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  if (!baseUrl) throw new Error('DATABASE_URL is not set: run the tests through `npm test`');
  // Names and code of the migrations: editing one (before it lands) makes a new template too.
  const fingerprint = MIGRATIONS.map((m) => `${m.name}:${m.prototype.up.toString()}`)
    .join(',')
    .split('')
    .reduce((h, ch) => (h * 31 + ch.charCodeAt(0)) >>> 0, 7)
    .toString(36);
  const template = `cl_template_${fingerprint}`;
  await adminQuery(baseUrl, async (c) => {
    await c.query('SELECT pg_advisory_lock($1)', [TEMPLATE_LOCK]);
    try {
      const { rowCount } = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [template]);
      if (!rowCount) {
        // Built under another name and renamed when complete: a run killed half-way never leaves
        // an unmigrated template behind.
        const building = `${template}_building`;
        await c.query(`DROP DATABASE IF EXISTS ${building} WITH (FORCE)`);
        await c.query(`CREATE DATABASE ${building}`);
        const ds = createDataSource({ url: withDatabase(baseUrl, building), poolSize: 2 });
        await ds.initialize();
        try {
          await runMigrations(ds);
        } finally {
          await ds.destroy();
        }
        await c.query(`ALTER DATABASE ${building} RENAME TO ${template}`);
      }
    } finally {
      await c.query('SELECT pg_advisory_unlock($1)', [TEMPLATE_LOCK]);
    }
  });
  const name = `cl_test_${randomBytes(6).toString('hex')}`;
  await adminQuery(baseUrl, (c) => c.query(`CREATE DATABASE ${name} TEMPLATE ${template}`));
  return {
    name,
    url: withDatabase(baseUrl, name),
    drop: () =>
      adminQuery(baseUrl, async (c) => {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      }),
  };
}
