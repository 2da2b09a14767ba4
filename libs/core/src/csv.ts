/**
 * One CSV field for export: quoted when needed (RFC 4180), and a value that a spreadsheet would
 * run as a formula (starting with = + - @, tab or CR) is prefixed with an apostrophe.
 */
export function csvField(value: unknown): string {
  let text = value === null || value === undefined ? '' : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export const csvRow = (values: unknown[]): string => `${values.map(csvField).join(',')}\r\n`;
