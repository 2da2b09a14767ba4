import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Report counters: per-cell figures kept up to date by the database itself as history is written,
 * so a program report reads a few dozen rows instead of scanning sends and responses
 * (ARCHITECTURE.md: counters for speed, history for truth; `npm run cli -- reconcile` compares them).
 *
 * - `response_first` remembers, per program and customer, the first response of each kind (`open`,
 *   `open-human`, `click`, `click-human`, `unsubscribe`, `complaint`, `conversion`, ...): a unique
 *   count goes up only when a row is new here. For `conversion` it also keeps the member's revenue
 *   total, so the sum of squares (for Welch's test of revenue per member) can be kept exactly.
 * - `report_counter` (cell, metric) holds the sums: `unique:<kind>`, `events:<type>`, `revenue`,
 *   `revenue_sq`, `currency:<ISO>` (conversion events per currency), and `state:<send state>` (sends
 *   per state, moved by every state change).
 *
 * Both are maintained by statement-level triggers with transition tables: one set-based upsert per
 * statement that writes responses or changes sends, in the same transaction (exact, never drifting
 * on a crash). Counter rows are upserted in (cell, metric) order, so concurrent writers take their
 * locks in the same order and cannot deadlock on them.
 */
export class ReportCounters1764700000000 implements MigrationInterface {
  name = 'ReportCounters1764700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE response_first (
        program_id uuid NOT NULL,
        customer_id uuid NOT NULL,
        kind text NOT NULL,
        cell_id uuid NOT NULL,
        total bigint NOT NULL DEFAULT 0,
        first_at timestamptz NOT NULL,
        PRIMARY KEY (program_id, customer_id, kind)
      )`);
    await q.query(`
      CREATE TABLE report_counter (
        cell_id uuid NOT NULL,
        metric text NOT NULL,
        program_id uuid NOT NULL,
        value numeric NOT NULL DEFAULT 0,
        PRIMARY KEY (cell_id, metric)
      )`);
    await q.query(`CREATE INDEX report_counter_program_idx ON report_counter (program_id)`);

    await q.query(`
      CREATE FUNCTION report_count_responses() RETURNS trigger LANGUAGE plpgsql AS $fn$
      BEGIN
        WITH kinds AS (
          SELECT n.program_id, n.customer_id, n.cell_id, n.occurred_at, k.kind
            FROM new_rows n
            CROSS JOIN LATERAL (VALUES (n.type),
                                       (CASE WHEN n.type IN ('open', 'click') AND NOT n.machine THEN n.type || '-human' END)) AS k(kind)
           WHERE n.program_id IS NOT NULL AND n.cell_id IS NOT NULL AND k.kind IS NOT NULL AND n.type <> 'conversion'
        ),
        firsts AS (
          INSERT INTO response_first AS f (program_id, customer_id, kind, cell_id, first_at)
          SELECT DISTINCT ON (program_id, customer_id, kind) program_id, customer_id, kind, cell_id, occurred_at
            FROM kinds ORDER BY program_id, customer_id, kind, occurred_at
          ON CONFLICT (program_id, customer_id, kind) DO NOTHING
          RETURNING f.program_id, f.cell_id, f.kind
        ),
        conv AS (
          SELECT program_id, customer_id, (array_agg(cell_id ORDER BY occurred_at))[1] AS cell_id,
                 min(occurred_at) AS first_at, sum(coalesce(value, 0)) AS v
            FROM new_rows
           WHERE type = 'conversion' AND program_id IS NOT NULL AND cell_id IS NOT NULL
           GROUP BY program_id, customer_id
        ),
        conv_firsts AS (
          INSERT INTO response_first AS f (program_id, customer_id, kind, cell_id, total, first_at)
          SELECT program_id, customer_id, 'conversion', cell_id, v, first_at FROM conv
          ON CONFLICT (program_id, customer_id, kind) DO UPDATE SET total = f.total + excluded.total
          RETURNING f.program_id, f.customer_id, f.cell_id, f.total, (xmax = 0) AS inserted
        ),
        conv_deltas AS (
          SELECT cf.program_id, cf.cell_id, cf.total, c.v AS added, cf.inserted
            FROM conv_firsts cf JOIN conv c ON c.program_id = cf.program_id AND c.customer_id = cf.customer_id
        ),
        deltas AS (
          SELECT cell_id, program_id, 'unique:' || kind AS metric, count(*)::numeric AS d FROM firsts GROUP BY 1, 2, 3
          UNION ALL
          SELECT cell_id, program_id, 'unique:conversion', count(*) FILTER (WHERE inserted) FROM conv_deltas GROUP BY 1, 2
          UNION ALL
          -- (x + v)^2 - x^2 for each member's new revenue v on top of its earlier total x.
          SELECT cell_id, program_id, 'revenue_sq', sum(total::numeric * total - (total - added)::numeric * (total - added))
            FROM conv_deltas GROUP BY 1, 2
          UNION ALL
          SELECT cell_id, program_id, 'events:' || type, count(*) FROM new_rows
           WHERE program_id IS NOT NULL AND cell_id IS NOT NULL GROUP BY 1, 2, 3
          UNION ALL
          SELECT cell_id, program_id, 'revenue', sum(value) FROM new_rows
           WHERE type = 'conversion' AND program_id IS NOT NULL AND cell_id IS NOT NULL AND value IS NOT NULL GROUP BY 1, 2
          UNION ALL
          SELECT cell_id, program_id, 'currency:' || currency, count(*) FROM new_rows
           WHERE type = 'conversion' AND program_id IS NOT NULL AND cell_id IS NOT NULL AND currency IS NOT NULL
           GROUP BY 1, 2, 3
        )
        INSERT INTO report_counter AS c (cell_id, metric, program_id, value)
        SELECT cell_id, metric, program_id, sum(d) FROM deltas WHERE d <> 0
         GROUP BY cell_id, metric, program_id ORDER BY cell_id, metric
        ON CONFLICT (cell_id, metric) DO UPDATE SET value = c.value + excluded.value;
        RETURN NULL;
      END
      $fn$`);
    await q.query(`
      CREATE TRIGGER response_counters AFTER INSERT ON response
        REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION report_count_responses()`);

    await q.query(`
      CREATE FUNCTION report_count_sends_inserted() RETURNS trigger LANGUAGE plpgsql AS $fn$
      BEGIN
        INSERT INTO report_counter AS c (cell_id, metric, program_id, value)
        SELECT cell_id, 'state:' || state, program_id, count(*) FROM new_rows
         GROUP BY cell_id, state, program_id ORDER BY cell_id, 'state:' || state
        ON CONFLICT (cell_id, metric) DO UPDATE SET value = c.value + excluded.value;
        RETURN NULL;
      END
      $fn$`);
    await q.query(`
      CREATE FUNCTION report_count_sends_updated() RETURNS trigger LANGUAGE plpgsql AS $fn$
      BEGIN
        INSERT INTO report_counter AS c (cell_id, metric, program_id, value)
        SELECT cell_id, metric, program_id, sum(d) FROM (
          SELECT n.cell_id, 'state:' || n.state AS metric, n.program_id, 1 AS d
            FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE o.state <> n.state
          UNION ALL
          SELECT o.cell_id, 'state:' || o.state, o.program_id, -1
            FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE o.state <> n.state
        ) x GROUP BY cell_id, metric, program_id HAVING sum(d) <> 0 ORDER BY cell_id, metric
        ON CONFLICT (cell_id, metric) DO UPDATE SET value = c.value + excluded.value;
        RETURN NULL;
      END
      $fn$`);
    await q.query(`
      CREATE TRIGGER send_counters_insert AFTER INSERT ON send
        REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION report_count_sends_inserted()`);
    await q.query(`
      CREATE TRIGGER send_counters_update AFTER UPDATE ON send
        REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION report_count_sends_updated()`);

    // History written before this migration: counted once, now.
    await q.query(`
      INSERT INTO report_counter (cell_id, metric, program_id, value)
      SELECT cell_id, 'state:' || state, program_id, count(*) FROM send GROUP BY 1, 2, 3`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER IF EXISTS send_counters_update ON send`);
    await q.query(`DROP TRIGGER IF EXISTS send_counters_insert ON send`);
    await q.query(`DROP TRIGGER IF EXISTS response_counters ON response`);
    await q.query(`DROP FUNCTION IF EXISTS report_count_sends_updated()`);
    await q.query(`DROP FUNCTION IF EXISTS report_count_sends_inserted()`);
    await q.query(`DROP FUNCTION IF EXISTS report_count_responses()`);
    await q.query(`DROP TABLE IF EXISTS report_counter`);
    await q.query(`DROP TABLE IF EXISTS response_first`);
  }
}
