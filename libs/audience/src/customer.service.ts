import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash } from 'node:crypto';
import {
  Actor,
  isUuid,
  normalizeEmail,
  normalizePhone,
  NotFoundError,
  validateCountry,
  validateLocale,
  validateTimeZone,
  ValidationError,
} from '@closeloop/core';
import { AuditService, iso } from '@closeloop/persistence';
import { DataSource, EntityManager } from 'typeorm';
import {
  CustomerInputDto,
  CustomerView,
  LIFECYCLE_STAGES,
  LifecycleStage,
  UpsertResultView,
  upsertCounts,
} from './dto/customer.dto';
import { CUSTOMER_INPUT_COLUMNS, mergeCustomers } from './customer-merge';

/** Attributes of one customer an update changed: each one's value before and after (null: absent). */
export interface AttributeChange {
  customerId: string;
  changes: Record<string, { from: unknown; to: unknown }>;
}

/** A customer row ready for the set-based upsert: null means "keep what is stored". */
export interface CustomerRecord {
  external_id: string;
  email: string | null;
  email_given: string | null;
  phone: string | null;
  phone_given: string | null;
  first_name: string | null;
  last_name: string | null;
  locale: string | null;
  time_zone: string | null;
  country: string | null;
  birth_date: string | null;
  attributes: Record<string, unknown>;
  consent_email: boolean | null;
  consent_sms: boolean | null;
  lifecycle_stage: string | null;
}

const text = (v: unknown, field: string, max = 200): string | null => {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string' || v.length > max)
    throw new ValidationError(`${field} must be text of at most ${max} characters`, field);
  return v.trim() || null;
};

const CUSTOMER_FIELDS = [
  'externalId',
  'email',
  'phone',
  'firstName',
  'lastName',
  'locale',
  'timeZone',
  'country',
  'birthDate',
  'lifecycleStage',
  'attributes',
  'consent',
];

export const addressHash = (address: string): Buffer => createHash('sha256').update(address).digest();

/**
 * Checks and normalises one customer (the same rules for the API, CSV imports and the CLI).
 * `at` prefixes field names in errors, e.g. `customers[3].`.
 */
export function toCustomerRecord(input: CustomerInputDto, at = ''): CustomerRecord {
  const f = (name: string) => `${at}${name}`;
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new ValidationError(`${at ? at.slice(0, -1) : 'customer'} must be an object`, at.slice(0, -1) || 'body');
  }
  for (const key of Object.keys(input)) {
    if (!CUSTOMER_FIELDS.includes(key)) throw new ValidationError(`${f(key)} is not a known field`, f(key));
  }
  if (
    input.attributes !== undefined &&
    (typeof input.attributes !== 'object' || input.attributes === null || Array.isArray(input.attributes))
  ) {
    throw new ValidationError(`${f('attributes')} must be an object`, f('attributes'));
  }
  if (input.consent !== undefined) {
    const consent = input.consent as unknown;
    if (typeof consent !== 'object' || consent === null || Array.isArray(consent)) {
      throw new ValidationError(`${f('consent')} must be { "email": bool, "sms": bool }`, f('consent'));
    }
    for (const [k, v] of Object.entries(consent)) {
      if (!['email', 'sms'].includes(k) || typeof v !== 'boolean') {
        throw new ValidationError(
          `${f(`consent.${k}`)} must be true or false (channels: email, sms)`,
          f(`consent.${k}`),
        );
      }
    }
  }
  const externalId = typeof input.externalId === 'number' ? String(input.externalId) : input.externalId;
  if (typeof externalId !== 'string' || !externalId.trim() || externalId.length > 200) {
    throw new ValidationError(`${f('externalId')} is required (text, at most 200 characters)`, f('externalId'));
  }
  const country = input.country == null ? null : validateCountry(input.country, f('country'));
  const email = input.email == null || input.email === '' ? null : normalizeEmail(input.email, f('email'));
  const phone = input.phone == null || input.phone === '' ? null : normalizePhone(input.phone, country, f('phone'));
  let birthDate: string | null = null;
  if (input.birthDate != null) {
    if (
      typeof input.birthDate !== 'string' ||
      !/^\d{4}-\d{2}-\d{2}$/.test(input.birthDate) ||
      Number.isNaN(Date.parse(input.birthDate))
    ) {
      throw new ValidationError(`${f('birthDate')} must be a date such as 1990-04-17`, f('birthDate'));
    }
    birthDate = input.birthDate;
  }
  if (input.lifecycleStage != null && !(LIFECYCLE_STAGES as readonly unknown[]).includes(input.lifecycleStage)) {
    throw new ValidationError(
      `${f('lifecycleStage')} must be one of ${LIFECYCLE_STAGES.join(', ')}`,
      f('lifecycleStage'),
    );
  }
  const attributes = input.attributes ?? {};
  for (const key of Object.keys(attributes)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(key)) {
      throw new ValidationError(
        `${f(`attributes.${key}`)} is not a valid attribute name (letters, digits, _)`,
        f('attributes'),
      );
    }
  }
  return {
    external_id: externalId.trim(),
    email: email?.normalized ?? null,
    email_given: email?.given ?? null,
    phone,
    phone_given: phone ? String(input.phone).trim() : null,
    first_name: text(input.firstName, f('firstName')),
    last_name: text(input.lastName, f('lastName')),
    locale: input.locale == null ? null : validateLocale(input.locale, f('locale')),
    time_zone: input.timeZone == null ? null : validateTimeZone(input.timeZone, f('timeZone')),
    country,
    birth_date: birthDate,
    attributes,
    consent_email: input.consent?.email ?? null,
    consent_sms: input.consent?.sms ?? null,
    lifecycle_stage: (input.lifecycleStage as LifecycleStage | undefined) ?? null,
  };
}

