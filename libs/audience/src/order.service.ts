import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Actor, validateCurrency, validateMinorUnits, ValidationError } from '@closeloop/core';
import { AuditService } from '@closeloop/persistence';
import { DataSource } from 'typeorm';
import { UpsertResultView, upsertCounts } from './dto/customer.dto';
import { SqlQuery } from './customer-merge';

export interface OrderRecord {
  external_id: string;
  customer_external_id: string;
  ordered_at: string;
  amount: number;
  margin: number | null;
  currency: string;
  offer_code: string | null;
  items: { sku: string; quantity: number; price: number }[];
}

const ORDER_FIELDS = [
  'externalId',
  'customerExternalId',
  'orderedAt',
  'amount',
  'margin',
  'currency',
  'offerCode',
  'items',
];

/** Checks one order (API now, CSV imports next); `at` prefixes field names, e.g. `orders[3].`. */
export function toOrderRecord(input: unknown, at = ''): OrderRecord {
  const f = (name: string) => `${at}${name}`;
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new ValidationError(`${at.slice(0, -1) || 'order'} must be an object`, at.slice(0, -1) || 'body');
  }
  const o = input as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!ORDER_FIELDS.includes(key)) throw new ValidationError(`${f(key)} is not a known field`, f(key));
  }
  const text = (name: string, required: boolean): string | null => {
    const v = o[name];
    if (v === undefined || v === null || v === '') {
      if (required) throw new ValidationError(`${f(name)} is required`, f(name));
      return null;
    }
    if (typeof v !== 'string' || v.length > 200)
      throw new ValidationError(`${f(name)} must be text of at most 200 characters`, f(name));
    return v.trim();
  };
  const orderedAt = o.orderedAt;
  if (typeof orderedAt !== 'string' || Number.isNaN(Date.parse(orderedAt)) || !/^\d{4}-\d{2}-\d{2}/.test(orderedAt)) {
    throw new ValidationError(`${f('orderedAt')} must be an ISO 8601 time`, f('orderedAt'));
  }
  const items = o.items ?? [];
  if (!Array.isArray(items) || items.length > 1000)
    throw new ValidationError(`${f('items')} must be an array of at most 1,000 items`, f('items'));
  return {
    external_id: text('externalId', true)!,
    customer_external_id: text('customerExternalId', true)!,
    ordered_at: new Date(orderedAt).toISOString(),
    amount: validateMinorUnits(o.amount, f('amount')),
    margin: o.margin === undefined || o.margin === null ? null : validateMargin(o.margin, f('margin')),
    currency: validateCurrency(o.currency, f('currency')),
    offer_code: text('offerCode', false),
    items: items.map((item: unknown, i) => {
      const g = (name: string) => f(`items[${i}].${name}`);
      const it = (typeof item === 'object' && item !== null ? item : {}) as Record<string, unknown>;
      if (typeof it.sku !== 'string' || !it.sku.trim()) throw new ValidationError(`${g('sku')} is required`, g('sku'));
      if (!Number.isSafeInteger(it.quantity) || (it.quantity as number) < 1) {
        throw new ValidationError(`${g('quantity')} must be a whole number of at least 1`, g('quantity'));
      }
      return { sku: it.sku.trim(), quantity: it.quantity as number, price: validateMinorUnits(it.price, g('price')) };
    }),
  };
}

/** Margin may be negative (a loss), but is whole minor units. */
function validateMargin(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw new ValidationError(`${field} must be a whole number of minor units`, field);
  }
  return value;
}

/** The columns of an order input table (one row per order externalId). */
export const ORDER_INPUT_COLUMNS = `
  external_id text NOT NULL, customer_external_id text NOT NULL, ordered_at timestamptz NOT NULL,
  amount bigint NOT NULL, margin bigint, currency text NOT NULL, offer_code text, items jsonb`;

// The API batch arrives as JSON: the last row of a repeated externalId wins.
const BATCH_INPUT_SQL = `
  INSERT INTO order_input
  SELECT DISTINCT ON (r.external_id) r.*
    FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS e(doc, ord)
    CROSS JOIN LATERAL jsonb_to_record(e.doc) AS r(${ORDER_INPUT_COLUMNS.replace(/ NOT NULL/g, '')})
   ORDER BY r.external_id, e.ord DESC`;

/**
 * Merges a table of order inputs (unique externalIds, customers known) into `customer_order`:
 * an order is (re)attached to its customer by externalId, and a row that changes nothing is not
 * written. One statement, safe under concurrency (orders have no "keep what is stored" fields).
 */
export async function mergeOrders(
  query: SqlQuery,
  table: string,
): Promise<{ inserted: number; updated: number; total: number }> {
  const [row] = await query(`
    WITH written AS (
      INSERT INTO customer_order AS o (external_id, customer_id, ordered_at, amount, margin, currency, offer_code, items)
      SELECT i.external_id, c.id, i.ordered_at, i.amount, i.margin, i.currency, i.offer_code, coalesce(i.items, '[]'::jsonb)
        FROM ${table} i JOIN customer c ON c.external_id = i.customer_external_id
      ON CONFLICT (external_id) DO UPDATE SET
        customer_id = excluded.customer_id, ordered_at = excluded.ordered_at, amount = excluded.amount,
        margin = excluded.margin, currency = excluded.currency, offer_code = excluded.offer_code, items = excluded.items
      WHERE (o.customer_id, o.ordered_at, o.amount, o.margin, o.currency, o.offer_code, o.items)
            IS DISTINCT FROM (excluded.customer_id, excluded.ordered_at, excluded.amount, excluded.margin,
                              excluded.currency, excluded.offer_code, excluded.items)
      RETURNING (xmax = 0) AS inserted
    )
    SELECT count(*) FILTER (WHERE inserted)::int AS inserted, count(*) FILTER (WHERE NOT inserted)::int AS updated,
           (SELECT count(*)::int FROM ${table}) AS total
      FROM written`);
  return { inserted: Number(row.inserted), updated: Number(row.updated), total: Number(row.total) };
}

/** Orders: purchases that feed segment criteria (`orders.*`), value models and, later, conversions. */
@Injectable()
export class OrderService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
  ) {}

  /** Upserts up to 10,000 orders by externalId; any invalid row, or an unknown customer, refuses the batch. */
  async upsertBatch(actor: Actor, inputs: unknown[]): Promise<UpsertResultView> {
    const records = inputs.map((o, i) => toOrderRecord(o, `orders[${i}].`));
    return this.dataSource.transaction(async (m) => {
      const known: { external_id: string }[] = await m.query(
        `SELECT external_id FROM customer WHERE external_id = ANY($1) AND erased_at IS NULL`,
        [[...new Set(records.map((r) => r.customer_external_id))]],
      );
      const found = new Set(known.map((k) => k.external_id));
      const missing = records.findIndex((r) => !found.has(r.customer_external_id));
      if (missing >= 0) {
        const field = `orders[${missing}].customerExternalId`;
        throw new ValidationError(`${field} "${records[missing].customer_external_id}" is not a customer`, field);
      }
      await m.query(`CREATE TEMP TABLE order_input (${ORDER_INPUT_COLUMNS}) ON COMMIT DROP`);
      await m.query(BATCH_INPUT_SQL, [JSON.stringify(records)]);
      const result = upsertCounts(await mergeOrders((sql, params) => m.query(sql, params), 'order_input'));
      await this.audit.record(m, actor, {
        action: 'order.upsert',
        entityType: 'order',
        entityId: null,
        changes: { rows: records.length, ...result },
      });
      return result;
    });
  }
}
