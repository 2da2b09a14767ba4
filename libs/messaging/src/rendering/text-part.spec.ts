import { deriveTextTemplate, htmlToText } from './text-part';

describe('deriveTextTemplate', () => {
  it('converts the HTML around the handlebars code and puts the code back verbatim', () => {
    const html =
      '<h1>Hello {{customer.firstName}}</h1>\n' +
      '{{#if offer}}<p>Save {{money offer.value offer.currency}} &amp; more</p>{{else}}<p>Hi</p>{{/if}}\n' +
      '<p><a href="{{#closeloop-link}}https://shop.example/?a=1&amp;c={{cell.code}}{{/closeloop-link}}">Shop</a></p>' +
      '<img src="{{offer.image}}" alt="{{offer.name}}">';
    expect(deriveTextTemplate(html)).toBe(
      'Hello {{customer.firstName}}\n\n' +
        '{{#if offer}}\n\nSave {{money offer.value offer.currency}} & more\n\n{{else}}\n\nHi\n\n{{/if}}\n\n' +
        'Shop [{{#closeloop-link}}https://shop.example/?a=1&c={{cell.code}}{{/closeloop-link}}]',
    );
  });

  it('gives up when a block tag is lost inside a tag or an attribute', () => {
    expect(deriveTextTemplate('<p {{#if vip}}class="vip"{{/if}}>x</p>')).toBeNull();
    expect(deriveTextTemplate('<img alt="{{#if a}}x{{/if}}" src="y">')).toBeNull();
  });

  it('gives up when decoded text would read as handlebars code', () => {
    expect(deriveTextTemplate('<p>&#123;&#123;literal}}</p>{{x}}')).toBeNull();
  });

  it('keeps non-block code that html-to-text drops (it only printed into an attribute)', () => {
    expect(deriveTextTemplate('<p title="{{customer.firstName}}">Hi</p>')).toBe('Hi');
  });
});

describe('htmlToText', () => {
  it('keeps heading case, reads layout tables as blocks, drops images, shows link URLs', () => {
    expect(
      htmlToText(
        '<h1>Spring offer</h1><table><tr><td>Left</td><td>Right</td></tr></table>' +
          '<p><img src="x.png" alt="Logo"><a href="https://a.example/">Shop</a> <a href="#top">Top</a></p>',
      ),
    ).toBe('Spring offer\n\nLeft\nRight\n\nShop [https://a.example/] Top');
  });
});
