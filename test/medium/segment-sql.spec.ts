import { Client } from 'pg';
import { compileCriteria, CriteriaNode, validateCriteria } from '@closeloop/core';
import { createTestDatabase } from '@closeloop/persistence';

/** The compiled criteria SQL run on the real schema: a change on either side that breaks it fails here. */
describe('segment criteria SQL on PostgreSQL', () => {
  const now = new Date('2026-06-01T00:00:00Z');
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let client: Client;

  beforeAll(async () => {
    db = await createTestDatabase();
    client = new Client({ connectionString: db.url });
    await client.connect();
    await client.query(`
      INSERT INTO customer (external_id, email, phone, country, locale, time_zone, lifecycle_stage, created_at, attributes) VALUES
        ('1', 'ann@example.com', '+4915112345678', 'DE', 'de-DE', 'Europe/Berlin', 'active', '2026-05-20', '{"vip": true, "score": 7}'),
        ('2', 'bob@example.com', NULL, 'AT', 'de-AT', 'Europe/Vienna', 'lapsed', '2025-01-01', '{"score": "high"}'),
        ('3', NULL, '+33612345678', 'FR', 'fr-FR', 'Europe/Paris', 'new', '2026-05-31', '{}'),
        ('4', '50%_off@example.com', NULL, NULL, NULL, NULL, 'prospect', '2024-01-01', '{"score": 2}');
      INSERT INTO customer_order (external_id, customer_id, ordered_at, amount, currency)
        SELECT o.x, c.id, o.at::timestamptz, o.amount, 'EUR'
          FROM (VALUES ('o1', '1', '2026-05-25', 5000), ('o2', '1', '2026-05-26', 7000), ('o3', '2', '2025-06-01', 900))
               AS o(x, customer, at, amount)
          JOIN customer c ON c.external_id = o.customer;
      INSERT INTO response (customer_id, type, occurred_at)
        SELECT c.id, r.type, now() FROM (VALUES ('1', 'click'), ('3', 'open')) AS r(customer, type)
          JOIN customer c ON c.external_id = r.customer;
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
    const { rows } = await client.query(
      `SELECT c.external_id FROM customer c WHERE ${sql} ORDER BY c.external_id`,
      params,
    );
    return rows.map((r: { external_id: string }) => Number(r.external_id));
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
