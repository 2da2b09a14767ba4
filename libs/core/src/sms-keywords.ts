import { ConfigError } from './errors';

/**
 * What an inbound (mobile-originated) SMS asks for: 'stop' (opt out of SMS), 'start' (opt back
 * in) or 'reply' (anything else: a message for a person, or for nobody).
 *
 * A message is a keyword only when the whole of it is one: "stop", " Stop! " and "“STOP”" stop,
 * "stop by the shop" and "please stop" are replies (a carrier or a person may still read them).
 * Before comparing, the text is
 * - NFKC-normalised, so full-width ＳＴＯＰ from an East Asian keyboard is STOP;
 * - cleared of invisible format characters (zero-width spaces and joiners, byte order marks,
 *   direction marks) that some phones and keyboards slip in;
 * - trimmed, stripped of surrounding quotes (straight, curly, guillemets) and of trailing full
 *   stops and exclamation marks;
 * - upper-cased.
 * A word on both lists counts as stop: refusing an opt-out is the costly mistake.
 *
 * The lists default to the usual carrier keywords (DEFAULT_STOP_WORDS, DEFAULT_START_WORDS) and
 * can be configured with parseKeywordList: comma-separated words of 2 to 20 letters or digits.
 */
export const DEFAULT_STOP_WORDS: readonly string[] = [
  'STOP',
  'STOPALL',
  'UNSUBSCRIBE',
  'CANCEL',
  'END',
  'QUIT',
  'OPTOUT',
];
export const DEFAULT_START_WORDS: readonly string[] = ['START', 'UNSTOP'];

export type SmsIntent = 'stop' | 'start' | 'reply';

const FORMAT_CHARACTERS = /\p{Cf}/gu;
const QUOTES = `"'“”„‘’‚«»‹›`;
const LEADING = new RegExp(`^[\\s${QUOTES}]+`, 'u');
const TRAILING = new RegExp(`[\\s${QUOTES}.!]+$`, 'u');
/** Longer than any keyword could be once cleaned; spares the work on long messages. */
const MAX_KEYWORD_MESSAGE = 200;
const KEYWORD = /^[A-Z0-9]{2,20}$/;

function keywordOf(text: string): string {
  return text.normalize('NFKC').replace(FORMAT_CHARACTERS, '').replace(LEADING, '').replace(TRAILING, '').toUpperCase();
}

/** What the message asks for (see the module comment). */
export function smsIntent(
  text: string,
  words: { stop: readonly string[]; start: readonly string[] } = {
    stop: DEFAULT_STOP_WORDS,
    start: DEFAULT_START_WORDS,
  },
): SmsIntent {
  if (typeof text !== 'string' || text.length > MAX_KEYWORD_MESSAGE) return 'reply';
  const word = keywordOf(text);
  if (word === '') return 'reply';
  const has = (list: readonly string[]) =>
    Array.isArray(list) && list.some((w) => typeof w === 'string' && w.toUpperCase() === word);
  if (has(words?.stop)) return 'stop';
  if (has(words?.start)) return 'start';
  return 'reply';
}

/**
 * A keyword list from configuration (e.g. SMS_STOP_WORDS="STOP,ARRET,HALT"): comma-separated,
 * trimmed, upper-cased, duplicates dropped, first occurrence order kept. Throws ConfigError
 * naming `name` for an empty list or any entry that is not 2 to 20 letters or digits.
 */
export function parseKeywordList(raw: string, name: string): string[] {
  const words = String(raw ?? '')
    .split(',')
    .map((w) => w.trim().toUpperCase());
  if (words.some((w) => !KEYWORD.test(w))) {
    throw new ConfigError(name, 'must be comma-separated words of 2-20 letters or digits');
  }
  return [...new Set(words)];
}