// The API batch arrives as JSON: the last row of a repeated externalId wins.
const BATCH_INPUT_SQL = `
  INSERT INTO customer_input
  SELECT DISTINCT ON (r.external_id) r.*
    FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS e(doc, ord)
    CROSS JOIN LATERAL jsonb_to_record(e.doc) AS r(${CUSTOMER_INPUT_COLUMNS.replace(' NOT NULL', '')})
   ORDER BY r.external_id, e.ord DESC`;

@Injectable()
export class CustomerService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
  ) {}

  /** Upserts one customer and returns it, with whether it was new. */
  async upsertOne(actor: Actor, input: CustomerInputDto): Promise<{ customer: CustomerView; created: boolean }> {
    const record = toCustomerRecord(input);
    const result = await this.upsertRecords(actor, [record]);
    return { customer: await this.get(record.external_id), created: result.inserted === 1 };
  }

  /** Upserts up to 10,000 customers in one statement; any invalid row refuses the whole batch. */
  async upsertBatch(actor: Actor, inputs: CustomerInputDto[]): Promise<UpsertResultView> {
    const records = inputs.map((c, i) => toCustomerRecord(c, `customers[${i}].`));
    return this.upsertRecords(actor, records);
  }

  /**
   * Sets (or, with null, removes) attributes of customers by id, in the caller's transaction: the write
   * automation's update steps and rule actions make. Several updates of one customer apply in order.
   * Returns, per customer whose attributes changed, each changed attribute's value before and after.
   */
  async setAttributes(
    m: EntityManager,
    updates: { customerId: string; set: Record<string, string | number | boolean | null> }[],
    now: Date,
  ): Promise<AttributeChange[]> {
    if (!updates.length) return [];
    const merged = new Map<string, Record<string, string | number | boolean | null>>();
    for (const u of updates) merged.set(u.customerId, { ...(merged.get(u.customerId) ?? {}), ...u.set });
    const ids = [...merged.keys()].sort();
    const rows: { id: string; before: Record<string, unknown>; after: Record<string, unknown> }[] = await m.query(
      // The row as it was comes from a self-join read at the statement's snapshot (a CTE reading the
      // table after the UPDATE would skip the rows the same statement changed).
      `WITH x AS (
         SELECT x.id, x.sets, ARRAY(SELECT jsonb_array_elements_text(x.removes)) AS removes
           FROM unnest($1::uuid[], $2::jsonb[], $3::jsonb[]) AS x(id, sets, removes)),
       upd AS (
         UPDATE customer c SET attributes = (c.attributes || x.sets) - x.removes, updated_at = $4
           FROM x, customer old
          WHERE c.id = x.id AND old.id = c.id AND c.erased_at IS NULL
            AND (c.attributes || x.sets) - x.removes <> c.attributes
         RETURNING c.id, old.attributes AS before, c.attributes AS after)
       SELECT id, before, after FROM upd`,
      [
        ids,
        ids.map((id) =>
          JSON.stringify(Object.fromEntries(Object.entries(merged.get(id)!).filter(([, v]) => v !== null))),
        ),
        ids.map((id) => JSON.stringify(Object.keys(merged.get(id)!).filter((k) => merged.get(id)![k] === null))),
        now,
      ],
    );
    return rows.map((r) => {
      const changes: AttributeChange['changes'] = {};
      for (const key of Object.keys(merged.get(r.id)!)) {
        const from = r.before[key] ?? null;
        const to = r.after[key] ?? null;
        if (JSON.stringify(from) !== JSON.stringify(to)) changes[key] = { from, to };
      }
      return { customerId: r.id, changes };
    });
  }

  private async upsertRecords(actor: Actor, records: CustomerRecord[]): Promise<UpsertResultView> {
    return this.dataSource.transaction(async (m) => {
      await m.query(`CREATE TEMP TABLE customer_input (${CUSTOMER_INPUT_COLUMNS}) ON COMMIT DROP`);
      await m.query(BATCH_INPUT_SQL, [JSON.stringify(records)]);
      const result = upsertCounts(await mergeCustomers((sql, params) => m.query(sql, params), 'customer_input'));
      await this.audit.record(m, actor, {
        action: 'customer.upsert',
        entityType: 'customer',
        entityId: null,
        entityCode: records.length === 1 ? records[0].external_id : null,
        changes: { rows: records.length, ...result },
      });
      return result;
    });
  }

  /** By id or externalId. */
  async get(ref: string): Promise<CustomerView> {
    const rows = await this.dataSource.query(
      `SELECT * FROM customer WHERE ${isUuid(ref) ? 'id = $1' : 'external_id = $1'}`,
      [ref],
    );
    if (!rows.length) throw new NotFoundError('customer', ref);
    return mapCustomer(rows[0]);
  }

  /**
   * Erasure: personal fields are removed, the row (its id, orders and responses) stays so reports
   * stay whole, and its addresses stay suppressed by hash, with the clear address dropped.
   */
  async erase(actor: Actor, ref: string): Promise<void> {
    await this.dataSource.transaction(async (m) => {
      const rows = await m.query(
        `SELECT id, external_id, email, phone, erased_at FROM customer WHERE ${isUuid(ref) ? 'id = $1' : 'external_id = $1'} FOR UPDATE`,
        [ref],
      );
      if (!rows.length) throw new NotFoundError('customer', ref);
      const c = rows[0];
      if (c.erased_at) return;
      for (const [channel, address] of [
        ['email', c.email],
        ['sms', c.phone],
      ] as const) {
        if (!address) continue;
        await m.query(
          `INSERT INTO suppression (channel, address, address_hash, customer_id, reason, source, created_by)
           VALUES ($1, NULL, $2, $3, 'global', 'erasure', $4)
           ON CONFLICT (channel, address_hash) DO NOTHING`,
          [channel, addressHash(address), c.id, actor.name],
        );
      }
      await m.query(`UPDATE suppression SET address = NULL WHERE customer_id = $1 OR address IN ($2, $3)`, [
        c.id,
        c.email ?? '',
        c.phone ?? '',
      ]);
      await m.query(
        `UPDATE customer SET external_id = 'erased:' || id, email = NULL, email_given = NULL, phone = NULL, phone_given = NULL,
                first_name = NULL, last_name = NULL, birth_date = NULL, attributes = '{}'::jsonb,
                consent_email = false, consent_sms = false, erased_at = now(), updated_at = now()
          WHERE id = $1`,
        [c.id],
      );
      await this.audit.record(m, actor, { action: 'customer.erase', entityType: 'customer', entityId: c.id });
    });
  }
}

