import { csvField, csvRow } from './csv';

describe('CSV export fields', () => {
  it('quotes per RFC 4180', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField(null)).toBe('');
    expect(csvRow(['a', 1, null])).toBe('a,1,\r\n');
  });

  it.each(['=HYPERLINK("http://x")', '+1+1', '-2+3', '@SUM(A1)', '\tx', '\rx'])('defuses %j', (formula) => {
    expect(csvField(formula).replace(/^"/, '').startsWith("'")).toBe(true);
  });

  it('leaves E.164 phones readable but not executable', () => {
    expect(csvField('+4915112345678')).toBe("'+4915112345678");
  });
});
