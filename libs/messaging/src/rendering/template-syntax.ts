import Handlebars from 'handlebars';
import { TemplateCompileError } from '@closeloop/core';

/** The parts of a template a marketer writes; errors name the part, line and column. */
export type TemplatePart = 'subject' | 'html' | 'text' | 'body';

interface JisonLexer {
  yy?: object;
  setInput(input: string): void;
  lex(): number | string;
  /** What is left to read; the one offset jison keeps right (its `matched` and `yylloc` drift after `unput`). */
  _input: string;
  match: string;
  yytext: string;
}

// handlebars' jison parser is not in its typings, but its lexer is the exact account of where a
// `{{...}}` starts and ends (escapes, raw blocks, comments) and of where a parse error happened.
const parser = (Handlebars as unknown as { Parser: { lexer: JisonLexer; terminals_: Record<number, string> } }).Parser;

export interface TemplateToken {
  /** Jison terminal name: CONTENT, OPEN_BLOCK, ID, CLOSE ... */
  type: string;
  text: string;
  start: number;
  end: number;
  /** 1-based line and column of the token's first character. */
  line: number;
  column: number;
}

/** Offsets where each line starts (after \n, \r\n or \r). */
function lineStarts(source: string): number[] {
  const starts = [0];
  for (const match of source.matchAll(/\r\n?|\n/g)) starts.push(match.index + match[0].length);
  return starts;
}

function positionIn(starts: readonly number[], offset: number): { line: number; column: number } {
  let low = 0;
  let high = starts.length - 1;
  while (low < high) {
    const mid = (low + high + 1) >> 1;
    if (starts[mid] <= offset) low = mid;
    else high = mid - 1;
  }
  return { line: low + 1, column: offset - starts[low] + 1 };
}

/** 1-based line and column of an offset. */
export const positionAt = (source: string, offset: number) => positionIn(lineStarts(source), offset);

/**
 * The source's tokens, with offsets. A private copy of the shared lexer (Object.create) keeps the
 * parser's own lexer state untouched. Only call this on source that parses.
 */
export function tokenize(source: string): TemplateToken[] {
  const lexer = Object.create(parser.lexer) as JisonLexer;
  lexer.yy = {};
  lexer.setInput(source);
  const starts = lineStarts(source);
  const tokens: TemplateToken[] = [];
  for (;;) {
    const symbol = lexer.lex();
    const type = typeof symbol === 'number' ? parser.terminals_[symbol] : symbol;
    if (type === 'EOF' || symbol === 1) return tokens;
    const end = source.length - lexer._input.length;
    const start = end - lexer.match.length;
    tokens.push({ type, text: lexer.yytext, start, end, ...positionIn(starts, start) });
  }
}

/** Tokens that open a block (`{{#`, `{{^`, `{{#>`, `{{{{raw}}}}`) and that close one. */
export const BLOCK_OPENERS: ReadonlySet<string> = new Set([
  'OPEN_BLOCK',
  'OPEN_INVERSE',
  'OPEN_PARTIAL_BLOCK',
  'OPEN_RAW_BLOCK',
]);
export const BLOCK_CLOSERS: ReadonlySet<string> = new Set(['OPEN_ENDBLOCK', 'END_RAW_BLOCK']);
/** `{{else}}`, `{{^}}`, `{{else if ...}}`: they continue a block. */
const BLOCK_CONTINUERS: ReadonlySet<string> = new Set(['INVERSE', 'OPEN_INVERSE_CHAIN']);

const isStructural = (type: string): boolean =>
  BLOCK_OPENERS.has(type) || BLOCK_CLOSERS.has(type) || BLOCK_CONTINUERS.has(type);

/**
 * True when the tokens hold whole blocks only: each opened block closes among them and no
 * `{{else}}` belongs to a block outside them.
 */
export function isSelfContained(tokens: readonly TemplateToken[]): boolean {
  let depth = 0;
  for (const token of tokens) {
    if (BLOCK_OPENERS.has(token.type)) depth++;
    else if (BLOCK_CLOSERS.has(token.type)) depth--;
    else if (BLOCK_CONTINUERS.has(token.type) && depth === 0) return false;
    if (depth < 0) return false;
  }
  return depth === 0;
}

/** A run of handlebars code (one or more adjacent `{{...}}`) in a template source. */
export interface CodeSpan {
  start: number;
  end: number;
  /** Opens, continues or closes a block: the template breaks if it is lost or moved. */
  isStructural: boolean;
  tokens: TemplateToken[];
}

