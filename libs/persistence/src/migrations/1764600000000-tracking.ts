import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Response tracking: the response history gains what every report needs to be recomputed from it
 * (the send it came from, where it came from, whether a machine made it) and the keys that make
 * ingestion exactly-once.
 *
 * - `event_id`: each tracking event (open pixel hit, click) gets a UUID when the API receives it;
 *   the worker writes events with ON CONFLICT (event_id) DO NOTHING, so a batch written twice
 *   (a worker died between commit and acknowledging the stream) adds nothing.
 * - `idempotency_key` (already unique): conversions (`key:<idempotency key>` from `POST /v1/responses`
 *   and imported orders alike), and one per send for `unsubscribe:`, `bounce:` and `complaint:`.
 * - Sends are found per customer for attribution (control members included, whose `held_out` send
 *   has no `sent_at`), so the customer index of `send` now covers every row, not only sent ones.
 */
export class Tracking1764600000000 implements MigrationInterface {
  name = 'Tracking1764600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE response
        ADD COLUMN send_id uuid,
        ADD COLUMN event_id uuid UNIQUE,
        ADD COLUMN source text NOT NULL DEFAULT 'api',
        ADD COLUMN machine boolean NOT NULL DEFAULT false,
        ADD COLUMN machine_reason text,
        ADD COLUMN link int,
        ADD COLUMN detail jsonb,
        ADD CONSTRAINT response_type_check CHECK (type ~ '^[a-z][a-z0-9_-]{0,39}$')`);
    await q.query(`CREATE INDEX response_send_idx ON response (send_id, type) WHERE send_id IS NOT NULL`);
    await q.query(`CREATE INDEX response_occurred_idx ON response (occurred_at)`);
    // What providers said about sends (webhooks): kept as they came, unique per provider event.
    await q.query(`
      CREATE TABLE delivery_event (
        provider text NOT NULL,
        event_id text NOT NULL,
        send_id uuid,
        type text NOT NULL,
        occurred_at timestamptz NOT NULL,
        detail text,
        received_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (provider, event_id)
      )`);
    await q.query(`CREATE INDEX delivery_event_send_idx ON delivery_event (send_id) WHERE send_id IS NOT NULL`);
    await q.query(`DROP INDEX send_customer_sent_idx`);
    await q.query(`CREATE INDEX send_customer_idx ON send (customer_id, channel, sent_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS send_customer_idx`);
    await q.query(
      `CREATE INDEX send_customer_sent_idx ON send (customer_id, channel, sent_at) WHERE sent_at IS NOT NULL`,
    );
    await q.query(`DROP TABLE IF EXISTS delivery_event`);
    await q.query(`DROP INDEX IF EXISTS response_occurred_idx`);
    await q.query(`DROP INDEX IF EXISTS response_send_idx`);
    await q.query(`
      ALTER TABLE response
        DROP CONSTRAINT IF EXISTS response_type_check,
        DROP COLUMN IF EXISTS send_id, DROP COLUMN IF EXISTS event_id, DROP COLUMN IF EXISTS source,
        DROP COLUMN IF EXISTS machine, DROP COLUMN IF EXISTS machine_reason, DROP COLUMN IF EXISTS link,
        DROP COLUMN IF EXISTS detail`);
  }
}
