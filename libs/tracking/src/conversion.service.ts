import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { attributeByWindow, Touch, ValidationError } from '@closeloop/core';
import { DataSource } from 'typeorm';
import { ResponseInputDto, ResponseView, TRACKED_TYPES } from './dto/tracking.dto';

/** Up to this far in the future an occurredAt is taken as clock skew. */
const FUTURE_SKEW_MS = 5 * 60_000;
/** An offer code attributes to the latest touch of a program with that offer, whatever its window. */
const OFFER_LOOKBACK_DAYS = 36_500;

interface Resolved {
  input: ResponseInputDto;
  key: string;
  customerId: string;
  responseCode: string | null;
  programId: string | null;
  cellId: string | null;
  programCode: string | null;
  cellCode: string | null;
  /** The send credited (last touch); by response code, the customer's latest send in that cell, if any. */
  sendId: string | null;
  attribution: ResponseView['attribution'];
}

type View = Omit<ResponseView, 'duplicate'>;

interface TouchRow extends Touch {
  sendId: string;
  customerId: string;
  offerId: string | null;
  programCode: string;
  cellCode: string;
}

interface Options {
  source: string;
  /** The error path of input i (e.g. `responses[3]`). */
  path: (i: number) => string;
  /** Orders: an unknown code is kept as typed and the window decides, instead of a 400. */
  lenientCodes?: boolean;
}

const VIEW_SQL = `
  SELECT r.id::text, r.idempotency_key, c.external_id, r.type, r.value, r.currency, r.occurred_at, r.response_code,
         p.code AS program_code, ce.code AS cell_code, r.detail->>'attribution' AS attribution
    FROM response r JOIN customer c ON c.id = r.customer_id
    LEFT JOIN program p ON p.id = r.program_id LEFT JOIN cell ce ON ce.id = r.cell_id`;

/**
 * Conversions and other responses posted by systems (`POST /v1/responses`) or made from imported
 * orders. Each is attributed to a program cell:
 *
 * 1. by its response code: a cell's response code names the cell;
 * 2. by an offer code: the customer's latest touch (on or before the conversion) in a program that
 *    carries that offer (as the program's or a cell's offer);
 * 3. otherwise by rule (core `attributeByWindow`): the customer's latest touch whose attribution
 *    window holds the conversion. Control-cell members are touched too (from the program's launch),
 *    because lift is measured against them.
 *
 * Idempotency: the key is stored as `key:<idempotencyKey>`; an imported order uses its order id as
 * the key, so a conversion posted with the order id and the same order imported are one conversion,
 * whichever comes first. A repeated key returns the first result and records nothing new.
 * A batch is checked whole before anything is written: one bad row is a 400 naming it, and nothing
 * of the batch is recorded.
 */
@Injectable()
export class ConversionService {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async record(inputs: ResponseInputDto[], options: Options): Promise<ResponseView[]> {
    const now = Date.now();
    inputs.forEach((input, i) => {
      const at = `${options.path(i)}`;
      if ((TRACKED_TYPES as readonly string[]).includes(input.type)) {
        throw new ValidationError(
          `${at}.type "${input.type}" is recorded by Closeloop itself (tracking, webhooks); use conversion, reply or another word`,
          `${at}.type`,
        );
      }
      if (input.value !== undefined && !input.currency) {
        throw new ValidationError(`${at}.currency is required with a value`, `${at}.currency`);
      }
      const occurred = Date.parse(input.occurredAt);
      if (!Number.isFinite(occurred)) throw new ValidationError(`${at}.occurredAt is not a date`, `${at}.occurredAt`);
      if (occurred > now + FUTURE_SKEW_MS) {
        throw new ValidationError(`${at}.occurredAt is in the future`, `${at}.occurredAt`);
      }
    });
    const keys = inputs.map((input) => `key:${input.idempotencyKey}`);
    const existing = await this.views(keys);
    // The first of each key is recorded; repeats (earlier or within the batch) answer its result.
    const firstIndex = new Map<string, number>();
    const toWrite: number[] = [];
    keys.forEach((key, i) => {
      if (existing.has(key) || firstIndex.has(key)) return;
      firstIndex.set(key, i);
      toWrite.push(i);
    });
    const resolved = await this.resolve(
      toWrite.map((i) => inputs[i]),
      toWrite.map((i) => keys[i]),
      { ...options, path: (j) => options.path(toWrite[j]) },
    );
    // The rows written answer from what the insert returns and what resolve found, without reading
    // them back; a key another request wrote between the lookup and the insert answers its stored row.
    const written = resolved.length ? await this.insert(resolved, options.source) : new Map<string, View>();
    const raced = resolved.filter((r) => !written.has(r.key)).map((r) => r.key);
    const stored = raced.length ? await this.views(raced) : new Map<string, View>();
    return keys.map((key, i) => {
      const view = existing.get(key) ?? written.get(key) ?? stored.get(key);
      if (!view) throw new Error(`response ${key} was not recorded`);
      return { ...view, duplicate: existing.has(key) || firstIndex.get(key) !== i };
    });
  }