/** Every stretch of handlebars code in the source, in order; what lies between them is plain text. */
export function findCodeSpans(source: string): CodeSpan[] {
  const spans: CodeSpan[] = [];
  let current: CodeSpan | null = null;
  for (const token of tokenize(source)) {
    if (token.type === 'CONTENT') {
      current = null;
      continue;
    }
    // Adjacent tokens with no content between them (whitespace inside a mustache, `{{a}}{{b}}`) form one span.
    if (!current) {
      current = { start: token.start, end: token.end, isStructural: false, tokens: [] };
      spans.push(current);
    }
    current.end = token.end;
    current.tokens.push(token);
    if (isStructural(token.type)) current.isStructural = true;
  }
  return spans;
}

/** The source with every code span blanked to spaces: same length, so offsets still match. */
export function maskCode(source: string, spans: readonly CodeSpan[]): string {
  let out = '';
  let at = 0;
  for (const span of spans) {
    out += source.slice(at, span.start) + ' '.repeat(span.end - span.start);
    at = span.end;
  }
  return out + source.slice(at);
}

/** Parses one part; a syntax error becomes a TemplateCompileError naming the part, line and column. */
export function parseTemplate(source: string, part: TemplatePart): hbs.AST.Program {
  try {
    return Handlebars.parse(source);
  } catch (error) {
    throw toCompileError(error, source, part);
  }
}

const TOKEN_WORDS: Record<string, string> = {
  CLOSE: '}}',
  CLOSE_UNESCAPED: '}}}',
  CLOSE_SEXPR: ')',
  CLOSE_RAW_BLOCK: '}}}}',
  CLOSE_BLOCK_PARAMS: '|',
  OPEN_ENDBLOCK: 'a closing {{/...}}',
  EOF: 'the end of the template',
  ID: 'a name',
};

/** Jison lists every token its state accepts; the first of these is what the author most likely missed. */
function describeExpected(tokens: string[]): string {
  const best = Object.keys(TOKEN_WORDS).find((t) => tokens.includes(t));
  if (best) return TOKEN_WORDS[best];
  return tokens.length ? tokens.map((t) => t.toLowerCase()).join(' or ') : 'something else';
}

