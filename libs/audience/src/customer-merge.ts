/** Runs one SQL statement and gives its rows (an EntityManager, a QueryRunner or a pg client behind it). */
export type SqlQuery = (sql: string, params?: unknown[]) => Promise<Record<string, unknown>[]>;

/** Customer upserts (API batches and imports) take this lock for their transaction; see mergeCustomers. */
export const CUSTOMER_WRITE_LOCK = 7_310_001;

/** The columns of a customer input table: one normalised row per externalId; null = keep what is stored. */
export const CUSTOMER_INPUT_COLUMNS = `
  external_id text NOT NULL, email text, email_given text, phone text, phone_given text, first_name text,
  last_name text, locale text, time_zone text, country text, birth_date date, attributes jsonb,
  consent_email boolean, consent_sms boolean, lifecycle_stage text`;

export const CUSTOMER_INPUT_NAMES =
  'external_id, email, email_given, phone, phone_given, first_name, last_name, locale, time_zone, country, ' +
  'birth_date, attributes, consent_email, consent_sms, lifecycle_stage';

/**
 * Merges a temp table of customer inputs (unique externalIds) into `customer`, set-based, and
 * counts what happened. Absent fields keep their stored value, attributes merge key by key, a row
 * that would change nothing is not written (so `updated_at` and the counts stay honest).
 *
 * Two statements (update the known, insert the new) under a transaction-scoped advisory lock: one
 * `INSERT ... ON CONFLICT DO UPDATE` cannot tell "consent not given" from "consent false" without
 * a per-row lookup, and the lock keeps two concurrent upserts of a new externalId from racing
 * between the two statements. Call inside a transaction.
 */
export async function mergeCustomers(
  query: SqlQuery,
  table: string,
): Promise<{ inserted: number; updated: number; total: number }> {
  await query(`SELECT pg_advisory_xact_lock(${CUSTOMER_WRITE_LOCK})`);
  const [updated] = await query(`
    WITH u AS (
      UPDATE customer c SET
        email = coalesce(i.email, c.email),
        email_given = coalesce(i.email_given, c.email_given),
        phone = coalesce(i.phone, c.phone),
        phone_given = coalesce(i.phone_given, c.phone_given),
        first_name = coalesce(i.first_name, c.first_name),
        last_name = coalesce(i.last_name, c.last_name),
        locale = coalesce(i.locale, c.locale),
        time_zone = coalesce(i.time_zone, c.time_zone),
        country = coalesce(i.country, c.country),
        birth_date = coalesce(i.birth_date, c.birth_date),
        attributes = c.attributes || coalesce(i.attributes, '{}'::jsonb),
        consent_email = coalesce(i.consent_email, c.consent_email),
        consent_sms = coalesce(i.consent_sms, c.consent_sms),
        lifecycle_stage = coalesce(i.lifecycle_stage, c.lifecycle_stage),
        updated_at = now()
      FROM ${table} i
      WHERE c.external_id = i.external_id AND
        (coalesce(i.email, c.email), coalesce(i.email_given, c.email_given), coalesce(i.phone, c.phone),
         coalesce(i.phone_given, c.phone_given), coalesce(i.first_name, c.first_name),
         coalesce(i.last_name, c.last_name), coalesce(i.locale, c.locale), coalesce(i.time_zone, c.time_zone),
         coalesce(i.country, c.country), coalesce(i.birth_date, c.birth_date),
         c.attributes || coalesce(i.attributes, '{}'::jsonb), coalesce(i.consent_email, c.consent_email),
         coalesce(i.consent_sms, c.consent_sms), coalesce(i.lifecycle_stage, c.lifecycle_stage))
        IS DISTINCT FROM
        (c.email, c.email_given, c.phone, c.phone_given, c.first_name, c.last_name, c.locale, c.time_zone,
         c.country, c.birth_date, c.attributes, c.consent_email, c.consent_sms, c.lifecycle_stage)
      RETURNING 1)
    SELECT count(*)::int AS n FROM u`);
  const [inserted] = await query(`
    WITH n AS (
      INSERT INTO customer (${CUSTOMER_INPUT_NAMES})
      SELECT external_id, email, email_given, phone, phone_given, first_name, last_name, locale, time_zone,
             country, birth_date, coalesce(attributes, '{}'::jsonb), coalesce(consent_email, false),
             coalesce(consent_sms, false), coalesce(lifecycle_stage, 'prospect')
        FROM ${table} i
       WHERE NOT EXISTS (SELECT 1 FROM customer c WHERE c.external_id = i.external_id)
      RETURNING 1)
    SELECT count(*)::int AS n, (SELECT count(*)::int FROM ${table}) AS total FROM n`);
  return { inserted: Number(inserted.n), updated: Number(updated.n), total: Number(inserted.total) };
}
