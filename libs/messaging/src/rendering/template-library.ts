import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { BLOCK_CLOSERS, BLOCK_OPENERS, parseTemplate, TemplateToken, tokenize } from './template-syntax';

/** The layouts and partials shipped in `templates/`, read once when the engine starts. */
export interface TemplateLibrary {
  /** By name: `default` (HTML) and `default.text` (its plain-text twin). */
  layouts: ReadonlyMap<string, string>;
  partials: ReadonlyMap<string, string>;
}

const LAYOUT_NAME = /^[a-z0-9][a-z0-9-]*$/;
const MAX_PARTIAL_DEPTH = 8;

/** `<repo>/templates`, from the source tree, the compiled tree (`dist/`) or the working directory. */
export function defaultTemplatesDir(): string {
  const candidates = [
    resolve(__dirname, '../../../../templates'),
    resolve(__dirname, '../../../../../templates'),
    resolve(process.cwd(), 'templates'),
  ];
  return candidates.find((dir) => existsSync(join(dir, 'layouts'))) ?? candidates[candidates.length - 1];
}

function readTemplates(dir: string): Map<string, string> {
  const templates = new Map<string, string>();
  if (!existsSync(dir)) return templates;
  for (const file of readdirSync(dir).sort()) {
    if (!file.endsWith('.hbs')) continue;
    const name = basename(file, '.hbs');
    const source = readFileSync(join(dir, file), 'utf8');
    try {
      parseTemplate(source, 'html');
    } catch (error) {
      // A shipped file that does not parse is a bug in the release, not a marketer's mistake.
      throw new Error(`templates: ${join(dir, file)} does not compile: ${(error as Error).message}`, { cause: error });
    }
    templates.set(name, source);
  }
  return templates;
}

export function loadTemplateLibrary(templatesDir: string): TemplateLibrary {
  return {
    layouts: readTemplates(join(templatesDir, 'layouts')),
    partials: readTemplates(join(templatesDir, 'partials')),
  };
}

export function isLayoutName(name: string): boolean {
  return LAYOUT_NAME.test(name);
}

/** Where `{{{name}}}` sits in a layout: [start, end) offsets, or undefined. */
function findSlot(tokens: readonly TemplateToken[], name: string): { start: number; end: number } | undefined {
  for (let i = 0; i + 2 < tokens.length; i++) {
    const [open, id, close] = tokens.slice(i, i + 3);
    if (open.type === 'OPEN_UNESCAPED' && id.type === 'ID' && id.text === name && close.type === 'CLOSE_UNESCAPED') {
      return { start: open.start, end: close.end };
    }
  }
  return undefined;
}

/**
 * Fills the layout's `{{{body}}}` slot (required) and `{{{preheader}}}` slot (optional) with
 * template source: text substitution, so the result is one template compiled once.
 */
export function applyLayout(layout: string, slots: { body: string; preheader?: string }): string {
  const tokens = tokenize(layout);
  const body = findSlot(tokens, 'body');
  if (!body) throw new Error('templates: a layout needs a {{{body}}} slot');
  const fills = [{ ...body, source: slots.body }];
  const preheader = findSlot(tokens, 'preheader');
  if (preheader) fills.push({ ...preheader, source: slots.preheader ?? '' });
  fills.sort((a, b) => a.start - b.start);
  let out = '';
  let at = 0;
  for (const fill of fills) {
    out += layout.slice(at, fill.start) + fill.source;
    at = fill.end;
  }
  return out + layout.slice(at);
}

/**
 * Takes the preheader (the line mail apps show after the subject) out of the HTML: it is written
 * as a top-level `{{#*inline "preheader"}}...{{/inline}}` and fills the layout's preheader slot.
 */
export function extractPreheader(html: string): { html: string; preheader: string } {
  const tokens = tokenize(html);
  let depth = 0;
  for (let i = 0; i < tokens.length; i++) {
    const [open, name, label, close] = tokens.slice(i, i + 4);
    const isPreheader =
      depth === 0 &&
      open.type === 'OPEN_BLOCK' &&
      open.text.endsWith('#*') &&
      name?.type === 'ID' &&
      name.text === 'inline' &&
      label?.type === 'STRING' &&
      label.text === 'preheader' &&
      close?.type === 'CLOSE';
    if (isPreheader) {
      const end = findBlockEnd(tokens, i + 4);
      if (end < 0) break;
      const preheader = html.slice(close.end, tokens[end].start);
      return { html: html.slice(0, open.start) + html.slice(tokens[end + 2].end), preheader };
    }
    if (BLOCK_OPENERS.has(open.type)) depth++;
    else if (BLOCK_CLOSERS.has(open.type)) depth--;
  }
  return { html, preheader: '' };
}

/** Index of the `{{/` token that closes the block whose body starts at token `from`; -1 if none. */
function findBlockEnd(tokens: readonly TemplateToken[], from: number): number {
  let depth = 0;
  for (let i = from; i < tokens.length; i++) {
    if (BLOCK_OPENERS.has(tokens[i].type)) depth++;
    else if (BLOCK_CLOSERS.has(tokens[i].type)) {
      if (depth === 0) return tokens[i].type === 'OPEN_ENDBLOCK' ? i : -1;
      depth--;
    }
  }
  return -1;
}

/**
 * Writes each plain `{{> name}}` of a shipped partial into the source, so CSS inlining, link
 * tracking and the text part see the whole message. Partials with arguments or blocks stay
 * calls, resolved at render time from the same partials.
 */
export function expandPartials(source: string, partials: ReadonlyMap<string, string>): string {
  let expanded = source;
  for (let depth = 0; depth <= MAX_PARTIAL_DEPTH; depth++) {
    let changed = false;
    let out = '';
    let at = 0;
    const tokens = tokenize(expanded);
    for (let i = 0; i + 2 < tokens.length; i++) {
      const [open, name, close] = tokens.slice(i, i + 3);
      const isPlainCall =
        open.type === 'OPEN_PARTIAL' && open.text === '{{>' && name.type === 'ID' && close.type === 'CLOSE';
      if (!isPlainCall || close.text !== '}}' || !partials.has(name.text)) continue;
      out += expanded.slice(at, open.start) + partials.get(name.text);
      at = close.end;
      changed = true;
      i += 2;
    }
    if (!changed) return expanded;
    expanded = out + expanded.slice(at);
  }
  throw new Error(`templates: partials nest more than ${MAX_PARTIAL_DEPTH} deep (a partial that includes itself?)`);
}
