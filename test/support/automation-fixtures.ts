import { simpleParser } from 'mailparser';
import type { SinkMessage } from '../../apps/peers/src/smtp-sink';
import { uniqueCode } from './factories';
import type { RoleClient } from './test-api';

/** Polls `probe` until `ok` holds, or fails naming what it waited for and the last value seen. */
export async function until<T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** `n` customers tagged `attributes.run = run`, with email consent; returns their externalIds. */
export async function someCustomers(
  m: RoleClient,
  run: string,
  n: number,
  extra: (i: number) => Record<string, unknown> = () => ({}),
): Promise<string[]> {
  const customers = Array.from({ length: n }, (_, i) => ({
    externalId: `${run}-${i}`,
    email: `${run}-${i}@mail.example`,
    firstName: `Ann${i}`,
    consent: { email: true },
    ...extra(i),
    attributes: { run, ...((extra(i).attributes as object) ?? {}) },
  }));
  await m.post('/v1/customers', { customers }).expect(200);
  return customers.map((c) => c.externalId);
}

/** An email template whose subject names it, with a link (tracked) and the open pixel the layout adds. */
export async function anEmailTemplate(m: RoleClient, label: string): Promise<string> {
  const code = uniqueCode('T');
  await m
    .post('/v1/templates', {
      code,
      channel: 'email',
      subject: `${label} {{customer.firstName}}`,
      html: `<p>${label}</p><a href="https://shop.example/${label.toLowerCase()}">Shop</a>`,
    })
    .expect(201);
  return code;
}

/** A drip created and activated; returns its view. */
export async function anActiveDrip(m: RoleClient, body: Record<string, unknown>) {
  const drip = (await m.post('/v1/drips', { code: uniqueCode('D'), name: 'Drip', ...body }).expect(201)).body;
  const res = await m.post(`/v1/drips/${drip.id}/activate`);
  if (res.status !== 200) throw new Error(`activate: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** What a message says: its recipient, subject, and the tracking paths in its HTML. */
export async function readMessage(message: SinkMessage) {
  const mail = await simpleParser(message.raw);
  const html = typeof mail.html === 'string' ? mail.html : '';
  return {
    to: message.to[0],
    subject: mail.subject ?? '',
    open: /\/t\/o\/[A-Za-z0-9_-]+/.exec(html)?.[0] ?? null,
    clicks: [...html.matchAll(/\/t\/c\/[A-Za-z0-9_-]+/g)].map((x) => x[0]),
    /** The one-click unsubscribe path of the List-Unsubscribe header. */
    unsubscribe: /^List-Unsubscribe: <https?:\/\/[^/]+(\/u\/[^>]+)>/m.exec(message.raw.toString('latin1'))?.[1] ?? null,
  };
}
