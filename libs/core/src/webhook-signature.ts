import { createHmac, timingSafeEqual } from 'node:crypto';
import { ValidationError } from './errors';

/**
 * Signed inbound webhooks (delivery receipts, conversions posted by a shop), on Stripe's scheme.
 * The sender puts one header on the request:
 *
 *   closeloop-signature: t=1714550400,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd
 *
 * t is the time of signing in Unix seconds; v1 is the hex HMAC-SHA256, keyed with the shared
 * secret, of the timestamp exactly as written, a full stop and the raw request body
 * (`${t}.${body}`, the bytes as received, before any JSON parsing). Signing the timestamp with the
 * body stops a captured request from being replayed later with a fresh t.
 *
 * A request is accepted when some v1 in the header (there may be several, so a sender can sign
 * with an old and a new secret while both are in use) matches the HMAC under some configured secret
 * (there may be several, so our side can rotate too), and t is within the tolerance (300 s by
 * default) of now, in the past or the future. The signature is checked before the time, so
 * 'timestamp outside the tolerance' is only ever said of a genuinely signed request: a clock to fix
 * or a replay, not a forgery.
 *
 * Header grammar, strictly: comma-separated key=value pairs, no spaces, t exactly once (1 to 12
 * digits), v1 at least once (an even number of hex digits), other keys (future schemes) ignored.
 * Signatures are compared with timingSafeEqual, and only with one of the same length.
 * verifyWebhookSignature never throws: it answers ok or a reason in plain words.
 */
export const WEBHOOK_SIGNATURE_HEADER = 'closeloop-signature';
export const WEBHOOK_TOLERANCE_SECONDS = 300;

export type WebhookCheck = { ok: true; timestamp: number; signature: string } | { ok: false; reason: string };

const TIMESTAMP = /^\d{1,12}$/;
const HEX = /^(?:[0-9a-fA-F]{2})+$/;
const PAIR = /^([a-z0-9]+)=([^\s,]+)$/;

const fail = (reason: string): WebhookCheck => ({ ok: false, reason });
const MISSING = 'missing signature header';
const MALFORMED = 'malformed signature header';
const OUT_OF_TOLERANCE = 'timestamp outside the tolerance';
const NO_MATCH = 'signature does not match';

const hmac = (secret: string, timestamp: string, body: string | Buffer): Buffer =>
  createHmac('sha256', secret).update(`${timestamp}.`, 'utf8').update(body).digest();

/** The header value for body signed with secret at timestampSeconds. */
export function signWebhook(secret: string, body: string | Buffer, timestampSeconds: number): string {
  if (typeof secret !== 'string' || secret.length === 0) {
    throw new ValidationError('secret must be a non-empty string', 'secret');
  }
  if (!Number.isSafeInteger(timestampSeconds) || timestampSeconds < 0) {
    throw new ValidationError('timestampSeconds must be a whole number of seconds since 1970', 'timestampSeconds');
  }
  const t = String(timestampSeconds);
  return `t=${t},v1=${hmac(secret, t, body).toString('hex')}`;
}

function parseHeader(header: string): { t: string; signatures: string[] } | null {
  let t: string | null = null;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const pair = PAIR.exec(part);
    if (!pair) return null;
    const [, key, value] = pair;
    if (key === 't') {
      if (t !== null || !TIMESTAMP.test(value)) return null;
      t = value;
    } else if (key === 'v1') {
      if (!HEX.test(value)) return null;
      signatures.push(value.toLowerCase());
    }
  }
  return t === null || signatures.length === 0 ? null : { t, signatures };
}

/** Whether header signs body under one of secrets, at a time within the tolerance of now. */
export function verifyWebhookSignature(
  header: string | undefined,
  body: string | Buffer,
  secrets: readonly string[],
  now: Date,
  toleranceSeconds: number = WEBHOOK_TOLERANCE_SECONDS,
): WebhookCheck {
  try {
    if (header === undefined || header === null) return fail(MISSING);
    if (typeof header !== 'string' || header.length > 4096) return fail(MALFORMED);
    const parsed = parseHeader(header);
    if (!parsed) return fail(MALFORMED);
    if ((typeof body !== 'string' && !Buffer.isBuffer(body)) || !Array.isArray(secrets)) return fail(NO_MATCH);

    let matched: string | null = null;
    for (const secret of secrets) {
      if (typeof secret !== 'string' || secret.length === 0) continue;
      const expected = hmac(secret, parsed.t, body);
      for (const signature of parsed.signatures) {
        const given = Buffer.from(signature, 'hex');
        if (given.length === expected.length && timingSafeEqual(given, expected)) matched ??= signature;
      }
    }
    if (matched === null) return fail(NO_MATCH);

    const timestamp = Number(parsed.t);
    const tolerance =
      typeof toleranceSeconds === 'number' && toleranceSeconds >= 0 ? toleranceSeconds : WEBHOOK_TOLERANCE_SECONDS;
    const nowSeconds = now instanceof Date ? now.getTime() / 1000 : NaN;
    if (!(Math.abs(nowSeconds - timestamp) <= tolerance)) return fail(OUT_OF_TOLERANCE);
    return { ok: true, timestamp, signature: matched };
  } catch {
    return fail(NO_MATCH);
  }
}
