import { decodeAttribute, escapeAttribute, openPixelTag, scanDocument, trackHref, wrapHrefs } from './link-rewriting';
import { RenderState } from './render-state';

const hrefsOf = (html: string): string[] => scanDocument(html).hrefs.map((h) => html.slice(h.start, h.end));

describe('scanDocument', () => {
  it('finds every <a href> value in document order, whatever the quoting, case or attribute order', () => {
    const html =
      '<a href="https://a.example/?x=1&amp;y=2">a</a>' +
      "<a href='https://b.example/it\"s'>b</a>" +
      '<A CLASS="x" data-href="https://not.example/" HREF="https://c.example/">c</A>' +
      '<a id=top href=https://d.example/path>d</a>' +
      '<a\n  target="_blank"\n  href = "https://e.example/">e</a>';
    expect(hrefsOf(html)).toEqual([
      'https://a.example/?x=1&amp;y=2',
      'https://b.example/it"s',
      'https://c.example/',
      'https://d.example/path',
      'https://e.example/',
    ]);
    expect(scanDocument(html).hrefs.map((h) => h.isQuoted)).toEqual([true, true, true, false, true]);
  });

  it('skips comments, raw text and other elements, and takes the first href of a tag', () => {
    const html =
      '<!-- <a href="https://comment.example/">x</a> -->' +
      '<script>var s = \'<a href="https://script.example/">\';</script>' +
      '<style>a[href="https://style.example/"] { color: red }</style>' +
      '<textarea><a href="https://textarea.example/"></textarea>' +
      '<link href="https://link.example/"><area href="https://area.example/">' +
      '<a href="https://first.example/" href="https://second.example/">x</a>' +
      '<a href="">empty</a><a href>bare</a><a name="n">anchor</a>';
    expect(hrefsOf(html)).toEqual(['https://first.example/']);
  });

  it('finds the last </body> outside comments', () => {
    const html = '<body><!-- </body> --><p>x</p></BODY ></html>';
    expect(scanDocument(html).bodyCloseAt).toBe(html.indexOf('</BODY'));
    expect(scanDocument('<p>fragment</p>').bodyCloseAt).toBeNull();
  });
});

describe('wrapHrefs', () => {
  it('wraps each value and quotes an unquoted one', () => {
    const html = '<a href="https://a.example/">a</a> <a href=https://b.example/>b</a>';
    expect(wrapHrefs(html, scanDocument(html).hrefs, '[[', ']]')).toBe(
      '<a href="[[https://a.example/]]">a</a> <a href="[[https://b.example/]]">b</a>',
    );
  });
});

describe('decodeAttribute and escapeAttribute', () => {
  it('decode as a browser reads an attribute', () => {
    expect(decodeAttribute('https://a.example/?x=1&amp;y=2&#x3D;3&#61;4')).toBe('https://a.example/?x=1&y=2=3=4');
    // A legacy entity name followed by "=" is not a reference inside an attribute (HTML spec).
    expect(decodeAttribute('https://a.example/?a=1&copy=2')).toBe('https://a.example/?a=1&copy=2');
    expect(decodeAttribute('he said &quot;hi&quot;')).toBe('he said "hi"');
    expect(decodeAttribute('no entities')).toBe('no entities');
  });

  it('escape the five characters that matter in a quoted attribute', () => {
    expect(escapeAttribute(`a&b<c>d"e'f`)).toBe('a&amp;b&lt;c&gt;d&quot;e&#39;f');
  });
});

describe('trackHref', () => {
  const context = { customer: {}, unsubscribeUrl: 'https://t.example/u/1?s=a&b' };
  const tracking = { clickUrl: (i: number, d: string) => `https://t.example/c/${i}?d=${d}`, openPixelUrl: 'x' };

  it('gives http(s) destinations the next index and the escaped tracking URL', () => {
    const state = new RenderState(context, tracking);
    expect(trackHref('https://a.example/?x=1&amp;y=2', state)).toBe(
      'https://t.example/c/0?d=https://a.example/?x=1&amp;y=2',
    );
    expect(trackHref(' HTTP://B.example/ ', state)).toBe('https://t.example/c/1?d=HTTP://B.example/');
    expect(state.links).toEqual(['https://a.example/?x=1&y=2', 'HTTP://B.example/']);
  });

  it('returns anything else exactly as rendered', () => {
    const state = new RenderState(context, tracking);
    for (const href of ['mailto:a@b.example', 'tel:+4930123', '#top', '/relative', 'https://t.example/u/1?s=a&amp;b']) {
      expect(trackHref(href, state)).toBe(href);
    }
    expect(state.links).toEqual([]);
  });

  it('in the text part reads the value as text and reuses the HTML index of a destination', () => {
    const state = new RenderState(context, tracking);
    trackHref('https://a.example/', state);
    state.isText = true;
    expect(trackHref('https://b.example/?x=1&y=2', state)).toBe('https://t.example/c/1?d=https://b.example/?x=1&y=2');
    expect(trackHref('https://a.example/', state)).toBe('https://t.example/c/0?d=https://a.example/');
    expect(state.links).toEqual(['https://a.example/', 'https://b.example/?x=1&y=2']);
  });

  it('without tracking records the destination and changes nothing', () => {
    const state = new RenderState(context, null);
    expect(trackHref('https://a.example/?x=1&amp;y=2', state)).toBe('https://a.example/?x=1&amp;y=2');
    expect(state.links).toEqual(['https://a.example/?x=1&y=2']);
  });
});

describe('openPixelTag', () => {
  it('is a hidden 1x1 image with an empty alt', () => {
    expect(openPixelTag('https://t.example/o/1?a=1&b=2')).toBe(
      '<img src="https://t.example/o/1?a=1&amp;b=2" width="1" height="1" alt="" style="display:none">',
    );
  });
});
