/**
 * The two writes every kind of response shares: a suppression of an address on a channel, and one
 * `response` row for a send (or a customer with no send). Used by unsubscribes, provider events and
 * inbound SMS, inside their own transactions.
 */
export interface Queryable {
  query(sql: string, params?: unknown[]): Promise<unknown>;
}

/** A send's measurement keys, as a response row carries them. */
export interface SendRef {
  id: string;
  customerId: string;
  programId: string;
  cellId: string;
  responseCode: string;
}

/**
 * Suppresses an address on a channel (matched by its hash); false when it was suppressed already.
 * A complaint also takes over the reason of an existing suppression (the stronger signal wins).
 */
export async function suppressAddress(
  q: Queryable,
  s: {
    channel: 'email' | 'sms';
    address: string;
    customerId: string | null;
    reason: 'unsubscribed' | 'complaint';
    source: string;
    createdBy: string;
  },
): Promise<boolean> {
  const rows = (await q.query(
    `INSERT INTO suppression (channel, address, address_hash, customer_id, reason, source, created_by)
     VALUES ($1, $2, sha256(convert_to($2, 'UTF8')), $3, $4, $5, $6)
     ON CONFLICT (channel, address_hash) DO ${s.reason === 'complaint' ? `UPDATE SET reason = 'complaint'` : 'NOTHING'}
     RETURNING (xmax = 0) AS inserted`,
    [s.channel, s.address, s.customerId, s.reason, s.source, s.createdBy],
  )) as { inserted: boolean }[];
  return rows[0]?.inserted === true;
}

/** One response row; a repeat of its idempotency key records nothing. */
export async function recordResponse(
  q: Queryable,
  r: {
    send: SendRef | null;
    customerId: string;
    type: string;
    at: Date;
    key: string | null;
    source: string;
    detail: Record<string, unknown> | null;
  },
): Promise<void> {
  await q.query(
    `INSERT INTO response (send_id, customer_id, program_id, cell_id, response_code, type, occurred_at,
                           idempotency_key, source, detail)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (idempotency_key) DO NOTHING`,
    [
      r.send?.id ?? null,
      r.customerId,
      r.send?.programId ?? null,
      r.send?.cellId ?? null,
      r.send?.responseCode ?? null,
      r.type,
      r.at,
      r.key,
      r.source,
      r.detail ? JSON.stringify(r.detail) : null,
    ],
  );
}
