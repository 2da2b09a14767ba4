import { Parser, QuoteType, Tokenizer } from 'htmlparser2';
import type { RenderState } from './render-state';

/** Where the value of one `<a href>` sits in an HTML document: [start, end) offsets. */
export interface HrefSpan {
  start: number;
  end: number;
  isQuoted: boolean;
}

export interface DocumentLandmarks {
  /** Every `<a href>` value, in document order (the first href of a tag: later duplicates are ignored, as browsers do). */
  hrefs: HrefSpan[];
  /** Offset of the last `</body>` tag, or null when the document has none. */
  bodyCloseAt: number | null;
}

const noop = (): void => undefined;

/**
 * Finds link hrefs and the end of the body with htmlparser2's tokenizer, which knows what a regex
 * does not: comments, `<script>`/`<style>` raw text, quoting rules and case-insensitive names.
 * Offsets refer to `html` unchanged (entities are not decoded), so the caller can splice into it.
 */
export function scanDocument(html: string): DocumentLandmarks {
  const hrefs: HrefSpan[] = [];
  let bodyCloseAt: number | null = null;
  let isAnchor = false;
  let hasHref = false;
  let attribute = '';
  let valueStart = -1;
  let valueEnd = -1;

  const tokenizer = new Tokenizer(
    { decodeEntities: false },
    {
      onopentagname(start, end) {
        isAnchor = html.slice(start, end).toLowerCase() === 'a';
        hasHref = false;
      },
      onattribname(start, end) {
        attribute = html.slice(start, end).toLowerCase();
        valueStart = -1;
        valueEnd = -1;
      },
      onattribdata(start, end) {
        if (valueStart < 0) valueStart = start;
        valueEnd = end;
      },
      onattribend(quote) {
        if (!isAnchor || attribute !== 'href' || hasHref) return;
        hasHref = true;
        if (quote !== QuoteType.NoValue && valueEnd > valueStart) {
          hrefs.push({ start: valueStart, end: valueEnd, isQuoted: quote !== QuoteType.Unquoted });
        }
      },
      onopentagend() {
        isAnchor = false;
      },
      onselfclosingtag() {
        isAnchor = false;
      },
      onclosetag(start, end) {
        if (html.slice(start, end).toLowerCase() === 'body') bodyCloseAt = html.lastIndexOf('<', start);
      },
      onattribentity: noop,
      oncdata: noop,
      oncomment: noop,
      ondeclaration: noop,
      onend: noop,
      onprocessinginstruction: noop,
      ontext: noop,
      ontextentity: noop,
    },
  );
  tokenizer.write(html);
  tokenizer.end();
  return { hrefs, bodyCloseAt };
}

/** Puts `open` and `close` around each href value; an unquoted value gets double quotes. */
export function wrapHrefs(html: string, hrefs: readonly HrefSpan[], open: string, close: string): string {
  let out = '';
  let at = 0;
  for (const href of hrefs) {
    const quote = href.isQuoted ? '' : '"';
    out += html.slice(at, href.start) + quote + open + html.slice(href.start, href.end) + close + quote;
    at = href.end;
  }
  return out + html.slice(at);
}

const ATTRIBUTE_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes a value for a double- or single-quoted HTML attribute. */
export function escapeAttribute(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ATTRIBUTE_ESCAPES[c]);
}

/** An attribute value as the browser reads it: `&amp;` is `&` (a URL's query separators are often written so). */
export function decodeAttribute(value: string): string {
  if (!value.includes('&')) return value;
  let decoded = value;
  const parser = new Parser(
    {
      onattribute(_name, v) {
        decoded = v;
      },
    },
    { decodeEntities: true },
  );
  parser.write(`<a href="${value.replace(/"/g, '&quot;')}">`);
  parser.end();
  return decoded;
}

const isTrackable = (destination: string): boolean => /^https?:\/\//i.test(destination);

/**
 * Render-time half of link tracking: `rendered` is one href value of this message. An http(s)
 * destination other than the unsubscribe link gets the next index (document order) and the
 * caller's tracking URL; anything else (mailto:, tel:, #anchors, the signed unsubscribe URL) is
 * returned exactly as rendered. The text part reuses the index the HTML part gave a destination.
 */
export function trackHref(rendered: string, state: RenderState): string {
  const destination = (state.isText ? rendered : decodeAttribute(rendered)).trim();
  if (!isTrackable(destination) || destination === state.context.unsubscribeUrl) return rendered;
  let index = state.isText ? state.links.indexOf(destination) : -1;
  if (index < 0) index = state.links.push(destination) - 1;
  if (!state.tracking) return rendered;
  const url = state.tracking.clickUrl(index, destination);
  return state.isText ? url : escapeAttribute(url);
}

/** The open pixel: hidden, empty alt, so neither a reader nor a screen reader notices it. */
export function openPixelTag(url: string): string {
  return `<img src="${escapeAttribute(url)}" width="1" height="1" alt="" style="display:none">`;
}
