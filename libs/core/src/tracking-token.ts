import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { ConfigError, ValidationError } from './errors';

/**
 * Signed tokens for the tracking URLs: open pixel `/t/o/:token`, click `/t/c/:token`, unsubscribe
 * `/u/:token`. A token is bound to one send and says nothing else: the click destination is looked
 * up server-side from (send, link index), so a token can never redirect anywhere of its own.
 *
 * Format, version 1: 40 bytes, base64url without padding (54 characters, [A-Za-z0-9_-]):
 *
 *   offset  size  field
 *        0     1  version (1)
 *        1     1  kind: 1 open, 2 click, 3 unsubscribe
 *        2    16  send id (the UUID's 16 bytes)
 *       18     2  link index, unsigned big-endian (0-based for click, 0 otherwise)
 *       20     4  key id: the first 4 bytes of SHA-256(secret)
 *       24    16  HMAC-SHA256(secret, bytes 0..23), truncated to 16 bytes
 *
 * TRACKING_SECRET lists one or more secrets: the first signs, every one verifies, so a secret can
 * be rotated in while links sent under the old one keep working for months. The key id picks the
 * secret without trying each (and survives reordering the list); it is public, the tag is not.
 */
export type TrackingKind = 'open' | 'click' | 'unsubscribe';

export interface TrackingClaim {
  kind: TrackingKind;
  /** The send (a UUID). */
  sendId: string;
  /** 0-based link index for click, 0 otherwise. */
  link: number;
}

const VERSION = 1;
const KIND_BYTES: Record<TrackingKind, number> = { open: 1, click: 2, unsubscribe: 3 };
const KINDS_BY_BYTE = new Map(Object.entries(KIND_BYTES).map(([kind, byte]) => [byte, kind as TrackingKind]));
const KEY_ID_BYTES = 4;
const TAG_BYTES = 16;
const SIGNED_BYTES = 1 + 1 + 16 + 2 + KEY_ID_BYTES;
const TOKEN_BYTES = SIGNED_BYTES + TAG_BYTES;
const TOKEN_CHARS = Math.ceil((TOKEN_BYTES * 4) / 3);
const MAX_LINK = 0xffff;
const MIN_SECRET_LENGTH = 16;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

const keyIds = new Map<string, Buffer>();

function keyIdBytes(secret: string): Buffer {
  let id = keyIds.get(secret);
  if (!id) {
    id = createHash('sha256').update(secret, 'utf8').digest().subarray(0, KEY_ID_BYTES);
    keyIds.set(secret, id);
  }
  return id;
}

const tagOf = (secret: string, signed: Buffer): Buffer =>
  createHmac('sha256', secret).update(signed).digest().subarray(0, TAG_BYTES);

/** The public id of a tracking secret (8 hex characters), as reported by verifyTrackingToken. */
export function trackingKeyId(secret: string): string {
  return keyIdBytes(secret).toString('hex');
}

export function signTrackingToken(claim: TrackingClaim, secrets: readonly string[]): string {
  const secret = secrets[0];
  if (typeof secret !== 'string' || secret.length < MIN_SECRET_LENGTH) {
    throw new ConfigError('TRACKING_SECRET', `must hold a signing secret of at least ${MIN_SECRET_LENGTH} characters`);
  }
  const kind = KIND_BYTES[claim.kind];
  if (!kind) throw new ValidationError(`kind must be one of ${Object.keys(KIND_BYTES).join(', ')}`, 'kind');
  if (typeof claim.sendId !== 'string' || !UUID.test(claim.sendId)) {
    throw new ValidationError('sendId must be a UUID', 'sendId');
  }
  if (!Number.isInteger(claim.link) || claim.link < 0 || claim.link > MAX_LINK) {
    throw new ValidationError(`link must be an integer from 0 to ${MAX_LINK}`, 'link');
  }
  if (claim.kind !== 'click' && claim.link !== 0) {
    throw new ValidationError(`link must be 0 for a ${claim.kind} token`, 'link');
  }
  const signed = Buffer.alloc(SIGNED_BYTES);
  signed[0] = VERSION;
  signed[1] = kind;
  Buffer.from(claim.sendId.replace(/-/g, ''), 'hex').copy(signed, 2);
  signed.writeUInt16BE(claim.link, 18);
  keyIdBytes(secret).copy(signed, 20);
  return Buffer.concat([signed, tagOf(secret, signed)]).toString('base64url');
}

/** null for anything forged, truncated, malformed, of an unknown key or version: never throws. */
export function verifyTrackingToken(
  token: string,
  secrets: readonly string[],
): (TrackingClaim & { keyId: string }) | null {
  try {
    if (typeof token !== 'string' || token.length !== TOKEN_CHARS || !BASE64URL.test(token)) return null;
    const bytes = Buffer.from(token, 'base64url');
    // Only the canonical spelling verifies: the last character carries 4 spare bits that decoding drops.
    if (bytes.length !== TOKEN_BYTES || bytes.toString('base64url') !== token) return null;
    if (bytes[0] !== VERSION) return null;
    const signed = bytes.subarray(0, SIGNED_BYTES);
    const tag = bytes.subarray(SIGNED_BYTES);
    const keyId = bytes.subarray(20, SIGNED_BYTES);
    const secret = secrets.find(
      (s) =>
        typeof s === 'string' && s.length > 0 && keyIdBytes(s).equals(keyId) && timingSafeEqual(tagOf(s, signed), tag),
    );
    if (secret === undefined) return null;
    const kind = KINDS_BY_BYTE.get(bytes[1]);
    const link = bytes.readUInt16BE(18);
    if (!kind || (kind !== 'click' && link !== 0)) return null;
    return { kind, sendId: formatUuid(bytes.subarray(2, 18)), link, keyId: keyId.toString('hex') };
  } catch {
    return null;
  }
}

function formatUuid(bytes: Buffer): string {
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
