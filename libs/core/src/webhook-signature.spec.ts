import { createHmac } from 'node:crypto';
import { ValidationError } from './errors';
import {
  signWebhook,
  verifyWebhookSignature,
  WEBHOOK_SIGNATURE_HEADER,
  WEBHOOK_TOLERANCE_SECONDS,
} from './webhook-signature';

const SECRET = 'whsec_current_0123456789abcdef';
const OLD = 'whsec_old_fedcba9876543210';
const T = 1_714_550_400; // 2024-05-01T08:00:00Z
const NOW = new Date(T * 1000);
const BODY = '{"event":"conversion","customer":"c-42","value":1999,"note":"caf\u00e9"}';

const at = (seconds: number) => new Date((T + seconds) * 1000);
const reason = (check: ReturnType<typeof verifyWebhookSignature>) => (check.ok ? 'ok' : check.reason);
const v1 = (header: string) => header.split(',v1=')[1];

describe('webhook signatures', () => {
  it('names the header and the tolerance', () => {
    expect(WEBHOOK_SIGNATURE_HEADER).toBe('closeloop-signature');
    expect(WEBHOOK_TOLERANCE_SECONDS).toBe(300);
  });

  it('signs t and the body as documented (checked with an independent HMAC)', () => {
    const expected = createHmac('sha256', SECRET).update(`${T}.${BODY}`).digest('hex');
    expect(signWebhook(SECRET, BODY, T)).toBe(`t=${T},v1=${expected}`);
    expect(expected).toMatch(/^[0-9a-f]{64}$/);
  });

  it('round-trips', () => {
    const header = signWebhook(SECRET, BODY, T);
    expect(verifyWebhookSignature(header, BODY, [SECRET], NOW)).toEqual({
      ok: true,
      timestamp: T,
      signature: v1(header),
    });
  });

  it('treats a string body and its UTF-8 bytes alike', () => {
    const bytes = Buffer.from(BODY, 'utf8');
    expect(signWebhook(SECRET, bytes, T)).toBe(signWebhook(SECRET, BODY, T));
    expect(verifyWebhookSignature(signWebhook(SECRET, BODY, T), bytes, [SECRET], NOW).ok).toBe(true);
    expect(verifyWebhookSignature(signWebhook(SECRET, bytes, T), BODY, [SECRET], NOW).ok).toBe(true);
    // a body of raw bytes that are not UTF-8 is signed as is
    const binary = Buffer.from([0xff, 0x00, 0xfe]);
    expect(verifyWebhookSignature(signWebhook(SECRET, binary, T), binary, [SECRET], NOW).ok).toBe(true);
  });

  it('refuses a tampered body', () => {
    const header = signWebhook(SECRET, BODY, T);
    for (const body of [BODY.replace('1999', '9999'), `${BODY} `, BODY.slice(1), '']) {
      expect(reason(verifyWebhookSignature(header, body, [SECRET], NOW))).toBe('signature does not match');
    }
  });

  it('refuses a signature under another secret, or with no secret at all', () => {
    const header = signWebhook('whsec_someone_else_000000', BODY, T);
    expect(reason(verifyWebhookSignature(header, BODY, [SECRET], NOW))).toBe('signature does not match');
    expect(reason(verifyWebhookSignature(signWebhook(SECRET, BODY, T), BODY, [], NOW))).toBe(
      'signature does not match',
    );
    expect(reason(verifyWebhookSignature(signWebhook(SECRET, BODY, T), BODY, [''], NOW))).toBe(
      'signature does not match',
    );
  });

  it('refuses a timestamp that was changed after signing', () => {
    const header = signWebhook(SECRET, BODY, T).replace(`t=${T}`, `t=${T + 1}`);
    expect(reason(verifyWebhookSignature(header, BODY, [SECRET], NOW))).toBe('signature does not match');
  });

  it('accepts a timestamp up to the tolerance away, in the past or the future', () => {
    const header = signWebhook(SECRET, BODY, T);
    for (const offset of [-300, -299, 0, 299, 300]) {
      expect(reason(verifyWebhookSignature(header, BODY, [SECRET], at(offset)))).toBe('ok');
    }
    for (const offset of [-300.001, 300.001, 301, -301, 86_400, -86_400]) {
      expect(reason(verifyWebhookSignature(header, BODY, [SECRET], at(offset)))).toBe(
        'timestamp outside the tolerance',
      );
    }
  });

  it('takes another tolerance', () => {
    const header = signWebhook(SECRET, BODY, T);
    expect(verifyWebhookSignature(header, BODY, [SECRET], at(600), 600).ok).toBe(true);
    expect(verifyWebhookSignature(header, BODY, [SECRET], at(1), 0).ok).toBe(false);
    expect(verifyWebhookSignature(header, BODY, [SECRET], at(0), 0).ok).toBe(true);
    // nonsense falls back to the default
    expect(verifyWebhookSignature(header, BODY, [SECRET], at(200), NaN).ok).toBe(true);
    expect(verifyWebhookSignature(header, BODY, [SECRET], at(200), -5).ok).toBe(true);
  });

  it('refuses an invalid now rather than accept any time', () => {
    const header = signWebhook(SECRET, BODY, T);
    expect(reason(verifyWebhookSignature(header, BODY, [SECRET], new Date(NaN)))).toBe(
      'timestamp outside the tolerance',
    );
  });

  it('checks the signature before the time: a stale forgery is a forgery', () => {
    const header = signWebhook('whsec_someone_else_000000', BODY, T);
    expect(reason(verifyWebhookSignature(header, BODY, [SECRET], at(3600)))).toBe('signature does not match');
  });

  it('says a missing header is missing', () => {
    expect(reason(verifyWebhookSignature(undefined, BODY, [SECRET], NOW))).toBe('missing signature header');
    expect(reason(verifyWebhookSignature(null as unknown as string, BODY, [SECRET], NOW))).toBe(
      'missing signature header',
    );
  });

  it('refuses malformed headers', () => {
    const sig = v1(signWebhook(SECRET, BODY, T));
    for (const header of [
      '',
      ' ',
      ',',
      `v1=${sig}`, // no t
      `t=${T}`, // no v1
      `t=,v1=${sig}`,
      `t=abc,v1=${sig}`,
      `t=-${T},v1=${sig}`,
      `t=1.5,v1=${sig}`,
      `t=1e9,v1=${sig}`,
      `t=${T}0000,v1=${sig}`, // 14 digits
      `t=${T},t=${T},v1=${sig}`, // t twice
      `t=${T},v1=${sig.slice(1)}`, // odd-length hex
      `t=${T},v1=${sig.slice(0, -1)}g`,
      `t=${T},v1=`,
      `t=${T}, v1=${sig}`, // extra spaces
      ` t=${T},v1=${sig}`,
      `t=${T},v1=${sig} `,
      `t = ${T},v1=${sig}`,
      `t=${T},v1=${sig},`,
      `t=${T};v1=${sig}`,
      `T=${T},V1=${sig}`,
      `t=${T},v1=${sig}\n`,
      'x'.repeat(100_000),
    ]) {
      expect(reason(verifyWebhookSignature(header, BODY, [SECRET], NOW))).toBe('malformed signature header');
    }
  });

  it('ignores keys of other schemes and reads upper-case hex', () => {
    const header = signWebhook(SECRET, BODY, T);
    const sig = v1(header);
    expect(verifyWebhookSignature(`${header},v0=6ffbb59b2300aae63f2725`, BODY, [SECRET], NOW).ok).toBe(true);
    expect(verifyWebhookSignature(`v1=${sig},t=${T}`, BODY, [SECRET], NOW).ok).toBe(true);
    expect(verifyWebhookSignature(`t=${T},v1=${sig.toUpperCase()}`, BODY, [SECRET], NOW)).toEqual({
      ok: true,
      timestamp: T,
      signature: sig,
    });
  });

  it('accepts any of several v1 signatures, including ones of another length', () => {
    const good = v1(signWebhook(SECRET, BODY, T));
    const other = v1(signWebhook(OLD, BODY, T));
    expect(verifyWebhookSignature(`t=${T},v1=${other},v1=${good}`, BODY, [SECRET], NOW)).toEqual({
      ok: true,
      timestamp: T,
      signature: good,
    });
    expect(verifyWebhookSignature(`t=${T},v1=abcd,v1=${good}`, BODY, [SECRET], NOW).ok).toBe(true);
    expect(reason(verifyWebhookSignature(`t=${T},v1=abcd`, BODY, [SECRET], NOW))).toBe('signature does not match');
    expect(reason(verifyWebhookSignature(`t=${T},v1=${good}00`, BODY, [SECRET], NOW))).toBe('signature does not match');
  });

  it('verifies under any of several secrets, so either side can rotate', () => {
    const signedOld = signWebhook(OLD, BODY, T);
    expect(verifyWebhookSignature(signedOld, BODY, [SECRET, OLD], NOW).ok).toBe(true);
    expect(verifyWebhookSignature(signedOld, BODY, [OLD, SECRET], NOW).ok).toBe(true);
    expect(verifyWebhookSignature(signedOld, BODY, [SECRET], NOW).ok).toBe(false);
    expect(verifyWebhookSignature(signWebhook(SECRET, BODY, T), BODY, [OLD, SECRET], NOW).ok).toBe(true);
    expect(verifyWebhookSignature(signedOld, BODY, [null as unknown as string, OLD], NOW).ok).toBe(true);
  });

  it('never throws', () => {
    const header = signWebhook(SECRET, BODY, T);
    const calls: (() => unknown)[] = [
      () => verifyWebhookSignature(42 as unknown as string, BODY, [SECRET], NOW),
      () => verifyWebhookSignature(header, undefined as unknown as string, [SECRET], NOW),
      () => verifyWebhookSignature(header, { a: 1 } as unknown as string, [SECRET], NOW),
      () => verifyWebhookSignature(header, BODY, undefined as unknown as string[], NOW),
      () => verifyWebhookSignature(header, BODY, [SECRET], undefined as unknown as Date),
      () => verifyWebhookSignature(`t=${T},v1=${'ab'.repeat(1000)}`, BODY, [SECRET], NOW),
    ];
    for (const call of calls) {
      expect(call).not.toThrow();
      expect((call() as { ok: boolean }).ok).toBe(false);
    }
  });

  it('refuses to sign with an empty secret or a bad timestamp', () => {
    expect(() => signWebhook('', BODY, T)).toThrow(ValidationError);
    for (const t of [-1, 1.5, NaN, Infinity]) expect(() => signWebhook(SECRET, BODY, t)).toThrow(ValidationError);
    expect(signWebhook(SECRET, BODY, 0)).toMatch(/^t=0,v1=[0-9a-f]{64}$/);
  });
});
