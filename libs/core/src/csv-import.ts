import { ValidationError } from './errors';

/** What a CSV import loads. */
export type ImportKind = 'customers' | 'orders' | 'suppressions';
export const IMPORT_KINDS: readonly ImportKind[] = ['customers', 'orders', 'suppressions'];

/** `valid-rows` applies every valid row; `all-or-nothing` applies nothing when any row is rejected. */
export type ImportMode = 'valid-rows' | 'all-or-nothing';
export const IMPORT_MODES: readonly ImportMode[] = ['valid-rows', 'all-or-nothing'];

/** A header spelling reduced to compare: case, spaces, `_` and `-` do not matter. */
export const headerKey = (header: string): string => header.toLowerCase().replace(/[\s_-]+/g, '');

/**
 * The columns each import understands, by field, with the other spellings accepted for them
 * (compared through headerKey). Customer attributes come as `attributes.<name>` (or `attr.<name>`).
 */
export const IMPORT_COLUMNS: Record<ImportKind, Record<string, string[]>> = {
  customers: {
    externalId: ['externalid', 'customerid', 'customerexternalid', 'id'],
    email: ['email', 'emailaddress', 'mail'],
    phone: ['phone', 'phonenumber', 'mobile', 'mobilephone', 'msisdn'],
    firstName: ['firstname', 'givenname', 'forename'],
    lastName: ['lastname', 'surname', 'familyname'],
    locale: ['locale', 'language'],
    timeZone: ['timezone', 'tz'],
    country: ['country', 'countrycode'],
    birthDate: ['birthdate', 'dateofbirth', 'dob', 'birthday'],
    lifecycleStage: ['lifecyclestage', 'lifecycle'],
    consentEmail: ['consentemail', 'emailconsent', 'emailoptin'],
    consentSms: ['consentsms', 'smsconsent', 'smsoptin'],
  },
  orders: {
    externalId: ['externalid', 'orderid', 'orderexternalid', 'id'],
    customerExternalId: ['customerexternalid', 'customerid', 'customer'],
    orderedAt: ['orderedat', 'orderdate', 'date', 'time'],
    amount: ['amount', 'total', 'value'],
    margin: ['margin', 'profit'],
    currency: ['currency'],
    offerCode: ['offercode', 'coupon', 'couponcode', 'promocode'],
  },
  suppressions: {
    channel: ['channel'],
    address: ['address', 'email', 'phone', 'emailaddress', 'phonenumber'],
    reason: ['reason'],
    source: ['source'],
  },
};

const REQUIRED: Record<ImportKind, string[]> = {
  customers: ['externalId'],
  orders: ['externalId', 'customerExternalId', 'orderedAt', 'amount', 'currency'],
  suppressions: ['channel', 'address', 'reason'],
};

/** One file column: the field it feeds (or an attribute), and the header as the file spelled it. */
export interface ImportColumn {
  header: string;
  field: string;
  attribute?: string;
}

/**
 * Maps a file's header row to fields. Unknown, repeated and missing required columns fail the
 * whole file (a typo must not silently drop a column of data).
 */
export function mapImportHeader(kind: ImportKind, headers: string[]): ImportColumn[] {
  const spellings = new Map<string, string>();
  for (const [field, keys] of Object.entries(IMPORT_COLUMNS[kind])) for (const k of keys) spellings.set(k, field);
  const seen = new Map<string, string>();
  const unknown: string[] = [];
  const columns = headers.map((raw, i): ImportColumn => {
    const header = raw.trim();
    const attr = kind === 'customers' ? /^(?:attributes|attr)\.([A-Za-z_][A-Za-z0-9_]{0,63})$/i.exec(header) : null;
    const field = attr ? `attributes.${attr[1]}` : spellings.get(headerKey(header));
    if (!header) throw new ValidationError(`column ${i + 1} has an empty header`, 'header');
    if (!field) {
      unknown.push(header);
      return { header, field: '' };
    }
    const previous = seen.get(field);
    if (previous !== undefined) {
      throw new ValidationError(`columns "${previous}" and "${header}" both give ${field}`, 'header');
    }
    seen.set(field, header);
    return attr ? { header, field: 'attributes', attribute: attr[1] } : { header, field };
  });
  if (unknown.length) {
    throw new ValidationError(
      `unknown column${unknown.length > 1 ? 's' : ''} ${unknown.map((u) => `"${u.slice(0, 60)}"`).join(', ')}; ` +
        `known: ${Object.keys(IMPORT_COLUMNS[kind]).join(', ')}${kind === 'customers' ? ', attributes.<name>' : ''}`,
      'header',
    );
  }
  const missing = REQUIRED[kind].filter((f) => !seen.has(f));
  if (missing.length) throw new ValidationError(`the header has no ${missing.join(', ')} column`, 'header');
  return columns;
}

/** true/false, yes/no, y/n, 1/0 (any case); empty is "not given". */
export function parseCsvBoolean(value: string, field: string): boolean | undefined {
  const v = value.trim().toLowerCase();
  if (v === '') return undefined;
  if (['true', 'yes', 'y', '1'].includes(v)) return true;
  if (['false', 'no', 'n', '0'].includes(v)) return false;
  throw new ValidationError(`${field} must be true/false, yes/no or 1/0, got "${value.slice(0, 40)}"`, field);
}

/**
 * An attribute cell as JSON: `true`/`false` become booleans, plain decimal numbers without a
 * leading zero become numbers (so `01234` stays the text a postcode is), everything else text.
 */
export function csvAttributeValue(value: string): string | number | boolean {
  const v = value.trim();
  if (v === 'true' || v === 'false') return v === 'true';
  if (/^-?(?:0|[1-9]\d{0,14})(?:\.\d{1,12})?$/.test(v)) return Number(v);
  return v;
}

/** A value in PostgreSQL's COPY text format (null as \N; backslash, tab, newline and CR escaped). */
export function copyValue(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined) return '\\N';
  const text = String(value);
  return /[\\\t\n\r]/.test(text)
    ? text.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r')
    : text;
}

/** Physical lines a parsed record spanned (quoted fields may hold line breaks). */
export function recordLines(fields: string[]): number {
  let lines = 1;
  for (const f of fields) {
    for (let i = f.indexOf('\n'); i !== -1; i = f.indexOf('\n', i + 1)) lines++;
  }
  return lines;
}

/** `,` by default; `tab`, `\t`, `;`, `|` or any one character that is not a quote or line break. */
export function parseDelimiter(value: string | undefined): string {
  if (value === undefined || value === '') return ',';
  if (value === 'tab' || value === '\\t') return '\t';
  if ([...value].length !== 1 || /["\r\n]/.test(value)) {
    throw new ValidationError('delimiter must be one character (or "tab"), not a quote or line break', 'delimiter');
  }
  return value;
}

/** Byte sizes in configuration: 512kb, 100mb, 2gb. */
export function parseByteSize(value: string): number | undefined {
  const m = /^(\d+)(b|kb|mb|gb)$/i.exec(value.trim());
  if (!m) return undefined;
  return Number(m[1]) * { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 }[m[2].toLowerCase() as 'b']!;
}