  /**
   * Orders with an offer code that are not yet conversions become conversions (key = order id,
   * source `order`), among the given orders or those stored since a time. Run after every orders
   * import and `POST /v1/orders`; a no-op for orders already converted.
   */
  async fromOrders(filter: { externalIds?: string[]; since?: Date }): Promise<number> {
    const orders: {
      external_id: string;
      customer: string;
      ordered_at: Date;
      amount: string;
      currency: string;
      offer_code: string;
    }[] = await this.dataSource.query(
      `SELECT o.external_id, c.external_id AS customer, o.ordered_at, o.amount, o.currency, o.offer_code
         FROM customer_order o JOIN customer c ON c.id = o.customer_id
        WHERE o.offer_code IS NOT NULL
          AND ($1::text[] IS NULL OR o.external_id = ANY($1))
          AND ($2::timestamptz IS NULL OR o.created_at >= $2)
          AND NOT EXISTS (SELECT 1 FROM response r WHERE r.idempotency_key = 'key:' || o.external_id)
        ORDER BY o.ordered_at`,
      [filter.externalIds ?? null, filter.since ?? null],
    );
    let written = 0;
    for (let i = 0; i < orders.length; i += 10_000) {
      const chunk = orders.slice(i, i + 10_000).map((o): ResponseInputDto => ({
        externalId: o.customer,
        type: 'conversion',
        value: Number(o.amount),
        currency: o.currency,
        occurredAt: new Date(o.ordered_at).toISOString(),
        responseCode: o.offer_code,
        idempotencyKey: o.external_id,
      }));
      const views = await this.record(chunk, {
        source: 'order',
        path: (j) => `order ${chunk[j].idempotencyKey}`,
        lenientCodes: true,
      });
      written += views.filter((v) => !v.duplicate).length;
    }
    return written;
  }

