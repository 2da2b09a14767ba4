import { codeKey, isUuid, validateCode } from './codes';
import { ValidationError } from './errors';

describe('human codes', () => {
  it('accepts trimmed codes of letters, digits, . _ -', () => {
    expect(validateCode('  LOY26-lapsed_a.1 ', 'code')).toBe('LOY26-lapsed_a.1');
    expect(codeKey('LOY26')).toBe('loy26');
  });

  it.each([[''], ['   '], ['-lead'], ['has space'], ['semi;colon'], ['x'.repeat(65)], [42], [null]])(
    'refuses %p naming the field',
    (bad) => {
      expect(() => validateCode(bad, 'cells[1].code')).toThrow(ValidationError);
      expect(() => validateCode(bad, 'cells[1].code')).toThrow(/cells\[1\]\.code/);
    },
  );

  it('refuses codes that look like ids, since codes are usable wherever an id is', () => {
    const uuid = '3f1c2a52-8f9e-4a36-9a57-2c1e6f0d9b11';
    expect(isUuid(uuid)).toBe(true);
    expect(isUuid('LOY26')).toBe(false);
    expect(() => validateCode(uuid.toUpperCase(), 'code')).toThrow('code must not look like an id');
  });
});
