import { TemplateCompileError } from '@closeloop/core';
import { checkVocabulary, findCodeSpans, isSelfContained, maskCode, parseTemplate, tokenize } from './template-syntax';

describe('findCodeSpans', () => {
  it('gives each run of handlebars code with its offsets, and marks what opens or closes a block', () => {
    const source =
      'Hi \\{{x}} {{!-- note --}}<a href="{{#if a}}x{{else}}y{{/if}}">{{{b}}}{{c}}</a>{{{{raw}}}}{{d}}{{{{/raw}}}}';
    const spans = findCodeSpans(source);
    expect(spans.map((s) => [source.slice(s.start, s.end), s.isStructural])).toEqual([
      ['{{!-- note --}}', false],
      ['{{#if a}}', true],
      ['{{else}}', true],
      ['{{/if}}', true],
      ['{{{b}}}{{c}}', false],
      ['{{{{raw}}}}', true],
      ['{{{{/raw}}}}', true],
    ]);
  });

  it('masks code with spaces, keeping every offset', () => {
    const source = '<a href="{{url "x"}}">{{name}}</a>';
    expect(maskCode(source, findCodeSpans(source))).toBe('<a href="           ">        </a>');
  });
});

describe('tokenize', () => {
  it('reports offsets and 1-based lines and columns, also after a comment (jison miscounts those)', () => {
    const source = '{{!-- a\ncomment --}}\r\n  {{#if x}}';
    const tokens = tokenize(source);
    expect(tokens.map((t) => [t.type, t.text, source.slice(t.start, t.end), t.line, t.column])).toEqual([
      ['COMMENT', '{{!-- a\ncomment --}}', '{{!-- a\ncomment --}}', 1, 1],
      ['CONTENT', '\r\n  ', '\r\n  ', 2, 13],
      ['OPEN_BLOCK', '{{#', '{{#', 3, 3],
      ['ID', 'if', 'if', 3, 6],
      ['ID', 'x', 'x', 3, 9],
      ['CLOSE', '}}', '}}', 3, 10],
    ]);
  });

  it('locates a parse error after a comment', () => {
    expect(() => parseTemplate('{{!-- note --}}\n{{!-- more --}} {{foo bar}', 'html')).toThrow(
      "html: Parse error on line 2, column 26: expected }}, got '}'",
    );
  });
});

describe('isSelfContained', () => {
  it('is true for whole blocks only', () => {
    const of = (source: string) => isSelfContained(tokenize(source));
    expect(of('{{x}}{{#if a}}b{{else if c}}d{{else}}e{{/if}}')).toBe(true);
    expect(of('{{#if a}}')).toBe(false);
    expect(of('{{/if}}{{#if a}}')).toBe(false);
    expect(of('x{{else}}y')).toBe(false);
  });
});

describe('parseTemplate', () => {
  it('parses valid source', () => {
    expect(parseTemplate('Hi {{customer.firstName}}', 'subject').body).toHaveLength(2);
  });

  it('points at the unclosed block of the innermost level', () => {
    expect(() => parseTemplate('{{#each a}}\n{{#with b}}\n  {{#if c}}{{/if}}\n{{/with}}', 'html')).toThrow(
      new TemplateCompileError(
        'html: Parse error on line 1, column 1: expected {{/each}} to close {{#each}}',
        1,
        1,
        'html',
      ),
    );
    expect(() => parseTemplate('{{#each a}}{{/each}}\n{{^if b}}', 'text')).toThrow(
      'text: Parse error on line 2, column 1: expected {{/if}} to close {{^if}}',
    );
  });

  it('names a closing tag with no block open', () => {
    expect(() => parseTemplate('a\n{{/if}}', 'html')).toThrow(
      "html: Parse error on line 2, column 1: expected the end of the template, got '{{/'",
    );
  });
});

describe('checkVocabulary', () => {
  const vocabulary = {
    helpers: new Set(['if', 'money']),
    partials: new Set(['footer']),
    reserved: new Set(['x-internal']),
  };
  const check = (source: string) => checkVocabulary(parseTemplate(source, 'html'), 'html', vocabulary);

  it('accepts known helpers, sections, inline and shipped partials and the usual data variables', () => {
    expect(() =>
      check(
        '{{#if a}}{{money 1 "EUR"}}{{/if}}{{#customer.vip}}v{{/customer.vip}}{{name}}' +
          '{{#*inline "p"}}x{{/inline}}{{> p}}{{> footer}}{{@root.customer}}',
      ),
    ).not.toThrow();
  });

  it('refuses unknown helpers in mustaches, blocks, subexpressions and hash values', () => {
    expect(() => check('{{#repeat 3}}x{{/repeat}}')).toThrow('html: unknown helper "repeat" on line 1, column 1');
    expect(() => check('{{money (add 1 2) "EUR"}}')).toThrow('html: unknown helper "add" on line 1, column 9');
    expect(() => check('{{money 1 currency=(pick "EUR")}}')).toThrow(
      'html: unknown helper "pick" on line 1, column 20',
    );
  });

  it('refuses computed partial names, unknown decorators and reserved names', () => {
    expect(() => check('{{> (whichPartial)}}')).toThrow('html: a partial name must be written out, not computed');
    expect(() => check('{{* decorate}}')).toThrow('html: unknown decorator "decorate" on line 1, column 1');
    expect(() => check('{{x-internal}}')).toThrow('html: "x-internal" is reserved on line 1, column 3');
  });
});
