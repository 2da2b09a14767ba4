import { confirmPage, donePage, escapeHtml, invalidPage, maskAddress, pageLanguage } from './unsubscribe-page';

describe('unsubscribe pages', () => {
  it('picks the customer locale, then Accept-Language by weight, then English', () => {
    expect(pageLanguage('fr-CA', 'de')).toBe('fr');
    expect(pageLanguage(null, 'it;q=1, de-AT;q=0.8, fr;q=0.9')).toBe('fr');
    expect(pageLanguage('pt-BR', 'es-ES,es;q=0.9')).toBe('es');
    expect(pageLanguage(undefined, undefined)).toBe('en');
    expect(pageLanguage('xx', 'de;q=0')).toBe('en');
  });

  it('masks addresses', () => {
    expect(maskAddress('ann@example.com')).toBe('a**@example.com');
    expect(maskAddress('a@example.com')).toBe('a**@example.com');
    expect(maskAddress('averyveryverylongname@example.com')).toBe('a********@example.com');
    expect(maskAddress('+447700900123')).toBe('+4477*****123');
  });

  it('escapes everything dynamic and writes no script', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
    const page = confirmPage('en', { address: '<script>@x.example', channel: 'email' });
    expect(page).not.toContain('<script>');
    expect(page).toContain('&lt;');
    expect(page).toContain('<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">');
    for (const html of [page, donePage('de', { address: 'a@b.example', channel: 'sms' }, false), invalidPage('es')]) {
      expect(html).not.toMatch(/<script|https?:\/\//);
    }
    expect(donePage('de', { address: 'a@b.example', channel: 'sms' }, true)).toContain('bereits abgemeldet');
  });
});