  private async resolve(inputs: ResponseInputDto[], keys: string[], options: Options): Promise<Resolved[]> {
    if (!inputs.length) return [];
    const customers: { id: string; external_id: string }[] = await this.dataSource.query(
      `SELECT id, external_id FROM customer WHERE external_id = ANY($1) AND erased_at IS NULL`,
      [[...new Set(inputs.map((x) => x.externalId))]],
    );
    const customerOf = new Map(customers.map((c) => [c.external_id, c.id]));
    inputs.forEach((input, i) => {
      if (!customerOf.has(input.externalId)) {
        throw new ValidationError(
          `${options.path(i)}.externalId: no customer "${input.externalId}"`,
          `${options.path(i)}.externalId`,
        );
      }
    });
    const codes = [...new Set(inputs.flatMap((x) => (x.responseCode ? [x.responseCode.trim().toUpperCase()] : [])))];
    const cells: { response_code: string; id: string; program_id: string; code: string; program_code: string }[] =
      codes.length
        ? await this.dataSource.query(
            `SELECT c.response_code, c.id, c.program_id, c.code, p.code AS program_code
               FROM cell c JOIN program p ON p.id = c.program_id WHERE c.response_code = ANY($1)`,
            [codes],
          )
        : [];
    const cellOf = new Map(cells.map((c) => [c.response_code, c]));
    const offers: { id: string; code: string }[] = codes.length
      ? await this.dataSource.query(`SELECT id, upper(code) AS code FROM offer WHERE upper(code) = ANY($1)`, [codes])
      : [];
    const offerOf = new Map(offers.map((o) => [o.code, o.id]));
    inputs.forEach((input, i) => {
      const code = input.responseCode?.trim().toUpperCase();
      if (code && !cellOf.has(code) && !offerOf.has(code) && !options.lenientCodes) {
        throw new ValidationError(
          `${options.path(i)}.responseCode "${input.responseCode}" is neither a cell's response code nor an offer code`,
          `${options.path(i)}.responseCode`,
        );
      }
    });
    const touchRows: TouchRow[] = (
      await this.dataSource.query(
        // A held-out member's touch is when a message would have gone: the program's launch, or for a
        // drip or rule (origin_id) the moment its send was written.
        `SELECT s.id AS "sendId", s.customer_id AS "customerId", s.program_id AS "programId", s.cell_id AS "cellId",
                s.response_code AS "responseCode", ce.is_control AS "isControl",
                coalesce(s.sent_at, CASE WHEN s.origin_id IS NOT NULL THEN s.created_at END, p.launched_at) AS at,
                p.attribution_window_days AS "windowDays",
                coalesce(ce.offer_id, p.offer_id) AS "offerId", p.code AS "programCode", ce.code AS "cellCode"
           FROM send s JOIN program p ON p.id = s.program_id JOIN cell ce ON ce.id = s.cell_id
          WHERE s.customer_id = ANY($1::uuid[]) AND s.state <> 'cancelled'
            AND coalesce(s.sent_at, CASE WHEN s.origin_id IS NOT NULL THEN s.created_at END, p.launched_at) IS NOT NULL`,
        [[...customerOf.values()]],
      )
    ).map((t: TouchRow) => ({ ...t, at: new Date(t.at) }));
    const touchesOf = new Map<string, TouchRow[]>();
    for (const t of touchRows) {
      const list = touchesOf.get(t.customerId) ?? [];
      list.push(t);
      touchesOf.set(t.customerId, list);
    }
    return inputs.map((input, i): Resolved => {
      const customerId = customerOf.get(input.externalId)!;
      const code = input.responseCode?.trim().toUpperCase() ?? null;
      const cell = code ? cellOf.get(code) : undefined;
      if (cell) {
        const occurred = new Date(input.occurredAt).getTime();
        const inCell = (touchesOf.get(customerId) ?? [])
          .filter((t) => t.cellId === cell.id && t.at.getTime() <= occurred)
          .sort((a, b) => b.at.getTime() - a.at.getTime());
        return {
          sendId: inCell[0]?.sendId ?? null,
          input,
          key: keys[i],
          customerId,
          responseCode: code,
          programId: cell.program_id,
          cellId: cell.id,
          programCode: cell.program_code,
          cellCode: cell.code,
          attribution: 'response-code',
        };
      }
      const occurredAt = new Date(input.occurredAt);
      const touches = touchesOf.get(customerId) ?? [];
      const offerId = code ? offerOf.get(code) : undefined;
      let touch: TouchRow | null;
      let attribution: ResponseView['attribution'];
      if (offerId) {
        touch = attributeByWindow(
          touches.filter((t) => t.offerId === offerId).map((t) => ({ ...t, windowDays: OFFER_LOOKBACK_DAYS })),
          occurredAt,
        ) as TouchRow | null;
        attribution = touch ? 'offer-code' : 'none';
      } else {
        touch = attributeByWindow(touches, occurredAt) as TouchRow | null;
        attribution = touch ? 'window' : 'none';
      }
      return {
        sendId: touch?.sendId ?? null,
        input,
        key: keys[i],
        customerId,
        responseCode: code ?? touch?.responseCode ?? null,
        programId: touch?.programId ?? null,
        cellId: touch?.cellId ?? null,
        programCode: touch?.programCode ?? null,
        cellCode: touch?.cellCode ?? null,
        attribution,
      };
    });
  }

