import Handlebars from 'handlebars';
import { openPixelTag, trackHref } from './link-rewriting';
import { RenderState, renderStateOf } from './render-state';

/** Helpers a template may call: handlebars' own (without `log`, which writes to the console) and ours. */
export const TEMPLATE_HELPERS: readonly string[] = Object.freeze([
  'if',
  'unless',
  'each',
  'with',
  'lookup',
  'formatDate',
  'money',
  'offerCode',
]);

/** Helpers the engine inserts itself when it compiles; a template that names one is refused. */
export const LINK_HELPER = 'closeloop-link';
export const OPEN_PIXEL_HELPER = 'closeloop-open-pixel';
export const PART_HELPER = 'closeloop-part';
export const INTERNAL_HELPERS: readonly string[] = Object.freeze([LINK_HELPER, OPEN_PIXEL_HELPER, PART_HELPER]);

export const DATE_STYLES = ['short', 'medium', 'long', 'full'] as const;
export type DateStyle = (typeof DATE_STYLES)[number];
const DEFAULT_DATE_STYLE: DateStyle = 'long';

// Intl formatters cost tens of microseconds to build and a send renders thousands of messages in a
// handful of locales and time zones, so they are built once per combination; and since every
// message of a send shows the same offer date and value, the formatted texts are kept too.
// Bounded: a customer table with odd locales must not grow them without end.
const MAX_CACHED_FORMATS = 1000;
const MAX_CACHED_TEXTS = 10_000;

interface MoneyFormat {
  format: Intl.NumberFormat;
  /** Minor units per major unit as a power of ten (2 for EUR, 0 for JPY, 3 for KWD). */
  digits: number;
}

/** Intl.DateTimeFormat and Intl.NumberFormat instances, built once per locale, time zone and style. */
export class IntlFormats {
  private readonly dates = new Map<string, Intl.DateTimeFormat>();
  private readonly money = new Map<string, MoneyFormat | null>();
  private readonly texts = new Map<string, string>();

  /** The text `format` gives for `key`, computed once; undefined (a value that cannot be formatted) is not kept. */
  remembered(key: string, format: () => string | undefined): string | undefined {
    let text = this.texts.get(key);
    if (text === undefined) {
      text = format();
      if (text !== undefined) remember(this.texts, key, text, MAX_CACHED_TEXTS);
    }
    return text;
  }

  dateFormat(locale: string, timeZone: string, style: DateStyle): Intl.DateTimeFormat {
    const key = `${locale}|${timeZone}|${style}`;
    let format = this.dates.get(key);
    if (!format) {
      format = buildDateFormat(locale, timeZone, style);
      remember(this.dates, key, format);
    }
    return format;
  }

  /** null when the currency is not one Intl knows. */
  moneyFormat(locale: string, currency: string): MoneyFormat | null {
    const key = `${locale}|${currency}`;
    let format = this.money.get(key);
    if (format === undefined) {
      format = buildMoneyFormat(locale, currency);
      remember(this.money, key, format);
    }
    return format;
  }
}

function remember<V>(cache: Map<string, V>, key: string, value: V, limit = MAX_CACHED_FORMATS): void {
  if (cache.size >= limit) cache.clear();
  cache.set(key, value);
}

// A bad locale or time zone on one customer must not fail the send: fall back, in that order.
function buildDateFormat(locale: string, timeZone: string, style: DateStyle): Intl.DateTimeFormat {
  for (const [l, tz] of [
    [locale, timeZone],
    [locale, 'UTC'],
    ['en-US', timeZone],
    ['en-US', 'UTC'],
  ]) {
    try {
      return new Intl.DateTimeFormat(l, { dateStyle: style, timeZone: tz });
    } catch {
      // RangeError: try the next fallback
    }
  }
  return new Intl.DateTimeFormat('en-US', { dateStyle: style, timeZone: 'UTC' });
}

function buildMoneyFormat(locale: string, currency: string): MoneyFormat | null {
  if (!/^[A-Za-z]{3}$/.test(currency)) return null;
  for (const l of [locale, 'en-US']) {
    try {
      const format = new Intl.NumberFormat(l, { style: 'currency', currency: currency.toUpperCase() });
      return { format, digits: format.resolvedOptions().maximumFractionDigits ?? 2 };
    } catch {
      // RangeError: a bad locale (a bad currency fails for every locale and ends with null)
    }
  }
  return null;
}

export interface DateValue {
  date: Date;
  /** A bare `YYYY-MM-DD` (a birthday, an offer's last day): a calendar day, the same in every time zone. */
  isCalendarDay: boolean;
}

/** A date from a Date, an ISO 8601 string or epoch milliseconds; undefined when it is none of these. */
export function toDateValue(value: unknown): DateValue | undefined {
  let date: Date | undefined;
  let isCalendarDay = false;
  if (value instanceof Date) date = value;
  else if (typeof value === 'number' && Number.isFinite(value)) date = new Date(value);
  else if (typeof value === 'string' && value.trim() !== '') {
    const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value.trim());
    isCalendarDay = day !== null;
    date = day ? new Date(Date.UTC(+day[1], +day[2] - 1, +day[3])) : new Date(value);
  }
  return date && !Number.isNaN(date.getTime()) ? { date, isCalendarDay } : undefined;
}

