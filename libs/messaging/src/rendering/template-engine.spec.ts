import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Handlebars from 'handlebars';
import { TemplateCompileError, ValidationError } from '@closeloop/core';
import { LinkTracking, RenderContext, TEMPLATE_HELPERS, TemplateEngine } from './template-engine';
import { htmlToText } from './text-part';

const PIXEL = '<img src="https://t.example/o/send-1" width="1" height="1" alt="" style="display:none">';
const tracking: LinkTracking = {
  clickUrl: (index) => `https://t.example/c/send-1/${index}`,
  openPixelUrl: 'https://t.example/o/send-1',
};

function aContext(overrides: Partial<RenderContext> = {}): RenderContext {
  return {
    customer: {
      firstName: 'Anna',
      lastName: 'Berg',
      locale: 'en-US',
      timeZone: 'UTC',
      attributes: { tier: 'gold' },
    },
    offer: { code: 'SPRING15', name: '15 EUR off', value: 1500, currency: 'EUR', validUntil: '2026-05-31T12:00:00Z' },
    cell: { code: 'A', responseCode: 'K7Q2M9XD' },
    program: { code: 'SPRING', name: 'Spring offer' },
    unsubscribeUrl: 'https://t.example/u/send-1',
    ...overrides,
  };
}

const withCustomer = (customer: Record<string, unknown>): RenderContext => aContext({ customer });

/** A small templates folder, so layout behaviour can be checked to the character. */
function writeFixtureTemplates(dir: string): void {
  mkdirSync(join(dir, 'layouts'));
  mkdirSync(join(dir, 'partials'));
  const files: Record<string, string> = {
    'layouts/mini.hbs':
      '<html><head><style>p { margin: 0; } .cta { color: #ffffff; } @media (max-width: 600px) { p { margin: 4px !important; } }</style></head>' +
      '<body><div class="preheader">{{{preheader}}}</div>{{{body}}}{{> footer}}</body></html>',
    'layouts/mini.text.hbs': '{{{body}}}\n\n{{> footer-text}}',
    'partials/footer.hbs': '<p><a href="{{unsubscribeUrl}}">Unsubscribe</a></p>',
    'partials/footer-text.hbs': 'Unsubscribe: {{unsubscribeUrl}}',
    'partials/signature.hbs': '<p>{{name}}</p>',
  };
  for (const [file, source] of Object.entries(files)) writeFileSync(join(dir, file), source);
}

