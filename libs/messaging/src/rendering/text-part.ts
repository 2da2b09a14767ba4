import { compile as compileHtmlToText, type HtmlToTextOptions } from 'html-to-text';
import { findCodeSpans } from './template-syntax';

/**
 * html-to-text settings for the plain-text part: headings keep their case (personalised values
 * would not be upper-cased with them), layout tables read as blocks, images are left out, and a
 * link shows its URL in brackets after its words. The hidden preheader stays: it opens the text.
 */
const TEXT_OPTIONS: HtmlToTextOptions = {
  wordwrap: 78,
  selectors: [
    { selector: 'img', format: 'skip' },
    { selector: 'a', options: { hideLinkHrefIfSameAsText: true } },
    ...['h1', 'h2', 'h3', 'h4', 'h5', 'h6'].map((selector) => ({ selector, options: { uppercase: false } })),
    ...['table', 'tr', 'td', 'th'].map((selector) => ({
      selector,
      format: 'block',
      options: { leadingLineBreaks: 1, trailingLineBreaks: 1 },
    })),
  ],
};

/** One converter for the process: html-to-text compiles its selectors once. */
export const htmlToText: (html: string) => string = compileHtmlToText(TEXT_OPTIONS);

// Private-use characters: html-to-text keeps them as ordinary letters, and no template contains them.
const OPEN = '\uE000';
const CLOSE = '\uE001';
const PLACEHOLDER = new RegExp(`${OPEN}(\\d+)${CLOSE}`, 'g');

/**
 * The text part as a template, derived once from the HTML template instead of converting every
 * rendered message (html-to-text costs about half a millisecond per 5 KB email). Each run of
 * handlebars code becomes a placeholder word, the HTML is converted, and the code is put back.
 * Returns null when the conversion dropped or moved a block tag (a `{{#if}}` between table rows or
 * inside a tag): the caller then converts each rendered message instead, slower but always right.
 */
export function deriveTextTemplate(htmlTemplate: string): string | null {
  const spans = findCodeSpans(htmlTemplate);
  let masked = '';
  let at = 0;
  spans.forEach((span, i) => {
    masked += htmlTemplate.slice(at, span.start) + OPEN + i + CLOSE;
    at = span.end;
  });
  masked += htmlTemplate.slice(at);

  const text = htmlToText(masked);
  const structural = spans.flatMap((span, i) => (span.isStructural ? [i] : []));
  const seen: number[] = [];
  let out = '';
  let last = 0;
  for (const match of text.matchAll(PLACEHOLDER)) {
    const i = Number(match[1]);
    const literal = text.slice(last, match.index);
    // Decoded text that now spells `{{` (from `&#123;&#123;`) or ends in a backslash (which would
    // escape the code after it) would not print as written: convert per message instead.
    if (literal.includes('{{') || literal.endsWith('\\')) return null;
    if (spans[i].isStructural) seen.push(i);
    out += literal + htmlTemplate.slice(spans[i].start, spans[i].end);
    last = match.index + match[0].length;
  }
  const tail = text.slice(last);
  if (tail.includes('{{')) return null;
  out += tail;
  const isIntact = seen.length === structural.length && seen.every((i, k) => i === structural[k]);
  return isIntact ? out : null;
}
