/**
 * The unsubscribe pages: plain server-rendered HTML, no scripts, no external resources, every
 * dynamic value escaped. GET only shows the confirmation form (mail scanners follow links, so GET
 * never writes); the form POSTs `List-Unsubscribe=One-Click` to the same URL, as RFC 8058 clients do.
 * The language follows the customer's locale, then the browser's Accept-Language, then English.
 */
type Phrase = 'title' | 'question' | 'button' | 'done' | 'doneDetail' | 'already' | 'invalid' | 'invalidDetail';

const PHRASES: Record<string, Record<Phrase, string>> = {
  en: {
    title: 'Unsubscribe',
    question: 'Stop sending marketing {channel} to {address}?',
    button: 'Unsubscribe',
    done: 'You are unsubscribed',
    doneDetail: 'We will not send marketing {channel} to {address} any more.',
    already: '{address} was already unsubscribed.',
    invalid: 'This link is not valid',
    invalidDetail: 'The unsubscribe link is incomplete or has been altered. Copy the whole link from the message.',
  },
  fr: {
    title: 'Désabonnement',
    question: 'Ne plus envoyer de {channel} marketing à {address} ?',
    button: 'Me désabonner',
    done: 'Vous êtes désabonné',
    doneDetail: "Nous n'enverrons plus de {channel} marketing à {address}.",
    already: '{address} était déjà désabonné.',
    invalid: "Ce lien n'est pas valide",
    invalidDetail: 'Le lien de désabonnement est incomplet ou modifié. Copiez le lien entier depuis le message.',
  },
  de: {
    title: 'Abmelden',
    question: 'Keine Marketing-{channel} mehr an {address} senden?',
    button: 'Abmelden',
    done: 'Sie sind abgemeldet',
    doneDetail: 'Wir senden keine Marketing-{channel} mehr an {address}.',
    already: '{address} war bereits abgemeldet.',
    invalid: 'Dieser Link ist ungültig',
    invalidDetail: 'Der Abmeldelink ist unvollständig oder verändert. Kopieren Sie den ganzen Link aus der Nachricht.',
  },
  es: {
    title: 'Darse de baja',
    question: '¿Dejar de enviar {channel} de marketing a {address}?',
    button: 'Darme de baja',
    done: 'Se ha dado de baja',
    doneDetail: 'No enviaremos más {channel} de marketing a {address}.',
    already: '{address} ya estaba dado de baja.',
    invalid: 'Este enlace no es válido',
    invalidDetail: 'El enlace para darse de baja está incompleto o alterado. Copie el enlace completo del mensaje.',
  },
};

const CHANNEL_WORDS: Record<string, Record<'email' | 'sms', string>> = {
  en: { email: 'email', sms: 'text messages' },
  fr: { email: 'e-mails', sms: 'SMS' },
  de: { email: 'E-Mails', sms: 'SMS' },
  es: { email: 'correos', sms: 'SMS' },
};

export const UNSUBSCRIBE_LANGUAGES = Object.keys(PHRASES);

/** The first supported language of the customer's locale, else of Accept-Language, else English. */
export function pageLanguage(locale: string | null | undefined, acceptLanguage: string | undefined): string {
  const candidates = [
    ...(locale ? [locale] : []),
    ...(acceptLanguage ?? '')
      .split(',')
      .map((part) => {
        const [tag, q] = part.trim().split(';q=');
        return { tag, q: q === undefined ? 1 : Number(q) };
      })
      .filter((c) => c.tag && c.q > 0)
      .sort((a, b) => b.q - a.q)
      .map((c) => c.tag),
  ];
  for (const c of candidates) {
    const lang = c.toLowerCase().split(/[-_]/)[0];
    if (PHRASES[lang]) return lang;
  }
  return 'en';
}

export function escapeHtml(value: string): string {
  return value.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

/** `ann@example.com` -> `a**@example.com`; `+447700900123` -> `+4477*****123`. */
export function maskAddress(address: string): string {
  const at = address.lastIndexOf('@');
  if (at > 0) return `${address[0]}${'*'.repeat(Math.min(Math.max(at - 1, 2), 8))}${address.slice(at)}`;
  if (address.length <= 7) return address.replace(/\d(?=\d{2})/g, '*');
  return `${address.slice(0, 5)}${'*'.repeat(address.length - 8)}${address.slice(-3)}`;
}

function say(lang: string, phrase: Phrase, vars: { address?: string; channel?: 'email' | 'sms' } = {}): string {
  const words = CHANNEL_WORDS[lang] ?? CHANNEL_WORDS.en;
  return escapeHtml(PHRASES[lang][phrase])
    .replace('{address}', `<strong>${escapeHtml(vars.address ? maskAddress(vars.address) : '')}</strong>`)
    .replace('{channel}', escapeHtml(vars.channel ? words[vars.channel] : ''));
}

function page(lang: string, title: string, body: string): string {
  return `<!doctype html>
<html lang="${lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>${title}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}
button{font:inherit;padding:.6rem 1.2rem;border:0;border-radius:.3rem;background:#1f4fd1;color:#fff;cursor:pointer}</style>
</head><body>${body}</body></html>
`;
}

export function confirmPage(lang: string, target: { address: string; channel: 'email' | 'sms' }): string {
  const title = say(lang, 'title');
  return page(
    lang,
    title,
    `<h1>${title}</h1><p>${say(lang, 'question', target)}</p>
<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">${say(lang, 'button')}</button></form>`,
  );
}

export function donePage(
  lang: string,
  target: { address: string; channel: 'email' | 'sms' },
  already: boolean,
): string {
  const title = say(lang, 'done');
  return page(lang, title, `<h1>${title}</h1><p>${say(lang, already ? 'already' : 'doneDetail', target)}</p>`);
}

export function invalidPage(lang: string): string {
  const title = say(lang, 'invalid');
  return page(lang, title, `<h1>${title}</h1><p>${say(lang, 'invalidDetail')}</p>`);
}
