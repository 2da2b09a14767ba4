import { Client } from 'pg';
import { compileCriteria, CriteriaNode, validateCriteria } from '@closeloop/core';
import { createTestDatabase } from '@closeloop/persistence';

/**
 * The compiled criteria SQL run on real PostgreSQL. The audience tables arrive with the audience
 * issue; until then this file creates the columns the compiler relies on, so a change on either
 * side that breaks the SQL fails here.
 */
describe('segment criteria SQL on PostgreSQL', () => {
  const now = new Date('2026-06-01T00:00:00Z');
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let client: Client;

  beforeAll(async () => {
    db = await createTestDatabase();
    client = new Client({ connectionString: db.url });
    await client.connect();
    await client.query(`
      CREATE TABLE customer (id int PRIMARY KEY, email text, phone text, country text, locale text, time_zone text,
        lifecycle_stage text, created_at timestamptz NOT NULL, attributes jsonb NOT NULL DEFAULT '{}');
      CREATE TABLE customer_order (customer_id int, ordered_at timestamptz, amount bigint);
      CREATE TABLE response (customer_id int, program_id uuid, type text);
      INSERT INTO customer VALUES
        (1, 'ann@example.com', '+4915112345678', 'DE', 'de-DE', 'Europe/Berlin', 'active', '2026-05-20', '{"vip": true, "score": 7}'),
        (2, 'bob@example.com', NULL, 'AT', 'de-AT', 'Europe/Vienna', 'lapsed', '2025-01-01', '{"score": "high"}'),
        (3, NULL, '+33612345678', 'FR', 'fr-FR', 'Europe/Paris', 'new', '2026-05-31', '{}'),
        (4, '50%_off@example.com', NULL, NULL, NULL, NULL, 'prospect', '2024-01-01', '{"score": 2}');
      INSERT INTO customer_order VALUES (1, '2026-05-25', 5000), (1, '2026-05-26', 7000), (2, '2025-06-01', 900);
      INSERT INTO response VALUES (1, NULL, 'click'), (3, NULL, 'open');
    `);
  });
  afterAll(async () => {
    await client?.end();
    await db?.drop();
  });

  const saved: Record<string, CriteriaNode> = { buyers: { field: 'orders.count', op: 'gte', value: 1 } };
  async function members(criteria: unknown): Promise<number[]> {
    const { sql, params } = compileCriteria(validateCriteria(criteria), {
      now,
      segment: (code) => saved[code] ?? null,
    });
    const { rows } = await client.query(`SELECT c.id FROM customer c WHERE ${sql} ORDER BY c.id`, params);
    return rows.map((r: { id: number }) => r.id);
  }

  it.each([
    [{ field: 'country', op: 'in', value: ['DE', 'AT'] }, [1, 2]],
    [{ field: 'country', op: 'neq', value: 'DE' }, [2, 3, 4]],
    [{ field: 'country', op: 'notIn', value: ['DE'] }, [2, 3, 4]],
    [{ field: 'email', op: 'notExists' }, [3]],
    [{ field: 'email', op: 'contains', value: '50%_' }, [4]],
    [{ field: 'email', op: 'startsWith', value: 'AN' }, [1]],
    [{ field: 'orders.count', op: 'gte', value: 2 }, [1]],
    [{ field: 'orders.total', op: 'gt', value: 500 }, [1, 2]],
    [{ field: 'orders.lastAt', op: 'beforeDays', value: 180 }, [2]],
    [{ field: 'createdAt', op: 'withinDays', value: 14 }, [1, 3]],
    [{ field: 'createdAt', op: 'lt', value: '2025-06-01' }, [2, 4]],
    [{ field: 'attributes.vip', op: 'eq', value: true }, [1]],
    [{ field: 'attributes.score', op: 'gt', value: 3 }, [1]],
    [{ field: 'attributes.score', op: 'eq', value: 'high' }, [2]],
    [{ field: 'attributes.score', op: 'exists' }, [1, 2, 4]],
    [{ field: 'attributes.vip', op: 'notExists' }, [2, 3, 4]],
    [{ field: 'responses.click.count', op: 'gte', value: 1 }, [1]],
    [{ not: { field: 'country', op: 'eq', value: 'DE' } }, [2, 3, 4]],
    [
      {
        any: [
          { field: 'lifecycleStage', op: 'eq', value: 'new' },
          { op: 'inSegment', value: 'buyers' },
        ],
      },
      [1, 2, 3],
    ],
    [
      {
        all: [
          { op: 'inSegment', value: 'buyers' },
          { field: 'country', op: 'eq', value: 'AT' },
        ],
      },
      [2],
    ],
  ])('%j selects %j', async (criteria, expected) => {
    expect(await members(criteria)).toEqual(expected);
  });
});
