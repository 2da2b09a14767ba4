import {
  copyValue,
  csvAttributeValue,
  ImportColumn,
  ImportKind,
  normalizeAddress,
  parseCsvBoolean,
  ValidationError,
} from '@closeloop/core';
import { CustomerInputDto } from '../dto/customer.dto';
import { SUPPRESSION_REASONS } from '../dto/suppression.dto';
import { toCustomerRecord } from '../customer.service';
import { CUSTOMER_INPUT_COLUMNS, CUSTOMER_INPUT_NAMES, mergeCustomers, SqlQuery } from '../customer-merge';
import { mergeOrders, ORDER_INPUT_COLUMNS, toOrderRecord } from '../order.service';

type Value = string | number | boolean | null;

/** How one kind of import turns a CSV row into a staged row, and merges the staged rows. */
export interface ImportKindSpec {
  /** Column definitions of the input table (one row per key). */
  columns: string;
  /** The key a repeated row is recognised by (the last in the file wins). */
  key: string;
  /** The staged values, in `columns` order; throws a ValidationError naming the field. */
  toValues(fields: Map<string, string>, attributes: Map<string, string>): Value[];
  /** Rejects rows that are only invalid against stored data, set-based (import_column, import_reason). */
  check?(query: SqlQuery, stage: string, headerOf: (field: string) => string): Promise<void>;
  merge(
    query: SqlQuery,
    input: string,
    actorName: string,
  ): Promise<{ inserted: number; updated: number; total: number }>;
}

const given = (fields: Map<string, string>, field: string): string | undefined => {
  const v = fields.get(field);
  return v === undefined || v.trim() === '' ? undefined : v;
};

const customers: ImportKindSpec = {
  columns: CUSTOMER_INPUT_COLUMNS,
  key: 'external_id',
  toValues(fields, attributes) {
    const input: Record<string, unknown> = {};
    for (const [field, value] of fields) {
      if (value.trim() === '') continue;
      if (field === 'consentEmail' || field === 'consentSms') {
        const consent = (input.consent ??= {}) as Record<string, boolean | undefined>;
        consent[field === 'consentEmail' ? 'email' : 'sms'] = parseCsvBoolean(value, field);
      } else input[field] = value;
    }
    if (attributes.size) {
      const attrs: Record<string, unknown> = {};
      for (const [name, value] of attributes) if (value.trim() !== '') attrs[name] = csvAttributeValue(value);
      input.attributes = attrs;
    }
    const r = toCustomerRecord(input as unknown as CustomerInputDto);
    return [
      r.external_id,
      r.email,
      r.email_given,
      r.phone,
      r.phone_given,
      r.first_name,
      r.last_name,
      r.locale,
      r.time_zone,
      r.country,
      r.birth_date,
      Object.keys(r.attributes).length ? JSON.stringify(r.attributes) : null,
      r.consent_email,
      r.consent_sms,
      r.lifecycle_stage,
    ];
  },
  merge: (query, input) => mergeCustomers(query, input),
};

const wholeNumber = (v: string | undefined): unknown =>
  v !== undefined && /^-?\d{1,18}$/.test(v.trim()) ? Number(v) : v;

const orders: ImportKindSpec = {
  columns: ORDER_INPUT_COLUMNS,
  key: 'external_id',
  toValues(fields) {
    const r = toOrderRecord({
      externalId: given(fields, 'externalId'),
      customerExternalId: given(fields, 'customerExternalId'),
      orderedAt: given(fields, 'orderedAt')?.trim(),
      amount: wholeNumber(given(fields, 'amount')),
      margin: wholeNumber(given(fields, 'margin')),
      currency: given(fields, 'currency')?.trim().toUpperCase(),
      offerCode: given(fields, 'offerCode'),
    });
    return [r.external_id, r.customer_external_id, r.ordered_at, r.amount, r.margin, r.currency, r.offer_code, null];
  },
  async check(query, stage, headerOf) {
    await query(
      `UPDATE ${stage} s SET import_column = $1,
              import_reason = 'customerExternalId "' || left(s.customer_external_id, 60) || '" is not a customer'
        WHERE s.import_reason IS NULL AND NOT EXISTS (
          SELECT 1 FROM customer c WHERE c.external_id = s.customer_external_id AND c.erased_at IS NULL)`,
      [headerOf('customerExternalId')],
    );
  },
  merge: (query, input) => mergeOrders(query, input),
};

const suppressions: ImportKindSpec = {
  columns: 'channel text NOT NULL, address text NOT NULL, reason text NOT NULL, source text NOT NULL',
  key: 'channel, address',
  toValues(fields) {
    const channel = given(fields, 'channel')?.trim().toLowerCase();
    if (channel !== 'email' && channel !== 'sms') throw new ValidationError('channel must be email or sms', 'channel');
    const address = normalizeAddress(channel, given(fields, 'address') ?? '', 'address');
    const reason = given(fields, 'reason')?.trim().toLowerCase();
    if (!(SUPPRESSION_REASONS as readonly (string | undefined)[]).includes(reason)) {
      throw new ValidationError(`reason must be one of ${SUPPRESSION_REASONS.join(', ')}`, 'reason');
    }
    const source = given(fields, 'source')?.trim() ?? 'import';
    if (source.length > 100) throw new ValidationError('source must be at most 100 characters', 'source');
    return [channel, address, reason!, source];
  },
  async merge(query, input, actorName) {
    // An address suppressed already stays as it was (its first reason kept): counted unchanged.
    const [row] = await query(
      `WITH n AS (
         INSERT INTO suppression (channel, address, address_hash, reason, source, created_by)
         SELECT channel, address, sha256(convert_to(address, 'UTF8')), reason, source, $1 FROM ${input}
         ON CONFLICT (channel, address_hash) DO NOTHING RETURNING 1)
       SELECT count(*)::int AS n, (SELECT count(*)::int FROM ${input}) AS total FROM n`,
      [actorName],
    );
    return { inserted: Number(row.n), updated: 0, total: Number(row.total) };
  },
};

export const IMPORT_KIND_SPECS: Record<ImportKind, ImportKindSpec> = { customers, orders, suppressions };

/** Column names of a spec's input table, in order. */
export const columnNames = (columns: string): string[] =>
  columns
    .split(',')
    .map((c) => c.trim().split(/\s+/)[0])
    .filter(Boolean);

/** A staged row in COPY text format: line, column, reason, then the values (or nulls for a rejected row). */
export function stageLine(
  line: number,
  values: Value[] | null,
  width: number,
  column?: string,
  reason?: string,
): string {
  const head = `${line}\t${copyValue(column ?? null)}\t${copyValue(reason ?? null)}`;
  const rest = values ? values.map(copyValue).join('\t') : new Array(width).fill('\\N').join('\t');
  return `${head}\t${rest}\n`;
}

export type { ImportColumn };
export { CUSTOMER_INPUT_NAMES };