/** Integer minor units from a number, a bigint or a string of digits (numeric columns arrive as strings). */
export function toMinorUnits(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : undefined;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string' && /^-?\d+(\.0+)?$/.test(value.trim())) {
    const n = Number(value.trim());
    return Number.isSafeInteger(n) ? n : undefined;
  }
  return undefined;
}

const isMissing = (value: unknown): boolean => value === undefined || value === null || value === '';

/** A cache key part that tells a date string, a Date and epoch milliseconds apart. */
const valueKey = (value: unknown): string =>
  value instanceof Date ? `t${value.getTime()}` : `${typeof value === 'string' ? 's' : 'n'}${String(value)}`;

/** `{{formatDate offer.validUntil "long"}}`: a calendar date in the customer's locale and time zone. */
export function formatDate(formats: IntlFormats, state: RenderState, value: unknown, style: unknown): string {
  if (isMissing(value)) return '';
  const dateStyle = DATE_STYLES.includes(style as DateStyle) ? (style as DateStyle) : DEFAULT_DATE_STYLE;
  const key = `date|${state.locale}|${state.timeZone}|${dateStyle}|${valueKey(value)}`;
  const text = formats.remembered(key, () => {
    const parsed = toDateValue(value);
    const timeZone = parsed?.isCalendarDay ? 'UTC' : state.timeZone;
    return parsed && formats.dateFormat(state.locale, timeZone, dateStyle).format(parsed.date);
  });
  if (text === undefined) state.note(`formatDate: ${JSON.stringify(String(value))} is not a date`);
  return text ?? '';
}

/** `{{money offer.value offer.currency}}`: integer minor units as an amount in the customer's locale. */
export function formatMoney(formats: IntlFormats, state: RenderState, value: unknown, currency: unknown): string {
  if (isMissing(value)) return '';
  const minor = toMinorUnits(value);
  if (minor === undefined) {
    state.note(`money: ${JSON.stringify(String(value))} is not an amount in minor units`);
    return '';
  }
  const code = typeof currency === 'string' ? currency : '';
  const text = formats.remembered(`money|${state.locale}|${code}|${minor}`, () => {
    const format = formats.moneyFormat(state.locale, code);
    return format?.format.format(minor / 10 ** format.digits);
  });
  if (text === undefined) state.note(`money: ${JSON.stringify(String(currency ?? ''))} is not a currency code`);
  return text ?? '';
}

/**
 * `{{offerCode}}`: the code the customer quotes to redeem the offer. That is the cell's response
 * code when there is one (a conversion quoting it is attributed to the cell), else the offer's code.
 */
export function offerCode(state: RenderState): string {
  const { cell, offer } = state.context;
  for (const code of [cell?.responseCode, offer?.code]) {
    if (typeof code === 'string' && code !== '') return code;
  }
  state.note('offerCode: this customer has neither a response code nor an offer code');
  return '';
}

type HelperArgs = unknown[];

/** The handlebars options object is always the last argument; the values come before it. */
const splitArgs = (args: HelperArgs): { values: unknown[]; options: unknown } => ({
  values: args.slice(0, -1),
  options: args[args.length - 1],
});

function stateOrThrow(options: unknown): RenderState {
  const state = renderStateOf(options);
  // Only the engine calls templates, always with a state; this is a programming error, not input.
  if (!state) throw new Error('template rendered without a render state');
  return state;
}

/**
 * Installs the helpers on an isolated handlebars environment. None reads a file, the clock or the
 * environment: everything comes from the render context.
 */
export function registerTemplateHelpers(env: typeof Handlebars, formats: IntlFormats): void {
  env.unregisterHelper('log');
  env.registerHelper('formatDate', (...args: HelperArgs) => {
    const { values, options } = splitArgs(args);
    return formatDate(formats, stateOrThrow(options), values[0], values[1]);
  });
  env.registerHelper('money', (...args: HelperArgs) => {
    const { values, options } = splitArgs(args);
    return formatMoney(formats, stateOrThrow(options), values[0], values[1]);
  });
  env.registerHelper('offerCode', (...args: HelperArgs) => offerCode(stateOrThrow(splitArgs(args).options)));

  // Block helper around each link's href value: the block renders the destination, the helper
  // swaps in the tracking URL. Block output is not escaped again, so it escapes what it returns.
  env.registerHelper(LINK_HELPER, function (this: unknown, options: Handlebars.HelperOptions) {
    const state = stateOrThrow(options);
    return trackHref(options.fn(this), state);
  });
  // One template run renders a whole message; each part (subject, html, text) is a block of it
  // whose output is captured (a handlebars call costs microseconds of setup: one per message).
  env.registerHelper(PART_HELPER, function (this: unknown, part: string, options: Handlebars.HelperOptions) {
    const state = stateOrThrow(options);
    state.isText = part === 'text';
    state.parts[part] = options.fn(this);
    state.isText = false;
    return '';
  });
  env.registerHelper(OPEN_PIXEL_HELPER, (options: Handlebars.HelperOptions) => {
    const url = stateOrThrow(options).tracking?.openPixelUrl;
    return new env.SafeString(url ? openPixelTag(url) : '');
  });
}