function toCompileError(error: unknown, source: string, part: TemplatePart): TemplateCompileError {
  const message = error instanceof Error ? error.message : String(error);
  // Block mismatches ("if doesn't match each") come from handlebars with a 0-based column.
  if (error instanceof Handlebars.Exception && typeof error.lineNumber === 'number') {
    const detail = message.replace(/ - \d+:\d+$/, '');
    return located(part, error.lineNumber, (Number(error.column) || 0) + 1, detail);
  }
  // Jison errors: the shared lexer still holds the token the parser stopped at (synchronously).
  const lexer = parser.lexer;
  const where = positionAt(source, source.length - (lexer._input?.length ?? 0) - (lexer.match?.length ?? 0));
  const parse = /^Parse error on line \d+:[\s\S]*Expecting ([\s\S]*), got '([^']*)'$/.exec(message);
  if (parse) {
    const expected = parse[1].split(', ').map((t) => t.replace(/'/g, ''));
    const got = parse[2];
    if (got === 'EOF' && expected.includes('OPEN_ENDBLOCK')) {
      const open = findUnclosedBlock(source);
      if (open) return located(part, open.line, open.column, `expected {{/${open.name}}} to close ${open.opener}`);
    }
    const gotText = got === 'EOF' ? 'the end of the template' : `'${lexer.match}'`;
    return located(part, where.line, where.column, `expected ${describeExpected(expected)}, got ${gotText}`);
  }
  if (/^Lexical error/.test(message)) return located(part, where.line, where.column, 'unrecognised text');
  return new TemplateCompileError(`${part}: ${message}`, 1, 1, part);
}

function located(part: TemplatePart, line: number, column: number, detail: string): TemplateCompileError {
  return new TemplateCompileError(
    `${part}: Parse error on line ${line}, column ${column}: ${detail}`,
    line,
    column,
    part,
  );
}

/** The innermost block never closed: an author fixes `{{#if}}` on line 3, not "end of input" on line 40. */
function findUnclosedBlock(source: string): { name: string; opener: string; line: number; column: number } | null {
  let tokens: TemplateToken[];
  try {
    tokens = tokenize(source);
  } catch {
    return null;
  }
  const open: { name: string; opener: string; line: number; column: number }[] = [];
  tokens.forEach((token, i) => {
    if (BLOCK_OPENERS.has(token.type)) {
      const name = tokens[i + 1]?.type === 'ID' ? tokens[i + 1].text : '';
      open.push({ name, opener: `${token.text.replace(/~$/, '')}${name}}}`, line: token.line, column: token.column });
    } else if (BLOCK_CLOSERS.has(token.type)) {
      open.pop();
    }
  });
  return open.at(-1) ?? null;
}

/** What a template may name: helpers, partials, and data variables (`@index` ...). */
export interface TemplateVocabulary {
  helpers: ReadonlySet<string>;
  partials: ReadonlySet<string>;
  /** Names the engine keeps for itself (its link and pixel helpers). */
  reserved: ReadonlySet<string>;
}

const DATA_VARIABLES = new Set(['root', 'index', 'key', 'first', 'last']);

type AnyNode = hbs.AST.Node & Record<string, unknown>;

/** Calls `visit` on every node of the tree, parents first. */
export function walkTemplate(node: hbs.AST.Node | null | undefined, visit: (node: AnyNode) => void): void {
  if (!node || typeof node !== 'object') return;
  const n = node as AnyNode;
  visit(n);
  for (const key of ['body', 'params', 'pairs']) {
    const list = n[key];
    if (Array.isArray(list)) for (const child of list) walkTemplate(child as hbs.AST.Node, visit);
  }
  for (const key of ['path', 'name', 'hash', 'value', 'program', 'inverse']) {
    const child = n[key];
    if (child && typeof child === 'object' && 'type' in child) walkTemplate(child as hbs.AST.Node, visit);
  }
}

const isHelperCall = (n: AnyNode): boolean =>
  n.type === 'SubExpression' ||
  ((n.type === 'MustacheStatement' || n.type === 'BlockStatement') &&
    (((n.params as unknown[]) ?? []).length > 0 || ((n.hash as hbs.AST.Hash | undefined)?.pairs ?? []).length > 0));

const nameOf = (n: AnyNode): string => {
  const path = (n.path ?? n.name) as (hbs.AST.PathExpression & { value?: unknown }) | undefined;
  return String(path?.original ?? path?.value ?? '');
};

/**
 * Refuses what compiles but cannot render as the author meant: a helper we do not have (handlebars
 * would fail at send time, or print nothing), a partial we do not ship, an unknown `@variable`.
 */
export function checkVocabulary(ast: hbs.AST.Program, part: TemplatePart, vocabulary: TemplateVocabulary): void {
  const inlinePartials = new Set<string>();
  walkTemplate(ast, (n) => {
    const firstParam = (n.params as AnyNode[] | undefined)?.[0];
    if (n.type === 'DecoratorBlock' && nameOf(n) === 'inline' && firstParam?.type === 'StringLiteral') {
      inlinePartials.add(String(firstParam.value));
    }
  });
  const refuse = (n: AnyNode, what: string, hint = ''): never => {
    const line = n.loc.start.line;
    const column = n.loc.start.column + 1;
    throw new TemplateCompileError(`${part}: ${what} on line ${line}, column ${column}${hint}`, line, column, part);
  };
  const knownHelpers = ` (known helpers: ${[...vocabulary.helpers].join(', ')})`;
  const knownPartials = ` (shipped partials: ${[...vocabulary.partials].join(', ') || 'none'})`;
  walkTemplate(ast, (n) => {
    if (n.type === 'Decorator' || n.type === 'DecoratorBlock') {
      if (nameOf(n) !== 'inline') refuse(n, `unknown decorator "${nameOf(n)}"`);
    } else if (n.type === 'PartialStatement' || n.type === 'PartialBlockStatement') {
      const name = n.name as AnyNode;
      if (name.type === 'SubExpression') refuse(n, 'a partial name must be written out, not computed');
      const partial = nameOf(n);
      if (!vocabulary.partials.has(partial) && !inlinePartials.has(partial)) {
        refuse(n, `unknown partial "${partial}"`, knownPartials);
      }
    } else if (n.type === 'PathExpression') {
      const path = n as unknown as hbs.AST.PathExpression;
      if (path.data && !DATA_VARIABLES.has(path.parts[0])) refuse(n, `unknown data variable "${path.original}"`);
      if (!path.data && vocabulary.reserved.has(path.parts[0])) refuse(n, `"${path.parts[0]}" is reserved`);
    } else if (isHelperCall(n)) {
      const helper = nameOf(n);
      if (!vocabulary.helpers.has(helper)) refuse(n, `unknown helper "${helper}"`, knownHelpers);
    }
  });
}
