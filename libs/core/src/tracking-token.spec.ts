import { createHash, createHmac } from 'node:crypto';
import { ConfigError, ValidationError } from './errors';
import { signTrackingToken, trackingKeyId, TrackingClaim, verifyTrackingToken } from './tracking-token';

const CURRENT = 'current-secret-0123456789';
const OLD = 'old-secret-abcdefghijklmn';
const SEND = '6f1c2a7e-93b4-4d2a-8e51-0c9f3b7d4a12';

const flipBit = (token: string, byte: number): string => {
  const bytes = Buffer.from(token, 'base64url');
  bytes[byte] ^= 0x01;
  return bytes.toString('base64url');
};

describe('tracking tokens', () => {
  it.each<TrackingClaim>([
    { kind: 'open', sendId: SEND, link: 0 },
    { kind: 'click', sendId: SEND, link: 0 },
    { kind: 'click', sendId: SEND, link: 7 },
    { kind: 'click', sendId: SEND, link: 65535 },
    { kind: 'unsubscribe', sendId: SEND, link: 0 },
  ])('round-trips a $kind token (link $link)', (claim) => {
    const token = signTrackingToken(claim, [CURRENT]);
    expect(token).toMatch(/^[A-Za-z0-9_-]{54}$/);
    expect(verifyTrackingToken(token, [CURRENT])).toEqual({ ...claim, keyId: trackingKeyId(CURRENT) });
  });

  it('lays the bytes out as documented (checked with an independent HMAC)', () => {
    const bytes = Buffer.from(signTrackingToken({ kind: 'click', sendId: SEND, link: 258 }, [CURRENT]), 'base64url');
    expect(bytes).toHaveLength(40);
    expect(bytes.subarray(0, 2)).toEqual(Buffer.from([1, 2]));
    expect(bytes.subarray(2, 18).toString('hex')).toBe(SEND.replace(/-/g, ''));
    expect(bytes.subarray(18, 20)).toEqual(Buffer.from([1, 2]));
    const keyId = createHash('sha256').update(CURRENT).digest().subarray(0, 4);
    expect(bytes.subarray(20, 24)).toEqual(keyId);
    expect(trackingKeyId(CURRENT)).toBe(keyId.toString('hex'));
    const tag = createHmac('sha256', CURRENT).update(bytes.subarray(0, 24)).digest().subarray(0, 16);
    expect(bytes.subarray(24)).toEqual(tag);
  });

  it('verifies a token signed with an old secret once a new one signs, whatever the order', () => {
    const old = signTrackingToken({ kind: 'unsubscribe', sendId: SEND, link: 0 }, [OLD]);
    const expected = { kind: 'unsubscribe', sendId: SEND, link: 0, keyId: trackingKeyId(OLD) };
    expect(verifyTrackingToken(old, [CURRENT, OLD])).toEqual(expected);
    expect(verifyTrackingToken(old, [OLD, CURRENT])).toEqual(expected);
    expect(verifyTrackingToken(old, [CURRENT])).toBeNull();
    // the first secret signs
    const fresh = signTrackingToken({ kind: 'open', sendId: SEND, link: 0 }, [CURRENT, OLD]);
    expect(verifyTrackingToken(fresh, [CURRENT, OLD])?.keyId).toBe(trackingKeyId(CURRENT));
    expect(verifyTrackingToken(fresh, [OLD])).toBeNull();
  });

  it('refuses a token with any bit flipped in any byte', () => {
    const token = signTrackingToken({ kind: 'click', sendId: SEND, link: 3 }, [CURRENT]);
    for (let byte = 0; byte < 40; byte++) {
      expect(verifyTrackingToken(flipBit(token, byte), [CURRENT, OLD])).toBeNull();
    }
  });

  it('refuses a token with any character changed, including the spare bits of the last one', () => {
    const token = signTrackingToken({ kind: 'open', sendId: SEND, link: 0 }, [CURRENT]);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    let tried = 0;
    for (let i = 0; i < token.length; i++) {
      for (const ch of [
        alphabet[(alphabet.indexOf(token[i]) + 1) % 64],
        alphabet[(alphabet.indexOf(token[i]) + 63) % 64],
      ]) {
        expect(verifyTrackingToken(token.slice(0, i) + ch + token.slice(i + 1), [CURRENT])).toBeNull();
        tried++;
      }
    }
    expect(tried).toBe(108);
  });

  it('refuses truncated, extended, foreign and garbage tokens', () => {
    const token = signTrackingToken({ kind: 'click', sendId: SEND, link: 1 }, [CURRENT]);
    const foreign = signTrackingToken({ kind: 'click', sendId: SEND, link: 1 }, ['some-other-secret-xyz']);
    for (const bad of [
      token.slice(0, -1),
      token.slice(0, 40),
      token + 'A',
      token + '=',
      `${token.slice(0, 20)}+/${token.slice(22)}`,
      foreign,
      '',
      'x',
      '../../etc/passwd',
      'A'.repeat(54),
      '-'.repeat(54),
      ' '.repeat(54),
      `${token.slice(0, 53)}\n`,
    ]) {
      expect(verifyTrackingToken(bad, [CURRENT, OLD])).toBeNull();
    }
    expect(verifyTrackingToken(token, [])).toBeNull();
    expect(verifyTrackingToken(undefined as unknown as string, [CURRENT])).toBeNull();
    expect(verifyTrackingToken(token, [null as unknown as string, CURRENT])?.link).toBe(1);
  });

  it('refuses an unknown version or kind even when correctly signed', () => {
    const resign = (mutate: (bytes: Buffer) => void) => {
      const bytes = Buffer.from(signTrackingToken({ kind: 'open', sendId: SEND, link: 0 }, [CURRENT]), 'base64url');
      mutate(bytes);
      createHmac('sha256', CURRENT).update(bytes.subarray(0, 24)).digest().copy(bytes, 24, 0, 16);
      return bytes.toString('base64url');
    };
    expect(
      verifyTrackingToken(
        resign(() => undefined),
        [CURRENT],
      )?.kind,
    ).toBe('open');
    expect(
      verifyTrackingToken(
        resign((b) => (b[0] = 2)),
        [CURRENT],
      ),
    ).toBeNull();
    expect(
      verifyTrackingToken(
        resign((b) => (b[1] = 4)),
        [CURRENT],
      ),
    ).toBeNull();
    expect(
      verifyTrackingToken(
        resign((b) => (b[1] = 0)),
        [CURRENT],
      ),
    ).toBeNull();
    // an open token never carries a link index
    expect(
      verifyTrackingToken(
        resign((b) => b.writeUInt16BE(5, 18)),
        [CURRENT],
      ),
    ).toBeNull();
  });

  it('normalises an uppercase send id', () => {
    const token = signTrackingToken({ kind: 'open', sendId: SEND.toUpperCase(), link: 0 }, [CURRENT]);
    expect(token).toBe(signTrackingToken({ kind: 'open', sendId: SEND, link: 0 }, [CURRENT]));
    expect(verifyTrackingToken(token, [CURRENT])?.sendId).toBe(SEND);
  });

  it('binds the token to the send and the link', () => {
    const a = signTrackingToken({ kind: 'click', sendId: SEND, link: 1 }, [CURRENT]);
    const b = signTrackingToken({ kind: 'click', sendId: SEND, link: 2 }, [CURRENT]);
    const c = signTrackingToken({ kind: 'click', sendId: '00000000-0000-4000-8000-000000000000', link: 1 }, [CURRENT]);
    expect(new Set([a, b, c]).size).toBe(3);
  });

  it('refuses to sign a bad claim or without a usable secret', () => {
    const fieldOf = (claim: TrackingClaim, secrets = [CURRENT]) => {
      try {
        signTrackingToken(claim, secrets);
      } catch (e) {
        return e instanceof ValidationError ? e.field : e instanceof ConfigError ? e.variable : 'other';
      }
      return 'signed';
    };
    expect(fieldOf({ kind: 'open', sendId: 'not-a-uuid', link: 0 })).toBe('sendId');
    expect(fieldOf({ kind: 'open', sendId: SEND.replace(/-/g, ''), link: 0 })).toBe('sendId');
    expect(fieldOf({ kind: 'click', sendId: SEND, link: -1 })).toBe('link');
    expect(fieldOf({ kind: 'click', sendId: SEND, link: 65536 })).toBe('link');
    expect(fieldOf({ kind: 'click', sendId: SEND, link: 1.5 })).toBe('link');
    expect(fieldOf({ kind: 'open', sendId: SEND, link: 1 })).toBe('link');
    expect(fieldOf({ kind: 'view' as TrackingClaim['kind'], sendId: SEND, link: 0 })).toBe('kind');
    expect(fieldOf({ kind: 'open', sendId: SEND, link: 0 }, [])).toBe('TRACKING_SECRET');
    expect(fieldOf({ kind: 'open', sendId: SEND, link: 0 }, ['short'])).toBe('TRACKING_SECRET');
    expect(fieldOf({ kind: 'open', sendId: SEND, link: 0 })).toBe('signed');
  });
});
