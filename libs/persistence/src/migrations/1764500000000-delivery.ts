import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Messaging and delivery: versioned templates, the contact policy, and the send ledger.
 *
 * `send` is the truth about who was contacted (RELIABILITY.md "Sends happen once"): one row per
 * (program, customer) under a unique key, which is the idempotency key of the whole executor. A
 * worker claims a row (queued -> sending, with a claim token and time) in one statement before it
 * talks to SMTP/SMPP; a rerun of the same job finds it claimed or sent and does nothing. Like
 * `list_member`, it has no foreign keys: the dispatcher writes a program's rows set-based from the
 * list it has just read, and a per-row check would cost more than the insert.
 */
export class Delivery1764500000000 implements MigrationInterface {
  name = 'Delivery1764500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE template (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        code text NOT NULL,
        name text NOT NULL,
        channel text NOT NULL CHECK (channel IN ('email', 'sms')),
        version int NOT NULL DEFAULT 1 CHECK (version >= 1),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE UNIQUE INDEX template_code_key ON template (lower(code))`);
    await q.query(`CREATE INDEX template_created_idx ON template (created_at, id)`);
    await q.query(`
      CREATE TABLE template_version (
        template_id uuid NOT NULL REFERENCES template (id) ON DELETE CASCADE,
        version int NOT NULL,
        subject text,
        html text,
        text text,
        body text,
        layout text,
        created_by text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (template_id, version)
      )`);

    // The template versions a program launched with ({ "<template code>": version }), and when
    // its sends were written (or why they could not be).
    await q.query(
      `ALTER TABLE program ADD COLUMN template_pins jsonb, ADD COLUMN dispatched_at timestamptz, ADD COLUMN dispatch_error text`,
    );

    await q.query(`
      CREATE TABLE setting (
        key text PRIMARY KEY,
        value jsonb NOT NULL,
        updated_by text NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);

    await q.query(`
      CREATE TABLE send (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        program_id uuid NOT NULL,
        customer_id uuid NOT NULL,
        cell_id uuid NOT NULL,
        response_code text NOT NULL,
        channel text NOT NULL CHECK (channel IN ('email', 'sms')),
        address text NOT NULL,
        state text NOT NULL CHECK (state IN ('queued', 'sending', 'sent', 'delivered', 'bounced', 'failed',
                                             'suppressed', 'deferred', 'cancelled', 'held_out', 'unknown')),
        attempts int NOT NULL DEFAULT 0,
        not_before timestamptz,
        claim_token uuid,
        claimed_at timestamptz,
        -- Re-sent after its claim expired (a worker died mid-send): the first try may have gone out.
        possible_duplicate boolean NOT NULL DEFAULT false,
        template_version int,
        message_id text,
        -- The destinations of the message's tracked links, by index (the click endpoint looks them up).
        links jsonb,
        segments int,
        error text,
        created_at timestamptz NOT NULL DEFAULT now(),
        sent_at timestamptz,
        delivered_at timestamptz,
        finished_at timestamptz,
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT send_program_customer_key UNIQUE (program_id, customer_id)
      )`);
    // What is still to do, per program: small (terminal rows leave it), read by claims and progress.
    await q.query(
      `CREATE INDEX send_pending_idx ON send (program_id, state, not_before) WHERE state IN ('queued', 'sending', 'deferred')`,
    );
    // Contact history for frequency caps: a customer's recent sends on a channel.
    await q.query(
      `CREATE INDEX send_customer_sent_idx ON send (customer_id, channel, sent_at) WHERE sent_at IS NOT NULL`,
    );
    // SMS delivery receipts name the SMSC's message id of each segment.
    await q.query(`
      CREATE TABLE send_provider_message (
        provider_message_id text PRIMARY KEY,
        send_id uuid NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['send_provider_message', 'send', 'setting', 'template_version', 'template']) {
      await q.query(`DROP TABLE IF EXISTS ${table}`);
    }
    await q.query(
      `ALTER TABLE program DROP COLUMN IF EXISTS template_pins, DROP COLUMN IF EXISTS dispatched_at, DROP COLUMN IF EXISTS dispatch_error`,
    );
  }
}
