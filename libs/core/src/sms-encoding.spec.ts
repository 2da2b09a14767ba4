import { gsmCoder } from 'smpp';
import { isGsm7, planSms } from './sms-encoding';

const EMOJI = '😀'; // U+1F600: one code point, two UTF-16 code units
const repeat = (ch: string, n: number): string => ch.repeat(n);

describe('isGsm7', () => {
  it('accepts the basic table, the extension table and the empty text', () => {
    expect(isGsm7('Hello @ 10£, ¿Qué tal? ÄÖÜäöü ΔΦΓΛΩΠΨΣΘΞ\r\n')).toBe(true);
    expect(isGsm7('€[]{}\\^~|\f')).toBe(true);
    expect(isGsm7('')).toBe(true);
  });

  it('refuses characters outside GSM-7, and the bare escape code', () => {
    expect(isGsm7('façade')).toBe(false); // ç is not in the default alphabet (only Ç is)
    expect(isGsm7('Grüße`')).toBe(false);
    expect(isGsm7(EMOJI)).toBe(false);
    expect(isGsm7('a\x1Bb')).toBe(false);
  });

  it("agrees with smpp's GSM 03.38 table on every character of the BMP", () => {
    // smpp's own test of its default alphabet (the one it encodes data_coding 0 with), ESC aside.
    const smppGsm = (ch: string): boolean => ch !== '\x1B' && gsmCoder.GSM.charRegex.test(ch);
    const disagreements: string[] = [];
    for (let code = 0; code <= 0xffff; code++) {
      if (code >= 0xd800 && code <= 0xdfff) continue; // lone surrogates
      const ch = String.fromCharCode(code);
      if (isGsm7(ch) !== smppGsm(ch)) disagreements.push(`U+${code.toString(16).padStart(4, '0')}`);
    }
    expect(disagreements).toEqual([]);
    const accepted = [...Array(0x3000).keys()].filter((code) => isGsm7(String.fromCharCode(code)));
    expect(accepted).toHaveLength(127 + 10); // 128 basic minus ESC, plus 10 extension characters
  });
});

describe('planSms', () => {
  it('plans the empty text as one empty GSM-7 segment', () => {
    expect(planSms('')).toEqual({ encoding: 'GSM-7', units: 0, segments: 1, perSegment: 160, parts: [''] });
  });

  it('fits 160 GSM-7 septets in one message and cuts 161 into two of at most 153', () => {
    expect(planSms(repeat('a', 160))).toEqual({
      encoding: 'GSM-7',
      units: 160,
      segments: 1,
      perSegment: 160,
      parts: [repeat('a', 160)],
    });
    const plan = planSms(repeat('a', 161));
    expect(plan).toMatchObject({ encoding: 'GSM-7', units: 161, segments: 2, perSegment: 153 });
    expect(plan.parts.map((p) => p.length)).toEqual([153, 8]);
  });

  it('fills whole segments at 153 * 2 and opens a third at 153 * 2 + 1', () => {
    expect(planSms(repeat('b', 306)).parts.map((p) => p.length)).toEqual([153, 153]);
    const plan = planSms(repeat('b', 307));
    expect(plan).toMatchObject({ units: 307, segments: 3 });
    expect(plan.parts.map((p) => p.length)).toEqual([153, 153, 1]);
  });

  it('counts extension characters twice', () => {
    expect(planSms(repeat('€', 80))).toMatchObject({ encoding: 'GSM-7', units: 160, segments: 1 });
    expect(planSms(repeat('€', 80) + 'x')).toMatchObject({ units: 161, segments: 2 });
    expect(planSms('[]{}\\^~|\f')).toMatchObject({ units: 18, segments: 1 });
  });

  it('moves a € that would straddle septets 153 and 154 whole into the next segment', () => {
    const text = repeat('a', 152) + '€' + repeat('a', 20);
    const plan = planSms(text);
    expect(plan).toMatchObject({ encoding: 'GSM-7', units: 174, segments: 2, perSegment: 153 });
    expect(plan.parts).toEqual([repeat('a', 152), '€' + repeat('a', 20)]);
    // One character earlier it fits exactly.
    const fits = planSms(repeat('a', 151) + '€' + repeat('a', 21));
    expect(fits.parts.map((p) => p.length)).toEqual([152, 21]);
  });

  it('switches the whole text to UCS-2 for one character outside GSM-7', () => {
    const text = repeat('a', 69) + 'ç';
    expect(planSms(text)).toEqual({ encoding: 'UCS-2', units: 70, segments: 1, perSegment: 70, parts: [text] });
    const longer = planSms(repeat('a', 70) + 'ç');
    expect(longer).toMatchObject({ encoding: 'UCS-2', units: 71, segments: 2, perSegment: 67 });
    expect(longer.parts.map((p) => p.length)).toEqual([67, 4]);
    // Extension characters cost one unit in UCS-2.
    expect(planSms('€ç')).toMatchObject({ encoding: 'UCS-2', units: 2 });
  });

  it('counts an emoji as two UCS-2 units and never splits it', () => {
    expect(planSms(repeat(EMOJI, 35))).toMatchObject({ encoding: 'UCS-2', units: 70, segments: 1 });
    const straddling = planSms(repeat('a', 66) + EMOJI + repeat('a', 10));
    expect(straddling).toMatchObject({ units: 78, segments: 2, perSegment: 67 });
    expect(straddling.parts).toEqual([repeat('a', 66), EMOJI + repeat('a', 10)]);
    const fitting = planSms(repeat('a', 65) + EMOJI + repeat('a', 10));
    expect(fitting.parts).toEqual([repeat('a', 65) + EMOJI, repeat('a', 10)]);
  });

  it('gives back the text when the parts are joined', () => {
    const text = `Winter sale €20 off {code} ${EMOJI} `.repeat(12);
    const plan = planSms(text);
    expect(plan.parts.join('')).toBe(text);
    expect(plan.segments).toBe(plan.parts.length);
    expect(plan.parts.every((p) => [...p].reduce((n, ch) => n + ch.length, 0) <= 67)).toBe(true);
  });
});
