/**
 * How an SMS text is encoded and cut into segments (3GPP TS 23.038 / 23.040), so a send is
 * counted and split the same way before it is priced, previewed and submitted.
 */
export type SmsEncoding = 'GSM-7' | 'UCS-2';

export interface SmsPlan {
  encoding: SmsEncoding;
  /** GSM-7 septets (an extension-table character counts 2) or UTF-16 code units. */
  units: number;
  segments: number;
  /** 160 or 70 for a single message, 153 or 67 per segment of a concatenated one. */
  perSegment: number;
  /** The text of each segment, in order; joined they give the text back. */
  parts: string[];
}

// The GSM 7-bit default alphabet in code order, without 0x1B (the escape to the extension table).
const GSM7_BASIC = new Set(
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?' +
    '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà',
);
// Reached through the escape, so each of them costs two septets.
const GSM7_EXTENSION = new Set('\f^{}\\[~]|€');

const LIMITS = {
  'GSM-7': { single: 160, concatenated: 153 },
  // The concatenation header (6 octets) takes 7 septets or 3 UCS-2 units of each segment.
  'UCS-2': { single: 70, concatenated: 67 },
} as const;

export function isGsm7(text: string): boolean {
  for (const ch of text) if (!GSM7_BASIC.has(ch) && !GSM7_EXTENSION.has(ch)) return false;
  return true;
}

const septetsOf = (ch: string): number => (GSM7_EXTENSION.has(ch) ? 2 : 1);
const codeUnitsOf = (ch: string): number => ch.length;

/**
 * One character outside GSM-7 makes the whole text UCS-2. Segments are cut between characters,
 * never inside an escape pair or a surrogate pair (an emoji), so a segment may hold one unit less
 * than `perSegment`. The empty text is one empty segment: what an SMSC bills for an empty submit.
 */
export function planSms(text: string): SmsPlan {
  const encoding: SmsEncoding = isGsm7(text) ? 'GSM-7' : 'UCS-2';
  const costOf = encoding === 'GSM-7' ? septetsOf : codeUnitsOf;
  const { single, concatenated } = LIMITS[encoding];
  const characters = [...text]; // by code point: a surrogate pair stays together
  const units = characters.reduce((sum, ch) => sum + costOf(ch), 0);
  if (units <= single) return { encoding, units, segments: 1, perSegment: single, parts: [text] };
  const parts = cutIntoSegments(characters, costOf, concatenated);
  return { encoding, units, segments: parts.length, perSegment: concatenated, parts };
}

function cutIntoSegments(characters: string[], costOf: (ch: string) => number, perSegment: number): string[] {
  const parts: string[] = [];
  let current = '';
  let used = 0;
  for (const ch of characters) {
    const cost = costOf(ch);
    if (used + cost > perSegment) {
      parts.push(current);
      current = '';
      used = 0;
    }
    current += ch;
    used += cost;
  }
  parts.push(current);
  return parts;
}
