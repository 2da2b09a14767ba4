import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Automation: drips (versioned definitions, enrollments, per-step counters), customer events,
 * business rules and their firings, and what the send ledger needs to carry their messages.
 *
 * - Drips and rules send through the same executor as programs. Their messages are measured like
 *   program cells: automation keeps a program per drip (its main cell), per split of a drip (one
 *   cell per arm, the holdout as the control) and per rule that sends (`program.managed_by`). Those
 *   programs have no campaign of their own unless the drip names one.
 * - `send` is unique per (program, customer, origin, step): a program's own sends have no origin
 *   and stay one per customer; a drip's carry their enrollment and step, a rule's their firing, so a
 *   customer who enters a drip again (a birthday each year) gets each step's message again, once.
 *   NULLS NOT DISTINCT (PostgreSQL 15) keeps the one key for both.
 * - `delivery_outbox`: sends written inside an automation transaction, waiting to be enqueued. The
 *   writer enqueues them right after the commit and deletes the row; the delivery reconcile sweep
 *   enqueues what a crash left between the two, so a message is neither lost nor queued twice in the
 *   ledger (the claim makes a job that runs twice harmless).
 * - `program_member`: the members of programs that grow one customer at a time (a drip's splits, a
 *   rule's cells), with the cell each customer was given: a customer keeps their arm when they enter
 *   again, and a report's denominators come from here (target lists give them for other programs).
 * - `drip_enrollment`: one row per customer and entry, polled by `(drip_id, due_at)` in batches.
 *   A customer has at most one active enrollment per drip unless the drip allows it (`exclusive`),
 *   and at most one per trigger occurrence (`trigger_key`: the event, or the local date of a date
 *   trigger), so a trigger evaluated twice enrolls once.
 */
export class Automation1764800000000 implements MigrationInterface {
  name = 'Automation1764800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE program ALTER COLUMN campaign_id DROP NOT NULL`);
    await q.query(`
      ALTER TABLE program
        ADD COLUMN managed_by text CHECK (managed_by IN ('drip', 'rule')),
        ADD COLUMN managed_id uuid,
        ADD CONSTRAINT program_campaign_or_managed CHECK (campaign_id IS NOT NULL OR managed_by IS NOT NULL),
        ADD CONSTRAINT program_managed_pair CHECK ((managed_by IS NULL) = (managed_id IS NULL))`);
    await q.query(`CREATE INDEX program_managed_idx ON program (managed_id) WHERE managed_id IS NOT NULL`);

    await q.query(`
      CREATE TABLE drip (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        code text NOT NULL,
        name text NOT NULL,
        description text,
        state text NOT NULL DEFAULT 'draft' CHECK (state IN ('draft', 'active', 'paused', 'archived')),
        version int NOT NULL DEFAULT 1 CHECK (version >= 1),
        campaign_id uuid REFERENCES campaign (id) ON DELETE RESTRICT,
        offer_id uuid REFERENCES offer (id) ON DELETE RESTRICT,
        attribution_window_days int NOT NULL DEFAULT 7 CHECK (attribution_window_days BETWEEN 0 AND 3650),
        activated_at timestamptz,
        archived_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE UNIQUE INDEX drip_code_key ON drip (lower(code))`);
    await q.query(`CREATE INDEX drip_created_idx ON drip (created_at, id)`);
    await q.query(`
      CREATE TABLE drip_version (
        drip_id uuid NOT NULL REFERENCES drip (id) ON DELETE CASCADE,
        version int NOT NULL,
        definition jsonb NOT NULL,
        channels text[] NOT NULL,
        -- { "<template code, lower-cased>": version } pinned when the version was first activated
        template_pins jsonb,
        created_by text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        -- Once activated a version never changes: enrollments finish the version they entered.
        activated_at timestamptz,
        PRIMARY KEY (drip_id, version)
      )`);

    await q.query(`
      CREATE TABLE drip_enrollment (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        drip_id uuid NOT NULL,
        version int NOT NULL,
        customer_id uuid NOT NULL,
        state text NOT NULL CHECK (state IN ('active', 'completed', 'exited')),
        step_id text,
        waiting boolean NOT NULL DEFAULT false,
        due_at timestamptz,
        program_id uuid NOT NULL,
        cell_id uuid NOT NULL,
        trigger_key text,
        exclusive boolean NOT NULL,
        depth int NOT NULL DEFAULT 0,
        entered_at timestamptz NOT NULL,
        ended_at timestamptz,
        end_step text,
        exit_reason text,
        -- An enrollment whose step keeps failing (not its batch: it is retried alone) is put off, then ended.
        failures int NOT NULL DEFAULT 0,
        last_error text,
        updated_at timestamptz NOT NULL DEFAULT now(),
        CHECK ((state = 'active') = (due_at IS NOT NULL))
      )`);
    await q.query(
      `CREATE UNIQUE INDEX drip_enrollment_active_key ON drip_enrollment (drip_id, customer_id) WHERE state = 'active' AND exclusive`,
    );
    await q.query(
      `CREATE UNIQUE INDEX drip_enrollment_trigger_key ON drip_enrollment (drip_id, customer_id, trigger_key) WHERE trigger_key IS NOT NULL`,
    );
    // The engine's work list: what is due, per drip, in time order. Ended enrollments leave it.
    await q.query(`CREATE INDEX drip_enrollment_due_idx ON drip_enrollment (drip_id, due_at) WHERE state = 'active'`);
    // Exits by customer (unsubscribes, events) and the re-entry check.
    await q.query(`CREATE INDEX drip_enrollment_customer_idx ON drip_enrollment (customer_id, drip_id)`);
    // What an event (or a repeat of it) enrolled: the answer to POST /v1/events looks it up.
    await q.query(
      `CREATE INDEX drip_enrollment_trigger_idx ON drip_enrollment (trigger_key) WHERE trigger_key IS NOT NULL`,
    );
    // Per drip ('' = the drip as a whole) and step: enrolled, entered, completed, exited, exited:<reason>.
    await q.query(`
      CREATE TABLE drip_counter (
        drip_id uuid NOT NULL,
        step_id text NOT NULL,
        metric text NOT NULL,
        value bigint NOT NULL DEFAULT 0,
        PRIMARY KEY (drip_id, step_id, metric)
      )`);
    // Who was in a segment-triggered drip's segment at the last check (entering = in now, not here).
    await q.query(`
      CREATE TABLE drip_segment_member (
        drip_id uuid NOT NULL,
        customer_id uuid NOT NULL,
        since timestamptz NOT NULL,
        PRIMARY KEY (drip_id, customer_id)
      )`);
    await q.query(`
      CREATE TABLE program_member (
        program_id uuid NOT NULL,
        customer_id uuid NOT NULL,
        cell_id uuid NOT NULL,
        assigned_at timestamptz NOT NULL,
        PRIMARY KEY (program_id, customer_id)
      )`);

    await q.query(`
      CREATE TABLE customer_event (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        -- No foreign key (as send and list_member): events arrive in bursts, the writer checked the customer.
        customer_id uuid NOT NULL,
        type text NOT NULL CHECK (type ~ '^[a-z][a-z0-9_-]{0,39}$'),
        occurred_at timestamptz NOT NULL,
        properties jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(properties) = 'object'),
        depth int NOT NULL DEFAULT 0,
        -- The rule firing whose action raised this event (loops are cut by depth).
        cause_id uuid,
        source text NOT NULL,
        idempotency_key text UNIQUE,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX customer_event_customer_idx ON customer_event (customer_id, type, occurred_at)`);

    await q.query(`
      CREATE TABLE rule (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        code text NOT NULL,
        name text NOT NULL,
        description text,
        state text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'paused')),
        event text NOT NULL,
        definition jsonb NOT NULL,
        program_id uuid,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE UNIQUE INDEX rule_code_key ON rule (lower(code))`);
    await q.query(`CREATE INDEX rule_created_idx ON rule (created_at, id)`);
    await q.query(`CREATE INDEX rule_event_idx ON rule (event) WHERE state = 'active'`);
    await q.query(`
      CREATE TABLE rule_firing (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        rule_id uuid NOT NULL,
        event_id uuid NOT NULL,
        customer_id uuid NOT NULL,
        depth int NOT NULL,
        state text NOT NULL CHECK (state IN ('pending', 'done', 'failed', 'skipped', 'held-out')),
        reason text,
        program_id uuid,
        cell_id uuid,
        -- The rule's actions when it fired: a rerun does these, whatever the rule says by then.
        actions jsonb NOT NULL,
        -- One entry per action: { "type", "status": "done" | "failed" | "skipped", "detail" }
        results jsonb NOT NULL DEFAULT '[]'::jsonb,
        error text,
        created_at timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz,
        UNIQUE (rule_id, event_id)
      )`);
    await q.query(`CREATE INDEX rule_firing_rule_idx ON rule_firing (rule_id, created_at, id)`);
    // The firings of an event (the answer to POST /v1/events, on every request).
    await q.query(`CREATE INDEX rule_firing_event_idx ON rule_firing (event_id)`);
    // Firings whose action job may be lost (a crash between commit and enqueue): the sweep re-enqueues them.
    await q.query(`CREATE INDEX rule_firing_pending_idx ON rule_firing (created_at) WHERE state = 'pending'`);

    await q.query(`ALTER TABLE send ADD COLUMN origin_id uuid, ADD COLUMN step_id text, ADD COLUMN template_code text`);
    await q.query(`ALTER TABLE send DROP CONSTRAINT send_program_customer_key`);
    await q.query(
      `ALTER TABLE send ADD CONSTRAINT send_program_customer_key UNIQUE NULLS NOT DISTINCT (program_id, customer_id, origin_id, step_id)`,
    );
    await q.query(`
      CREATE TABLE delivery_outbox (
        id bigserial PRIMARY KEY,
        program_id uuid NOT NULL,
        send_ids uuid[] NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);

    // Suppressions by customer: the claim and the drip exit check match a customer's suppressions by
    // address hash or by customer, and the second had no index.
    await q.query(`CREATE INDEX suppression_customer_idx ON suppression (customer_id) WHERE customer_id IS NOT NULL`);
    // Conversions recorded lately, for the sweep that ends drips whose goal is reached (opens and
    // clicks, the bulk of responses, are not in this partial index and pay nothing for it).
    await q.query(`CREATE INDEX response_conversion_created_idx ON response (created_at) WHERE type = 'conversion'`);
    // Birthdays by month and day: a date trigger's scan reads only the few days around today.
    await q.query(
      `CREATE INDEX customer_birth_day_idx ON customer (((extract(month FROM birth_date) * 100 + extract(day FROM birth_date))::int))
        WHERE birth_date IS NOT NULL AND erased_at IS NULL`,
    );
    // Dates kept as text in attributes: a value that is not a real date reads as none instead of failing
    // the scan. No exception handler (each would be a subtransaction per row): the day is checked against
    // the length of its month first.
    await q.query(`
      CREATE FUNCTION closeloop_try_date(value text) RETURNS date LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
        SELECT CASE WHEN value ~ '^[1-9]\\d{3}-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])' THEN
          CASE WHEN substring(value FROM 9 FOR 2)::int <= extract(day FROM (
                      make_date(substring(value FROM 1 FOR 4)::int, substring(value FROM 6 FOR 2)::int, 1)
                      + interval '1 month' - interval '1 day'))
               THEN make_date(substring(value FROM 1 FOR 4)::int, substring(value FROM 6 FOR 2)::int,
                              substring(value FROM 9 FOR 2)::int)
          END
        END
      $fn$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION IF EXISTS closeloop_try_date(text)`);
    await q.query(`DROP INDEX IF EXISTS customer_birth_day_idx`);
    await q.query(`DROP INDEX IF EXISTS response_conversion_created_idx`);
    await q.query(`DROP INDEX IF EXISTS suppression_customer_idx`);
    await q.query(`DROP TABLE IF EXISTS delivery_outbox`);
    await q.query(`ALTER TABLE send DROP CONSTRAINT send_program_customer_key`);
    await q.query(`DELETE FROM send WHERE origin_id IS NOT NULL`);
    await q.query(`ALTER TABLE send ADD CONSTRAINT send_program_customer_key UNIQUE (program_id, customer_id)`);
    await q.query(`ALTER TABLE send DROP COLUMN origin_id, DROP COLUMN step_id, DROP COLUMN template_code`);
    for (const table of [
      'rule_firing',
      'rule',
      'customer_event',
      'program_member',
      'drip_segment_member',
      'drip_counter',
      'drip_enrollment',
      'drip_version',
      'drip',
    ]) {
      await q.query(`DROP TABLE IF EXISTS ${table}`);
    }
    await q.query(`DELETE FROM program WHERE managed_by IS NOT NULL`);
    await q.query(`DROP INDEX IF EXISTS program_managed_idx`);
    await q.query(`
      ALTER TABLE program DROP CONSTRAINT program_managed_pair, DROP CONSTRAINT program_campaign_or_managed,
        DROP COLUMN managed_by, DROP COLUMN managed_id`);
    await q.query(`ALTER TABLE program ALTER COLUMN campaign_id SET NOT NULL`);
  }
}