interface CustomerRow {
  id: string;
  external_id: string;
  email: string | null;
  phone: string | null;
  first_name: string | null;
  last_name: string | null;
  locale: string | null;
  time_zone: string | null;
  country: string | null;
  birth_date: Date | string | null;
  attributes: Record<string, unknown>;
  consent_email: boolean;
  consent_sms: boolean;
  lifecycle_stage: LifecycleStage;
  erased_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export function mapCustomer(r: CustomerRow): CustomerView {
  const birth = r.birth_date instanceof Date ? r.birth_date : r.birth_date ? new Date(r.birth_date) : null;
  return {
    id: r.id,
    externalId: r.external_id,
    email: r.email,
    phone: r.phone,
    firstName: r.first_name,
    lastName: r.last_name,
    locale: r.locale,
    timeZone: r.time_zone,
    country: r.country,
    // A date column comes back as local midnight; format it in local time to keep the calendar day.
    birthDate: birth
      ? `${birth.getFullYear()}-${String(birth.getMonth() + 1).padStart(2, '0')}-${String(birth.getDate()).padStart(2, '0')}`
      : null,
    attributes: r.attributes,
    consent: { email: r.consent_email, sms: r.consent_sms },
    lifecycleStage: r.lifecycle_stage,
    erasedAt: iso(r.erased_at),
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}
