import fc from 'fast-check';
import { ValidationError } from './errors';
import { clampLimit, decodeCursor, encodeCursor } from './pagination';

describe('keyset cursors', () => {
  it('round-trips a position', () => {
    const position = { at: '2026-03-01T09:00:00.123Z', id: '3f1c2a52-8f9e-4a36-9a57-2c1e6f0d9b11' };
    expect(decodeCursor(encodeCursor(position))).toEqual(position);
  });

  it('turns any garbage into a ValidationError naming the field, never anything else', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.base64String(), fc.string({ unit: 'binary' })), (input) => {
        try {
          decodeCursor(input);
        } catch (e) {
          expect(e).toBeInstanceOf(ValidationError);
          expect((e as ValidationError).field).toBe('cursor');
        }
      }),
      { numRuns: 2000 },
    );
    for (const json of ['{}', '[1,2]', '["not a date","x"]', '["2026-01-01T00:00:00Z","x; drop"]']) {
      expect(() => decodeCursor(Buffer.from(json).toString('base64url'))).toThrow(ValidationError);
    }
  });

  it('clamps limits to 1..200, default 50', () => {
    expect(clampLimit(undefined)).toBe(50);
    expect(clampLimit(1)).toBe(1);
    expect(clampLimit('200')).toBe(200);
    for (const bad of [0, 201, 1.5, -3, 'ten', '5x']) expect(() => clampLimit(bad)).toThrow('limit must be an integer');
  });
});
