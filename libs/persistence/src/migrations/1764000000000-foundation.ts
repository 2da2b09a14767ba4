import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Foundation: API keys, audit trail, and the planner (campaign -> program -> cells, offers).
 * Codes are unique case-insensitively (unique indexes on lower(code)). Response codes are
 * registered in their own table that is never deleted from, so a code is never issued twice.
 */
export class Foundation1764000000000 implements MigrationInterface {
  name = 'Foundation1764000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE api_key (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name text NOT NULL,
        role text NOT NULL CHECK (role IN ('admin', 'marketer', 'analyst')),
        prefix text NOT NULL UNIQUE,
        secret_hash bytea NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        last_used_at timestamptz,
        revoked_at timestamptz
      )`);
    await q.query(`CREATE UNIQUE INDEX api_key_active_name_key ON api_key (lower(name)) WHERE revoked_at IS NULL`);

    await q.query(`
      CREATE TABLE audit_entry (
        id bigserial PRIMARY KEY,
        at timestamptz NOT NULL DEFAULT now(),
        actor_key_id uuid,
        actor_name text NOT NULL,
        action text NOT NULL,
        entity_type text NOT NULL,
        entity_id uuid,
        entity_code text,
        changes jsonb
      )`);
    await q.query(`CREATE INDEX audit_entry_entity_idx ON audit_entry (entity_type, entity_id, id)`);

    await q.query(`
      CREATE TABLE campaign (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        code text NOT NULL,
        name text NOT NULL,
        description text,
        objective text,
        owner text,
        starts_at timestamptz,
        ends_at timestamptz,
        budget_amount bigint CHECK (budget_amount >= 0),
        budget_currency char(3),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CHECK (ends_at IS NULL OR starts_at IS NULL OR ends_at >= starts_at),
        CHECK ((budget_amount IS NULL) = (budget_currency IS NULL))
      )`);
    await q.query(`CREATE UNIQUE INDEX campaign_code_key ON campaign (lower(code))`);
    await q.query(`CREATE INDEX campaign_created_idx ON campaign (created_at, id)`);

    await q.query(`
      CREATE TABLE offer (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        code text NOT NULL,
        name text NOT NULL,
        description text,
        type text NOT NULL CHECK (type IN ('percent_off', 'amount_off', 'free_shipping', 'gift', 'other')),
        value numeric,
        currency char(3),
        valid_from timestamptz,
        valid_until timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CHECK (valid_until IS NULL OR valid_from IS NULL OR valid_until >= valid_from)
      )`);
    await q.query(`CREATE UNIQUE INDEX offer_code_key ON offer (lower(code))`);
    await q.query(`CREATE INDEX offer_created_idx ON offer (created_at, id)`);

    await q.query(`
      CREATE TABLE program (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        campaign_id uuid NOT NULL REFERENCES campaign (id) ON DELETE RESTRICT,
        code text NOT NULL,
        name text NOT NULL,
        description text,
        channel text NOT NULL CHECK (channel IN ('email', 'sms')),
        state text NOT NULL DEFAULT 'draft'
          CHECK (state IN ('draft', 'scheduled', 'running', 'paused', 'completed', 'cancelled')),
        segment_code text,
        template_code text,
        offer_id uuid REFERENCES offer (id) ON DELETE RESTRICT,
        scheduled_at timestamptz,
        attribution_window_days int NOT NULL DEFAULT 30 CHECK (attribution_window_days BETWEEN 0 AND 3650),
        sample_size int CHECK (sample_size > 0),
        sample_percent numeric(7, 4) CHECK (sample_percent > 0 AND sample_percent <= 100),
        seed int,
        launched_at timestamptz,
        ended_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CHECK (sample_size IS NULL OR sample_percent IS NULL),
        CHECK (state <> 'scheduled' OR scheduled_at IS NOT NULL)
      )`);
    await q.query(`CREATE UNIQUE INDEX program_code_key ON program (lower(code))`);
    await q.query(`CREATE INDEX program_campaign_idx ON program (campaign_id, created_at, id)`);
    await q.query(`CREATE INDEX program_created_idx ON program (created_at, id)`);
    // The scheduler polls this: only scheduled programs are in it, so it stays tiny.
    await q.query(`CREATE INDEX program_due_idx ON program (scheduled_at) WHERE state = 'scheduled'`);

    await q.query(`
      CREATE TABLE response_code (
        code text PRIMARY KEY CHECK (code = upper(code)),
        issued_at timestamptz NOT NULL DEFAULT now()
      )`);

    await q.query(`
      CREATE TABLE cell (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        program_id uuid NOT NULL REFERENCES program (id) ON DELETE CASCADE,
        code text NOT NULL,
        name text NOT NULL,
        weight numeric(9, 4) NOT NULL CHECK (weight > 0 AND weight <= 100),
        is_control boolean NOT NULL DEFAULT false,
        template_code text,
        offer_id uuid REFERENCES offer (id) ON DELETE RESTRICT,
        response_code text NOT NULL UNIQUE REFERENCES response_code (code),
        position int NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE UNIQUE INDEX cell_code_key ON cell (lower(code))`);
    await q.query(`CREATE INDEX cell_program_idx ON cell (program_id, position)`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['cell', 'response_code', 'program', 'offer', 'campaign', 'audit_entry', 'api_key']) {
      await q.query(`DROP TABLE IF EXISTS ${table}`);
    }
  }
}