describe('TemplateEngine', () => {
  const engine = new TemplateEngine();
  let fixtureDir: string;
  let fixture: TemplateEngine;

  beforeAll(() => {
    fixtureDir = mkdtempSync(join(tmpdir(), 'closeloop-templates-'));
    writeFixtureTemplates(fixtureDir);
    fixture = new TemplateEngine({ templatesDir: fixtureDir });
  });

  afterAll(() => rmSync(fixtureDir, { recursive: true, force: true }));

  const fragment = (html: string, text?: string) => engine.compileEmail({ subject: 'S', html, text, layout: null });

  describe('personalisation and escaping', () => {
    it('fills customer fields and attributes, cell and program', () => {
      const template = engine.compileEmail({
        subject: 'Hi {{customer.firstName}}',
        html: '<p>Hi {{customer.firstName}} ({{customer.attributes.tier}}), cell {{cell.code}} of {{program.name}}</p>',
        layout: null,
      });
      expect(template.render(aContext())).toEqual({
        subject: 'Hi Anna',
        html: '<p>Hi Anna (gold), cell A of Spring offer</p>',
        text: 'Hi Anna (gold), cell A of Spring offer',
        links: [],
        warnings: [],
      });
    });

    it('escapes HTML from customer data in the HTML part, and only there', () => {
      const template = engine.compileEmail({
        subject: 'Hi {{customer.firstName}}',
        html: '<p title="{{customer.firstName}}">{{customer.firstName}}</p>',
        text: 'Hi {{customer.firstName}}',
        layout: null,
      });
      const rendered = template.render(withCustomer({ firstName: '<script>alert("x")</script> & co' }));
      expect(rendered.html).toBe(
        '<p title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co">' +
          '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co</p>',
      );
      expect(rendered.subject).toBe('Hi <script>alert("x")</script> & co');
      expect(rendered.text).toBe('Hi <script>alert("x")</script> & co');
    });

    it('derives a text part that shows customer data as written (no &amp;)', () => {
      const rendered = fragment('<p>{{customer.firstName}}</p>').render(withCustomer({ firstName: 'Tom & Jerry <3' }));
      expect(rendered.html).toBe('<p>Tom &amp; Jerry &lt;3</p>');
      expect(rendered.text).toBe('Tom & Jerry <3');
    });

    it('keeps a subject on one line whatever a field holds', () => {
      const template = engine.compileEmail({ subject: 'Hi {{customer.firstName}}!', html: 'x', layout: null });
      expect(template.render(withCustomer({ firstName: 'Anna\r\nBcc: x@y.z' })).subject).toBe('Hi Anna Bcc: x@y.z!');
    });

    it('renders nothing for prototype properties and methods, without console noise', () => {
      const consoleError = jest.spyOn(console, 'error').mockImplementation(() => undefined);
      const template = fragment(
        '[{{constructor.constructor}}|{{__proto__}}|{{customer.constructor}}|{{customer.__proto__.x}}|' +
          '{{lookup customer "constructor"}}|{{customer.toString}}|{{#with customer.__proto__}}w{{/with}}]',
      );
      expect(template.render(aContext()).html).toBe('[||||||]');
      expect(consoleError).not.toHaveBeenCalled();
      consoleError.mockRestore();
    });

    it('works in an isolated handlebars environment', () => {
      engine.compileEmail({ subject: '{{money 1 "EUR"}}', html: 'x', layout: null });
      expect(Handlebars.helpers.money).toBeUndefined();
      expect(Handlebars.helpers.formatDate).toBeUndefined();
    });
  });

  describe('missing variables', () => {
    it('render empty and are reported once each', () => {
      const template = engine.compileEmail({
        subject: 'Hi {{customer.middleName}}',
        html: '<p>Hi {{customer.middleName}}, {{offer.nickname}}!</p>',
        layout: null,
      });
      const rendered = template.render(aContext());
      expect(rendered.html).toBe('<p>Hi , !</p>');
      expect(rendered.warnings).toEqual([
        'customer.middleName is missing for this customer',
        'offer.nickname is missing for this customer',
      ]);
    });

    it('are not reported where an {{#if}} guards them, nor inside {{#each}}', () => {
      const template = fragment(
        '{{#if customer.title}}{{customer.title}} {{/if}}{{#each customer.orders}}{{sku}}{{/each}}' +
          '{{#unless customer.vip}}{{customer.lastName}}{{else}}{{customer.vipName}}{{/unless}}',
      );
      expect(template.render(aContext()).warnings).toEqual([]);
      expect(template.render(withCustomer({ vip: true })).warnings).toEqual([
        'customer.vipName is missing for this customer',
      ]);
    });

    it('count helper arguments and tell a helper what it could not format', () => {
      const template = fragment(
        '{{formatDate offer.validUntil}} {{formatDate customer.since}} {{money offer.value "EURO"}}',
      );
      const rendered = template.render(withCustomer({ since: 'last spring' }));
      expect(rendered.html).toBe('May 31, 2026  ');
      expect(rendered.warnings).toEqual([
        'formatDate: "last spring" is not a date',
        'money: "EURO" is not a currency code',
      ]);
      expect(fragment('{{formatDate offer.since}}').render(aContext()).warnings).toEqual([
        'offer.since is missing for this customer',
      ]);
    });
  });

  describe('errors at save', () => {
    const compileError = (act: () => unknown): TemplateCompileError => {
      try {
        act();
      } catch (error) {
        if (error instanceof TemplateCompileError) return error;
        throw error;
      }
      throw new Error('expected a TemplateCompileError');
    };

    it('names the part, line and column of an unclosed block (where it opens)', () => {
      const error = compileError(() =>
        engine.checkEmail({ subject: 'S', html: '<p>a</p>\n<p>b</p>\n  {{#if customer.vip}}\n<p>VIP</p>\n' }),
      );
      expect(error.message).toBe('html: Parse error on line 3, column 3: expected {{/if}} to close {{#if}}');
      expect([error.part, error.line, error.column, error.kind]).toEqual(['html', 3, 3, 'unprocessable']);
    });

    it('names the token it expected in a broken mustache', () => {
      const error = compileError(() => engine.checkEmail({ subject: 'Hi {{customer.firstName}', html: 'x' }));
      expect(error.message).toBe("subject: Parse error on line 1, column 24: expected }}, got '}'");
      expect([error.line, error.column]).toEqual([1, 24]);
    });

    it('names mismatched blocks, the text part and the SMS body', () => {
      expect(compileError(() => engine.checkEmail({ subject: 'S', html: 'a\n{{#if a}}x{{/each}}' })).message).toBe(
        "html: Parse error on line 2, column 4: if doesn't match each",
      );
      expect(compileError(() => engine.checkEmail({ subject: 'S', html: 'x', text: 'a {{{b}}' })).message).toBe(
        "text: Parse error on line 1, column 7: expected }}}, got '}}'",
      );
      expect(compileError(() => engine.checkSms({ body: 'Hi\n{{#each x}}' })).message).toBe(
        'body: Parse error on line 2, column 1: expected {{/each}} to close {{#each}}',
      );
    });

    it('refuses an unknown helper, naming it and its line', () => {
      const error = compileError(() =>
        engine.compileEmail({ subject: 'S', html: 'line 1\n<p>{{shout customer.firstName}}</p>' }),
      );
      expect(error.message).toBe(
        'html: unknown helper "shout" on line 2, column 4 ' +
          '(known helpers: if, unless, each, with, lookup, formatDate, money, offerCode)',
      );
      expect([error.line, error.column]).toEqual([2, 4]);
      expect(compileError(() => engine.checkSms({ body: '{{formatDate (now)}}' })).message).toMatch(
        /^body: unknown helper "now" on line 1, column 14 /,
      );
    });

    it('refuses log (it writes to the console), unknown partials, data variables and our own helpers', () => {
      const messageOf = (html: string) => compileError(() => engine.checkEmail({ subject: 'S', html })).message;
      expect(messageOf('{{log customer}}')).toMatch(/^html: unknown helper "log" on line 1, column 1 /);
      expect(messageOf('{{> nope}}')).toBe(
        'html: unknown partial "nope" on line 1, column 1 (shipped partials: unsubscribe-footer-text, unsubscribe-footer)',
      );
      expect(messageOf('{{@closeloopRender.links}}')).toBe(
        'html: unknown data variable "@closeloopRender.links" on line 1, column 3',
      );
      expect(messageOf('{{#closeloop-link}}x{{/closeloop-link}}')).toBe(
        'html: "closeloop-link" is reserved on line 1, column 4',
      );
    });

    it('refuses a layout that is not shipped', () => {
      expect(() => engine.checkEmail({ subject: 'S', html: 'x', layout: '../secrets' })).toThrow(
        new ValidationError('layout "../secrets" is not a shipped layout (default)', 'layout'),
      );
    });

    it('accepts what it can render', () => {
      expect(() =>
        engine.checkEmail({
          subject: '{{customer.firstName}}',
          html: '{{#each customer.orders}}{{@index}} {{lookup ../customer "firstName"}}{{/each}}{{#customer.vip}}VIP{{/customer.vip}}',
          text: '{{> unsubscribe-footer-text}}',
        }),
      ).not.toThrow();
      expect(TEMPLATE_HELPERS).toEqual(['if', 'unless', 'each', 'with', 'lookup', 'formatDate', 'money', 'offerCode']);
    });
  });

  describe('layout, partials and CSS inlining', () => {
    it('puts the HTML in the layout, inlines its CSS and keeps media queries in a style block', () => {
      const template = fixture.compileEmail({
        subject: 'S',
        html: '<p class="cta" title="{{customer.firstName}} &amp; co">Hi {{customer.firstName}}</p>',
        layout: 'mini',
      });
      expect(template.render(aContext(), tracking).html).toBe(
        '<html><head><style>\n@media (max-width: 600px) {\n  p {\n    margin: 4px !important;\n  }\n}\n</style></head>' +
          '<body><div class="preheader"></div>' +
          '<p class="cta" title="Anna &amp; co" style="margin: 0; color: #ffffff;">Hi Anna</p>' +
          '<p style="margin: 0;"><a href="https://t.example/u/send-1">Unsubscribe</a></p>' +
          `${PIXEL}</body></html>`,
      );
    });

    it('keeps handlebars code intact through CSS inlining, in text and in attributes', () => {
      const template = engine.compileEmail({
        subject: 'S',
        layout: null,
        html:
          '<style>.x { color: red }</style>' +
          '<p class="x" data-name=\'{{customer.firstName}}\' title="{{lookup customer "lastName"}}">' +
          '{{#if customer.firstName}}Hi {{{customer.firstName}}}{{else}}Hello{{/if}}</p>',
      });
      expect(template.render(aContext()).html).toBe(
        '<p class="x" data-name="Anna" title="Berg" style="color: red;">Hi Anna</p>',
      );
    });

    it('fills the preheader slot from an inline "preheader" partial', () => {
      const template = fixture.compileEmail({
        subject: 'S',
        html: '{{#*inline "preheader"}}Ends {{formatDate offer.validUntil "medium"}}{{/inline}}<p>Body</p>',
        layout: 'mini',
      });
      const rendered = template.render(aContext());
      expect(rendered.html).toContain('<div class="preheader">Ends May 31, 2026</div><p style="margin: 0;">Body</p>');
      expect(rendered.text).toBe('Ends May 31, 2026\n\nBody\n\nUnsubscribe [https://t.example/u/send-1]');
    });

    it('writes its own text part into the text layout, with the plain-text footer', () => {
      const template = fixture.compileEmail({
        subject: 'S',
        html: '<p>Hi</p>',
        text: 'Hi {{customer.firstName}} & welcome, see https://shop.example.com/',
        layout: 'mini',
      });
      expect(template.textPart).toBe('written');
      expect(template.render(aContext(), tracking).text).toBe(
        'Hi Anna & welcome, see https://shop.example.com/\n\nUnsubscribe: https://t.example/u/send-1',
      );
    });

    it('resolves a partial called with arguments at render time', () => {
      const template = fixture.compileEmail({
        subject: 'S',
        html: '{{> signature name=customer.firstName}}',
        layout: null,
      });
      expect(template.render(aContext()).html).toBe('<p>Anna</p>');
    });
  });

  describe('link tracking', () => {
    const html =
      '<p><a href="https://a.example/1?x=1&amp;y=2">A</a> <a href=\'https://b.example/\'>B</a> ' +
      '<A class="c" HREF="https://a.example/1?x=1&amp;y=2">A again</A> <a href="mailto:x@y.z">m</a> ' +
      '<a href="tel:+4930">t</a> <a href="#top">top</a> <a href="{{unsubscribeUrl}}">u</a> ' +
      '<!-- <a href="https://hidden.example/">h</a> --> <a href="https://shop.example/?c={{cell.code}}">C</a></p>';

    it('rewrites http(s) links in document order and leaves the rest exactly as written', () => {
      const rendered = fragment(html).render(aContext(), tracking);
      expect(rendered.html).toBe(
        '<p><a href="https://t.example/c/send-1/0">A</a> <a href="https://t.example/c/send-1/1">B</a> ' +
          '<a class="c" href="https://t.example/c/send-1/2">A again</a> <a href="mailto:x@y.z">m</a> ' +
          '<a href="tel:+4930">t</a> <a href="#top">top</a> <a href="https://t.example/u/send-1">u</a> ' +
          '<!-- <a href="https://hidden.example/">h</a> --> <a href="https://t.example/c/send-1/3">C</a></p>' +
          PIXEL,
      );
      expect(rendered.links).toEqual([
        'https://a.example/1?x=1&y=2',
        'https://b.example/',
        'https://a.example/1?x=1&y=2',
        'https://shop.example/?c=A',
      ]);
    });

    it('tracks the generated text part with the same indexes', () => {
      expect(fragment(html).render(aContext(), tracking).text).toBe(
        'A [https://t.example/c/send-1/0] B [https://t.example/c/send-1/1] A again\n' +
          '[https://t.example/c/send-1/0] m [x@y.z] t [tel:+4930] top u [https://t.example/u/send-1] C\n' +
          '[https://t.example/c/send-1/3]',
      );
    });

    it('without tracking leaves every href (and &amp;) as written, adds no pixel, and still lists the links', () => {
      const rendered = fragment('<a href="https://a.example/1?x=1&amp;y=2">A</a>').render(aContext(), null);
      expect(rendered.html).toBe('<a href="https://a.example/1?x=1&amp;y=2">A</a>');
      expect(rendered.links).toEqual(['https://a.example/1?x=1&y=2']);
    });

    it('adds the open pixel once, just before </body>', () => {
      const rendered = fixture
        .compileEmail({ subject: 'S', html: '<p>x</p>', layout: 'mini' })
        .render(aContext(), tracking);
      expect(rendered.html.split(PIXEL)).toHaveLength(2);
      expect(rendered.html.endsWith(`${PIXEL}</body></html>`)).toBe(true);
    });

    it('keeps each message to its own links', () => {
      const template = fragment('<a href="https://shop.example/{{customer.firstName}}">x</a>');
      expect(template.render(aContext(), tracking).links).toEqual(['https://shop.example/Anna']);
      expect(template.render(withCustomer({ firstName: 'Ben' }), tracking).links).toEqual(['https://shop.example/Ben']);
    });

    it('tracks the branch a block in an href takes, and leaves an href that splits a block untracked', () => {
      const chosen = fragment(
        '<a href="{{#if customer.vip}}https://vip.example/{{else}}https://all.example/{{/if}}">x</a>',
      ).render(withCustomer({ vip: true }), tracking);
      expect(chosen.links).toEqual(['https://vip.example/']);
      const split = fragment(
        '<a href="https://a.example/{{#if customer.vip}}">a</a><a href="https://b.example/{{/if}}">b</a>',
      ).render(withCustomer({ vip: true }), tracking);
      expect(split.html).toBe(`<a href="https://a.example/">a</a><a href="https://b.example/">b</a>${PIXEL}`);
      expect(split.links).toEqual([]);
    });

    it('tracks the destination a link renders to, escaped in the tracking URL', () => {
      const rendered = fragment('<a href="{{offer.url}}">x</a> <a href="{{offer.mail}}">y</a>').render(
        aContext({ offer: { url: 'https://shop.example/?a=1&b="2"', mail: 'mailto:a@b.example' } }),
        {
          clickUrl: (i, destination) => `https://t.example/c?i=${i}&d=${destination}`,
          openPixelUrl: 'https://t.example/o',
        },
      );
      expect(rendered.links).toEqual(['https://shop.example/?a=1&b="2"']);
      expect(rendered.html).toBe(
        '<a href="https://t.example/c?i=0&amp;d=https://shop.example/?a=1&amp;b=&quot;2&quot;">x</a> ' +
          '<a href="mailto:a@b.example">y</a><img src="https://t.example/o" width="1" height="1" alt="" style="display:none">',
      );
    });
  });

  describe('text part', () => {
    it('is derived once from the HTML when the template has none', () => {
      const template = fragment('<h1>Hello {{customer.firstName}}</h1>{{#if offer}}<p>Code {{offerCode}}</p>{{/if}}');
      expect(template.textPart).toBe('derived');
      expect(template.render(aContext()).text).toBe('Hello Anna\n\nCode K7Q2M9XD');
      expect(template.render(aContext({ offer: null })).text).toBe('Hello Anna');
    });

    it('is converted from each rendered HTML when a block sits inside a tag', () => {
      const template = fragment('<p {{#if customer.vip}}class="vip"{{/if}}>Hi <a href="https://a.example/">A</a></p>');
      expect(template.textPart).toBe('converted');
      const rendered = template.render(aContext(), tracking);
      expect(rendered.text).toBe('Hi A [https://t.example/c/send-1/0]');
      expect(rendered.text).toBe(htmlToText(rendered.html));
    });
  });

  describe('dates, money and the offer code', () => {
    const at = (customer: Record<string, unknown>, html: string, offer?: Record<string, unknown>) =>
      fragment(html).render(aContext({ customer, offer: offer ?? aContext().offer })).html;

    it('formats a date in the customer time zone and locale', () => {
      const offer = { validUntil: '2026-12-31T23:30:00Z' };
      const html = '{{formatDate offer.validUntil "long"}}';
      expect(at({ locale: 'en-US', timeZone: 'Asia/Tokyo' }, html, offer)).toBe('January 1, 2027');
      expect(at({ locale: 'en-US', timeZone: 'UTC' }, html, offer)).toBe('December 31, 2026');
      expect(at({ locale: 'de-DE', timeZone: 'Asia/Tokyo' }, html, offer)).toBe('1. Januar 2027');
    });

    it('prefers the render context locale and time zone over the customer record', () => {
      const rendered = fragment('{{formatDate offer.validUntil "full"}}').render(
        aContext({ locale: 'fr-FR', timeZone: 'Asia/Tokyo', offer: { validUntil: '2026-12-31T23:30:00Z' } }),
      );
      expect(rendered.html).toBe('vendredi 1 janvier 2027');
    });

    it('formats money from minor units in the customer locale', () => {
      const html = '{{money offer.value offer.currency}}';
      expect(at({ locale: 'de-DE' }, html, { value: 1999, currency: 'EUR' })).toBe('19,99\u00a0€');
      expect(at({ locale: 'en-US' }, html, { value: 1999, currency: 'EUR' })).toBe('€19.99');
      expect(at({ locale: 'en-US' }, html, { value: '1500', currency: 'JPY' })).toBe('¥1,500');
    });

    it('gives the response code as the offer code, else the offer own code', () => {
      expect(fragment('{{offerCode}}').render(aContext()).html).toBe('K7Q2M9XD');
      expect(fragment('{{offerCode}}').render(aContext({ cell: null })).html).toBe('SPRING15');
    });
  });

  describe('SMS', () => {
    it('renders plain text: no HTML escaping, trimmed', () => {
      const template = engine.compileSms({
        body: ' Hi {{customer.firstName}}: {{offer.name}} <3, code {{offerCode}}\n',
      });
      expect(template.render(withCustomer({ firstName: 'Tom & Jerry' }))).toEqual({
        text: 'Hi Tom & Jerry: 15 EUR off <3, code K7Q2M9XD',
        warnings: [],
      });
    });

    it('reports missing variables', () => {
      const template = engine.compileSms({ body: 'Hi {{customer.nickname}}!' });
      expect(template.render(aContext())).toEqual({
        text: 'Hi !',
        warnings: ['customer.nickname is missing for this customer'],
      });
    });
  });

  describe('shipped templates', () => {
    const read = (file: string) => readFileSync(join(__dirname, '../../../../templates', file), 'utf8');

    it('render the spring offer email with its footer in both parts', () => {
      const template = engine.compileEmail({
        subject: read('email/spring-offer.subject.hbs'),
        html: read('email/spring-offer.hbs'),
      });
      expect(template.textPart).toBe('derived');
      const rendered = template.render(aContext(), tracking);
      expect(rendered.subject).toBe('Anna, your spring offer is here');
      expect(rendered.links).toEqual([
        'https://shop.example.com/spring?code=K7Q2M9XD',
        'https://shop.example.com/stores',
      ]);
      expect(rendered.warnings).toEqual([]);
      expect(rendered.html).toContain('<a href="https://t.example/u/send-1" style="color: #6b7280;">Unsubscribe</a>');
      expect(rendered.html).toContain('€15.00 off your next order');
      expect(rendered.text).toBe(
        [
          '15 EUR off, until May 31, 2026.',
          '',
          'Hello Anna,',
          '',
          'Spring is here, and so is something for you: €15.00 off your next order.',
          '',
          'Use the code K7Q2M9XD at checkout. It is valid until May 31, 2026.',
          '',
          'Shop the spring collection [https://t.example/c/send-1/0]',
          '',
          'Prefer to try things on? Find a store near you',
          '[https://t.example/c/send-1/1].',
          '',
          'You receive this email because you signed up for our news and offers.',
          '',
          'Unsubscribe [https://t.example/u/send-1] with one click, at any time.',
        ].join('\n'),
      );
    });

    it('render the spring offer SMS', () => {
      const template = engine.compileSms({ body: read('sms/spring-offer.hbs') });
      expect(template.render(aContext()).text).toBe(
        'Hi Anna! Spring offer: 15 EUR off. Code K7Q2M9XD, valid until May 31, 2026. Reply STOP to opt out.',
      );
    });
  });
});
