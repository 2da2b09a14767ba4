import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  applyLayout,
  defaultTemplatesDir,
  expandPartials,
  extractPreheader,
  loadTemplateLibrary,
} from './template-library';

describe('applyLayout', () => {
  it('fills the body and preheader slots, even side by side', () => {
    expect(applyLayout('<i>{{{preheader}}}</i>{{{body}}}{{{ body }}}{{x}}', { body: 'B{{y}}', preheader: 'P' })).toBe(
      '<i>P</i>B{{y}}{{{ body }}}{{x}}',
    );
    expect(applyLayout('<i>{{{preheader}}}</i>{{{body}}}', { body: 'B' })).toBe('<i></i>B');
  });

  it('needs a body slot', () => {
    expect(() => applyLayout('<p>{{body}}</p>', { body: 'B' })).toThrow('templates: a layout needs a {{{body}}} slot');
  });
});

describe('extractPreheader', () => {
  it('takes a top-level inline "preheader" out of the HTML', () => {
    expect(extractPreheader('<p>a</p>{{#*inline "preheader"}}Save {{x}}{{#if y}}!{{/if}}{{/inline}}<p>b</p>')).toEqual({
      html: '<p>a</p><p>b</p>',
      preheader: 'Save {{x}}{{#if y}}!{{/if}}',
    });
  });

  it('leaves other inline partials and nested ones alone', () => {
    const html = '{{#*inline "other"}}o{{/inline}}{{#if a}}{{#*inline "preheader"}}p{{/inline}}{{/if}}';
    expect(extractPreheader(html)).toEqual({ html, preheader: '' });
  });
});

describe('expandPartials', () => {
  const partials = new Map([
    ['footer', '<p>{{> legal}}</p>'],
    ['legal', '(c) {{program.name}}'],
    ['loop', '{{> loop}}'],
  ]);

  it('writes plain partial calls out, recursively, and leaves calls with arguments to render time', () => {
    expect(
      expandPartials(
        'a {{> footer}} b {{> footer name=x}} {{> unknown}} {{{{raw}}}}{{> footer}}{{{{/raw}}}}',
        partials,
      ),
    ).toBe('a <p>(c) {{program.name}}</p> b {{> footer name=x}} {{> unknown}} {{{{raw}}}}{{> footer}}{{{{/raw}}}}');
  });

  it('stops a partial that includes itself', () => {
    expect(() => expandPartials('{{> loop}}', partials)).toThrow('templates: partials nest more than 8 deep');
  });
});

describe('loadTemplateLibrary', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'closeloop-library-'));
    mkdirSync(join(dir, 'layouts'));
    mkdirSync(join(dir, 'partials'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads layouts and partials by file name', () => {
    writeFileSync(join(dir, 'layouts', 'plain.hbs'), '{{{body}}}');
    writeFileSync(join(dir, 'layouts', 'plain.text.hbs'), '{{{body}}}\n--');
    writeFileSync(join(dir, 'partials', 'footer.hbs'), 'F');
    writeFileSync(join(dir, 'partials', 'notes.txt'), 'ignored');
    const library = loadTemplateLibrary(dir);
    expect([...library.layouts.keys()]).toEqual(['plain', 'plain.text']);
    expect([...library.partials.entries()]).toEqual([['footer', 'F']]);
  });

  it('refuses a shipped file that does not compile', () => {
    writeFileSync(join(dir, 'partials', 'broken.hbs'), '{{#if x}}');
    expect(() => loadTemplateLibrary(dir)).toThrow(
      /^templates: .*broken\.hbs does not compile: html: Parse error on line 1/,
    );
  });

  it('finds the repository templates folder by default', () => {
    expect(loadTemplateLibrary(defaultTemplatesDir()).layouts.has('default')).toBe(true);
  });
});