  /** Writes the rows (a key already stored is skipped) and answers the view of each row written, by key. */
  private async insert(rows: Resolved[], source: string): Promise<Map<string, View>> {
    const inserted: {
      id: string;
      idempotency_key: string;
      occurred_at: Date;
      value: string | null;
      currency: string | null;
    }[] = await this.dataSource.query(
      `INSERT INTO response (customer_id, program_id, cell_id, response_code, type, occurred_at, value, currency,
                             idempotency_key, source, detail, send_id)
       SELECT customer_id, program_id, cell_id, response_code, type, occurred_at, value, currency, idempotency_key,
              $10::text, jsonb_build_object('attribution', attribution), send_id
         FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::timestamptz[], $7::bigint[],
                     $8::text[], $9::text[], $11::text[], $12::uuid[])
              AS r(customer_id, program_id, cell_id, response_code, type, occurred_at, value, currency,
                   idempotency_key, attribution, send_id)
       ON CONFLICT (idempotency_key) DO NOTHING
       RETURNING id::text, idempotency_key, occurred_at, value, currency`,
      [
        rows.map((r) => r.customerId),
        rows.map((r) => r.programId),
        rows.map((r) => r.cellId),
        rows.map((r) => r.responseCode),
        rows.map((r) => r.input.type),
        rows.map((r) => r.input.occurredAt),
        rows.map((r) => r.input.value ?? null),
        rows.map((r) => r.input.currency ?? null),
        rows.map((r) => r.key),
        source,
        rows.map((r) => r.attribution),
        rows.map((r) => r.sendId),
      ],
    );
    const byKey = new Map(rows.map((r) => [r.key, r]));
    return new Map(
      inserted.map((row) => {
        const r = byKey.get(row.idempotency_key)!;
        // As views() reads it: the customer's external id is the one it was found by, codes as resolved.
        const view: View = {
          id: row.id,
          idempotencyKey: row.idempotency_key.slice('key:'.length),
          externalId: r.input.externalId,
          type: r.input.type,
          value: row.value === null ? null : Number(row.value),
          currency: row.currency?.trim() ?? null,
          occurredAt: new Date(row.occurred_at).toISOString(),
          responseCode: r.responseCode,
          program: r.programCode,
          cell: r.cellCode,
          attribution: r.attribution,
        };
        return [row.idempotency_key, view];
      }),
    );
  }

  private async views(keys: string[]): Promise<Map<string, View>> {
    const rows: {
      id: string;
      idempotency_key: string;
      external_id: string;
      type: string;
      value: string | null;
      currency: string | null;
      occurred_at: Date;
      response_code: string | null;
      program_code: string | null;
      cell_code: string | null;
      attribution: ResponseView['attribution'] | null;
    }[] = await this.dataSource.query(`${VIEW_SQL} WHERE r.idempotency_key = ANY($1)`, [[...new Set(keys)]]);
    return new Map(
      rows.map((r) => [
        r.idempotency_key,
        {
          id: r.id,
          idempotencyKey: r.idempotency_key.slice('key:'.length),
          externalId: r.external_id,
          type: r.type,
          value: r.value === null ? null : Number(r.value),
          currency: r.currency?.trim() ?? null,
          occurredAt: new Date(r.occurred_at).toISOString(),
          responseCode: r.response_code,
          program: r.program_code,
          cell: r.cell_code,
          attribution: r.attribution ?? 'none',
        },
      ]),
    );
  }
}
