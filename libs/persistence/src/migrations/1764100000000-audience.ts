import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Audience: customers, orders, suppressions, segments, and the response history that segment
 * criteria (`responses.<type>.count`) read. Emails are stored normalised next to what was given;
 * phones as E.164. Suppressions match on a SHA-256 of the normalised address, so an erased
 * customer's address stays suppressed without keeping the address itself.
 */
export class Audience1764100000000 implements MigrationInterface {
  name = 'Audience1764100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE customer (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        -- Arrival order: a clock can give two writes the same created_at, this cannot.
        seq bigint GENERATED ALWAYS AS IDENTITY,
        external_id text NOT NULL,
        email text,
        email_given text,
        phone text,
        phone_given text,
        first_name text,
        last_name text,
        locale text,
        time_zone text,
        country text CHECK (country ~ '^[A-Z]{2}$'),
        birth_date date,
        attributes jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(attributes) = 'object'),
        consent_email boolean NOT NULL DEFAULT false,
        consent_sms boolean NOT NULL DEFAULT false,
        lifecycle_stage text NOT NULL DEFAULT 'prospect'
          CHECK (lifecycle_stage IN ('prospect', 'new', 'active', 'at-risk', 'lapsed', 'won-back')),
        erased_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE UNIQUE INDEX customer_external_id_key ON customer (external_id)`);
    await q.query(`CREATE INDEX customer_email_idx ON customer (email) WHERE email IS NOT NULL`);
    await q.query(`CREATE INDEX customer_phone_idx ON customer (phone) WHERE phone IS NOT NULL`);
    await q.query(`CREATE INDEX customer_created_idx ON customer (created_at, id)`);

    await q.query(`
      CREATE TABLE customer_order (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        external_id text NOT NULL UNIQUE,
        customer_id uuid NOT NULL REFERENCES customer (id),
        ordered_at timestamptz NOT NULL,
        amount bigint NOT NULL CHECK (amount >= 0),
        margin bigint,
        currency char(3) NOT NULL,
        offer_code text,
        items jsonb NOT NULL DEFAULT '[]'::jsonb,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX customer_order_customer_idx ON customer_order (customer_id, ordered_at)`);

    await q.query(`
      CREATE TABLE suppression (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        channel text NOT NULL CHECK (channel IN ('email', 'sms')),
        address text,
        address_hash bytea NOT NULL,
        customer_id uuid REFERENCES customer (id),
        reason text NOT NULL CHECK (reason IN ('unsubscribed', 'hard-bounce', 'complaint', 'manual', 'global')),
        source text NOT NULL,
        created_by text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE UNIQUE INDEX suppression_address_key ON suppression (channel, address_hash)`);
    await q.query(`CREATE INDEX suppression_created_idx ON suppression (created_at, id)`);

    await q.query(`
      CREATE TABLE segment (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        code text NOT NULL,
        name text NOT NULL,
        description text,
        criteria jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE UNIQUE INDEX segment_code_key ON segment (lower(code))`);
    await q.query(`CREATE INDEX segment_created_idx ON segment (created_at, id)`);

    // Response history: the tracking issue fills and extends it; segments read it already.
    await q.query(`
      CREATE TABLE response (
        id bigserial PRIMARY KEY,
        customer_id uuid NOT NULL REFERENCES customer (id),
        program_id uuid REFERENCES program (id),
        cell_id uuid REFERENCES cell (id),
        type text NOT NULL,
        occurred_at timestamptz NOT NULL,
        value bigint,
        currency char(3),
        response_code text,
        idempotency_key text UNIQUE,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX response_customer_idx ON response (customer_id, type)`);
    await q.query(`CREATE INDEX response_program_idx ON response (program_id, cell_id, type)`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['response', 'segment', 'suppression', 'customer_order', 'customer']) {
      await q.query(`DROP TABLE IF EXISTS ${table}`);
    }
  }
}
