import { csvField } from '@closeloop/core';

/**
 * What the CSV exports of analytics share (program report, scorecard, campaign report): RFC 4180
 * lines ending in CRLF, numbers written as plain decimals (so a lift of -0.012 stays a number a
 * spreadsheet can sum), every text value through core `csvField`, which quotes and defuses formulas.
 */

/** A header line of `columns`, then one line per record with its values in those columns, CRLF-terminated. */
export function csvTable<C extends string>(columns: readonly C[], records: Partial<Record<C, unknown>>[]): string {
  const lines = [
    columns.map((c) => csvField(c)).join(','),
    ...records.map((r) => columns.map((column) => csvValue(r[column])).join(',')),
  ];
  return `${lines.join('\r\n')}\r\n`;
}

/** Nothing as empty; numbers bypass the formula escaping (a leading minus is a sign, not a formula); all else is text. */
export function csvValue(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return plainDecimal(value);
  return csvField(String(value));
}

/**
 * A finite number as a plain decimal, never in exponent notation (1e-7 -> 0.0000001, 1e21 ->
 * 1000000000000000000000), with the full precision of the shortest round-trip form; empty when not finite.
 */
export function plainDecimal(n: number): string {
  if (!Number.isFinite(n)) return '';
  const text = String(n);
  const e = text.search(/e/i);
  if (e < 0) return text;
  const exponent = Number(text.slice(e + 1));
  let mantissa = text.slice(0, e);
  const sign = mantissa.startsWith('-') ? '-' : '';
  if (sign) mantissa = mantissa.slice(1);
  const [whole, fraction = ''] = mantissa.split('.');
  const digits = whole + fraction;
  const point = whole.length + exponent;
  let out: string;
  if (point <= 0) out = `0.${'0'.repeat(-point)}${digits}`;
  else if (point >= digits.length) out = digits + '0'.repeat(point - digits.length);
  else out = `${digits.slice(0, point)}.${digits.slice(point)}`;
  return sign + out;
}
