import {
  generateResponseCode,
  isResponseCodeChecksumValid,
  normalizeResponseCode,
  RESPONSE_CODE_ALPHABET,
  validateCustomResponseCode,
} from './response-code';

/** A small seeded generator (mulberry32) so the spec is reproducible. */
function seeded(seed: number) {
  let a = seed >>> 0;
  return (max: number) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * max);
  };
}

describe('response codes', () => {
  it('uses 32 unambiguous symbols: no 0, O, 1 or I', () => {
    expect(RESPONSE_CODE_ALPHABET).toHaveLength(32);
    expect(new Set(RESPONSE_CODE_ALPHABET).size).toBe(32);
    for (const ch of '0O1I') expect(RESPONSE_CODE_ALPHABET).not.toContain(ch);
  });

  it('generates 8-symbol codes that pass their own check, and rarely collide', () => {
    const rng = seeded(42);
    const codes = new Set<string>();
    for (let i = 0; i < 10_000; i++) {
      const code = generateResponseCode(rng);
      expect(code).toMatch(/^[2-9A-HJ-NP-Z]{8}$/);
      expect(isResponseCodeChecksumValid(code)).toBe(true);
      codes.add(code);
    }
    expect(codes.size).toBe(10_000);
  });

  it('detects every single-symbol substitution and every adjacent transposition', () => {
    const rng = seeded(7);
    for (let n = 0; n < 200; n++) {
      const code = generateResponseCode(rng);
      for (let i = 0; i < code.length; i++) {
        for (const ch of RESPONSE_CODE_ALPHABET) {
          if (ch === code[i]) continue;
          const typo = code.slice(0, i) + ch + code.slice(i + 1);
          expect(isResponseCodeChecksumValid(typo)).toBe(false);
        }
        if (i + 1 < code.length && code[i] !== code[i + 1]) {
          const swapped = code.slice(0, i) + code[i + 1] + code[i] + code.slice(i + 2);
          expect(isResponseCodeChecksumValid(swapped)).toBe(false);
        }
      }
    }
  });

  it('catches the swap Luhn mod 32 misses (values 0 and 31: "2" and "Z")', () => {
    // Find a valid code holding "2Z" and check that "Z2" fails.
    const rng = seeded(99);
    let found = 0;
    for (let n = 0; n < 200_000 && found < 5; n++) {
      const code = generateResponseCode(rng);
      const i = code.indexOf('2Z');
      if (i < 0) continue;
      found++;
      expect(isResponseCodeChecksumValid(code.slice(0, i) + 'Z2' + code.slice(i + 2))).toBe(false);
    }
    expect(found).toBeGreaterThan(0);
  });

  it('normalises what people type', () => {
    expect(normalizeResponseCode(' ab2c-d3ef ')).toBe('AB2CD3EF');
    const code = generateResponseCode(seeded(1));
    expect(isResponseCodeChecksumValid(`${code.slice(0, 4).toLowerCase()} ${code.slice(4)}`)).toBe(true);
  });

  it('accepts custom codes of 4-32 letters, digits and hyphens, upper-cased', () => {
    expect(validateCustomResponseCode('spring-26', 'responseCode')).toBe('SPRING-26');
    for (const bad of ['abc', 'a b c d', 'x'.repeat(33), 'ÄÖÜSS', '']) {
      expect(() => validateCustomResponseCode(bad, 'cells[0].responseCode')).toThrow(/cells\[0\]\.responseCode/);
    }
  });
});
