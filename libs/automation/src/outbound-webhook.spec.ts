import { createServer as createHttpsServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { ConfigError, ValidationError, verifyWebhookSignature, WEBHOOK_SIGNATURE_HEADER } from '@closeloop/core';
import { generate } from 'selfsigned';
import {
  OutboundWebhookError,
  OutboundWebhookSender,
  type OutboundWebhookOptions,
  type WebhookAddress,
} from './outbound-webhook';

const SECRET = 'whsec_rules_0123456789abcdef';
const T = 1_714_550_400; // 2024-05-01T08:00:00Z
const NOW = new Date(T * 1000);
const PAYLOAD = { rule: 'r-1', event: 'response.recorded', customer: 'c-42', note: 'caf\u00e9' };

interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
  servername: string | false | null;
}

let server: Server;
let port: number;
let ca: string;
const received: Received[] = [];
let answer: (req: IncomingMessage, res: ServerResponse) => void;
const answerNoContent = (_req: IncomingMessage, res: ServerResponse) => res.writeHead(204).end();

beforeAll(async () => {
  // One certificate for hooks.test, *.hooks.test and 127.0.0.1, trusted through `ca` only.
  const pems = await generate([{ name: 'commonName', value: 'hooks.test' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'hooks.test' },
          { type: 2, value: '*.hooks.test' },
          { type: 7, ip: '127.0.0.1' },
        ],
      },
    ],
  });
  ca = pems.cert;
  server = createHttpsServer({ key: pems.private, cert: pems.cert }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        servername: (req.socket as TLSSocket).servername,
      });
      answer(req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  received.length = 0;
  answer = answerNoContent;
});

const family = (address: string): 4 | 6 => (address.includes(':') ? 6 : 4);
/** A lookup that answers each call with the next list (the last one repeats). */
const resolvesTo = (...answers: string[][]) => {
  let calls = 0;
  return jest.fn(async (_host: string): Promise<WebhookAddress[]> =>
    answers[Math.min(calls++, answers.length - 1)].map((address) => ({ address, family: family(address) })),
  );
};

const aSender = (overrides: Partial<OutboundWebhookOptions> = {}) =>
  new OutboundWebhookSender({
    allowedHosts: ['hooks.test'],
    allowPrivate: ['127.0.0.1/32'],
    secret: SECRET,
    ca,
    timeoutMs: 5000,
    lookup: resolvesTo(['127.0.0.1']),
    now: () => NOW,
    ...overrides,
  });
const urlOf = (host = 'hooks.test', path = '/rules/r-1') => `https://${host}:${port}${path}`;

async function failure(sending: Promise<unknown>): Promise<OutboundWebhookError> {
  const error = await sending.then(
    () => {
      throw new Error('the send succeeded');
    },
    (rejected: unknown) => rejected,
  );
  expect(error).toBeInstanceOf(OutboundWebhookError);
  return error as OutboundWebhookError;
}

function validationError(check: () => void): ValidationError {
  try {
    check();
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return error as ValidationError;
  }
  throw new Error('checkUrl accepted the URL');
}

describe('OutboundWebhookSender', () => {
  describe('a delivered webhook', () => {
    it('POSTs the JSON body with the id, user agent and a signature core verifies', async () => {
      answer = (_req, res) => res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
      const lookup = resolvesTo(['127.0.0.1']);

      const result = await aSender({ lookup }).send(urlOf('hooks.test', '/rules/r-1?tenant=7'), PAYLOAD, {
        id: 'evt-0001',
      });

      expect(result.status).toBe(200);
      expect(result.durationMs).toBeGreaterThanOrEqual(0);
      expect(result.durationMs).toBeLessThan(5000);
      expect(lookup.mock.calls).toEqual([['hooks.test']]);
      expect(received).toHaveLength(1);
      const [request] = received;
      expect(request.method).toBe('POST');
      expect(request.url).toBe('/rules/r-1?tenant=7');
      expect(request.servername).toBe('hooks.test');
      expect(request.headers.host).toBe(`hooks.test:${port}`);
      expect(request.headers['content-type']).toBe('application/json');
      expect(request.headers['user-agent']).toBe('Closeloop-Webhook/1');
      expect(request.headers['closeloop-webhook-id']).toBe('evt-0001');
      expect(request.body).toBe(JSON.stringify(PAYLOAD));
      expect(request.headers['content-length']).toBe(String(Buffer.byteLength(JSON.stringify(PAYLOAD))));

      const signature = request.headers[WEBHOOK_SIGNATURE_HEADER] as string;
      expect(verifyWebhookSignature(signature, request.body, [SECRET], NOW)).toMatchObject({ ok: true, timestamp: T });
      expect(verifyWebhookSignature(signature, request.body, ['whsec_someone_else'], NOW).ok).toBe(false);
      expect(verifyWebhookSignature(signature, request.body.replace('c-42', 'c-43'), [SECRET], NOW).ok).toBe(false);
    });

    it('does not send without a secret', async () => {
      const lookup = resolvesTo(['127.0.0.1']);
      const error = await failure(aSender({ secret: undefined, lookup }).send(urlOf(), PAYLOAD, { id: 'evt-1' }));
      expect(error.retryable).toBe(false);
      expect(error.message).toMatch(/secret/);
      expect(lookup).not.toHaveBeenCalled();
      expect(received).toHaveLength(0);
    });
  });

  describe('the host allow-list', () => {
    it('calls an exactly listed host, whatever its case, and nothing under it', async () => {
      const lookup = resolvesTo(['127.0.0.1']);
      const sender = aSender({ lookup });

      await expect(sender.send(urlOf('HOOKS.Test'), PAYLOAD, { id: 'evt-1' })).resolves.toMatchObject({ status: 204 });
      const error = await failure(sender.send(urlOf('eu.hooks.test'), PAYLOAD, { id: 'evt-2' }));

      expect(error.retryable).toBe(false);
      expect(error.message).toBe('webhook URL host eu.hooks.test is not on the webhook allow-list');
      expect(lookup.mock.calls).toEqual([['hooks.test']]);
      expect(received).toHaveLength(1);
    });

    it('lets a wildcard match one label under the domain, not the domain itself nor deeper names', async () => {
      const lookup = resolvesTo(['127.0.0.1']);
      const sender = aSender({ allowedHosts: ['*.hooks.test'], lookup });

      await expect(sender.send(urlOf('eu.hooks.test'), PAYLOAD, { id: 'evt-1' })).resolves.toMatchObject({
        status: 204,
      });
      for (const host of ['hooks.test', 'a.eu.hooks.test', 'evilhooks.test', 'hooks.test.evil.example']) {
        const error = await failure(sender.send(urlOf(host), PAYLOAD, { id: 'evt-2' }));
        expect(error.retryable).toBe(false);
        expect(error.message).toBe(`webhook URL host ${host} is not on the webhook allow-list`);
      }

      expect(lookup.mock.calls).toEqual([['eu.hooks.test']]);
      expect(received.map((r) => [r.headers.host, r.servername])).toEqual([[`eu.hooks.test:${port}`, 'eu.hooks.test']]);
    });

    it('refuses a host that is not listed before any lookup or connection', async () => {
      const lookup = resolvesTo(['127.0.0.1']);
      for (const allowedHosts of [[], ['other.test']]) {
        const error = await failure(aSender({ allowedHosts, lookup }).send(urlOf(), PAYLOAD, { id: 'evt-1' }));
        expect(error.retryable).toBe(false);
        expect(error.message).toMatch(/not on the webhook allow-list/);
      }
      expect(lookup).not.toHaveBeenCalled();
      expect(received).toHaveLength(0);
    });

    it('calls an IP literal only when it is listed exactly, without a lookup', async () => {
      const lookup = resolvesTo(['127.0.0.1']);
      const listed = aSender({ allowedHosts: ['127.0.0.1'], lookup });
      await expect(listed.send(urlOf('127.0.0.1'), PAYLOAD, { id: 'evt-1' })).resolves.toMatchObject({ status: 204 });

      const unlisted = await failure(aSender({ lookup }).send(urlOf('127.0.0.1'), PAYLOAD, { id: 'evt-2' }));
      expect(unlisted.message).toMatch(/IP address 127\.0\.0\.1, which is not on the webhook allow-list/);
      expect(lookup).not.toHaveBeenCalled();
      expect(received).toHaveLength(1);
    });
  });

  describe('addresses after DNS resolution', () => {
    it('refuses loopback unless an allowPrivate CIDR covers it', async () => {
      const none = await failure(aSender({ allowPrivate: [] }).send(urlOf(), PAYLOAD, { id: 'evt-1' }));
      const elsewhere = await failure(
        aSender({ allowPrivate: ['10.0.0.0/8'] }).send(urlOf(), PAYLOAD, { id: 'evt-2' }),
      );
      for (const error of [none, elsewhere]) {
        expect(error.retryable).toBe(false);
        expect(error.message).toBe(
          'webhook host hooks.test resolves to 127.0.0.1, a loopback address, which webhooks may not reach',
        );
      }
      expect(received).toHaveLength(0);

      await expect(
        aSender({ allowPrivate: ['127.0.0.0/8'] }).send(urlOf(), PAYLOAD, { id: 'evt-3' }),
      ).resolves.toMatchObject({ status: 204 });
      expect(received).toHaveLength(1);
    });

    // allowPrivate is empty, so a check that let one of these through would connect (or time out) instead.
    it.each([
      ['10.0.0.5', 'private'],
      ['192.168.1.20', 'private'],
      ['100.64.0.1', 'carrierGradeNat'],
      ['0.0.0.0', 'unspecified'],
      ['169.254.169.254', 'link-local (cloud metadata)'],
      ['::1', 'loopback'],
      ['::ffff:127.0.0.1', 'loopback'],
      ['64:ff9b::a00:5', 'private'],
      ['::7f00:1', 'ipv4Compatible'],
      ['fe80::1', 'link-local'],
      ['fd12:3456::1', 'uniqueLocal'],
      ['ff02::1', 'multicast'],
    ])('refuses a host resolving to %s (%s)', async (address, range) => {
      const sender = aSender({ allowPrivate: [], lookup: resolvesTo([address]), timeoutMs: 1000 });
      const error = await failure(sender.send(urlOf(), PAYLOAD, { id: 'evt-1' }));
      expect(error.retryable).toBe(false);
      expect(error.message).toBe(
        `webhook host hooks.test resolves to ${address}, a ${range} address, which webhooks may not reach`,
      );
      expect(received).toHaveLength(0);
    });

    it('refuses a host when any one of its addresses is refused', async () => {
      const sender = aSender({ lookup: resolvesTo(['127.0.0.1', '10.0.0.5']), timeoutMs: 1000 });
      const error = await failure(sender.send(urlOf(), PAYLOAD, { id: 'evt-1' }));
      expect(error.message).toMatch(/resolves to 10\.0\.0\.5, a private address/);
      expect(received).toHaveLength(0);
    });

    it.each(['169.254.169.254', '::ffff:169.254.169.254', '64:ff9b::a9fe:a9fe', 'fd00:ec2::254', 'fd20:ce::254'])(
      'refuses the metadata address %s even when allowPrivate lists everything',
      async (address) => {
        const everything = ['0.0.0.0/0', '::/0'];
        await expect(aSender({ allowPrivate: everything }).send(urlOf(), PAYLOAD, { id: 'evt-1' })).resolves.toEqual(
          expect.objectContaining({ status: 204 }),
        );
        const sender = aSender({ allowPrivate: everything, lookup: resolvesTo([address]), timeoutMs: 1000 });
        const error = await failure(sender.send(urlOf(), PAYLOAD, { id: 'evt-2' }));
        expect(error.retryable).toBe(false);
        expect(error.message).toMatch(new RegExp(`resolves to ${address.replace(/\./g, '\\.')}, a (link-local|cloud)`));
        expect(received).toHaveLength(1);
      },
    );

    it('connects to the address it checked, so a DNS answer that changes afterwards cannot move the request', async () => {
      // The first answer passes the check; every later one points at the metadata service.
      const lookup = resolvesTo(['127.0.0.1'], ['169.254.169.254']);
      const sender = aSender({ lookup, timeoutMs: 2000 });

      await expect(sender.send(urlOf(), PAYLOAD, { id: 'evt-1' })).resolves.toMatchObject({ status: 204 });
      expect(lookup).toHaveBeenCalledTimes(1);
      expect(received).toHaveLength(1);

      // The next send resolves again and sees the new answer.
      const error = await failure(sender.send(urlOf(), PAYLOAD, { id: 'evt-2' }));
      expect(error.message).toMatch(/resolves to 169\.254\.169\.254/);
      expect(received).toHaveLength(1);
    });

    it('verifies the certificate against the host name', async () => {
      const wrongName = await failure(
        aSender({ allowedHosts: ['other.test'] }).send(urlOf('other.test'), PAYLOAD, { id: 'evt-1' }),
      );
      expect(wrongName.message).toMatch(/ERR_TLS_CERT_ALTNAME_INVALID/);
      const untrusted = await failure(aSender({ ca: undefined }).send(urlOf(), PAYLOAD, { id: 'evt-2' }));
      expect(untrusted.message).toMatch(/webhook request failed: \w*(CERT|SIGNATURE|SELF_SIGNED)/);
      expect(received).toHaveLength(0);
    });
  });

  describe('answers', () => {
    it('refuses http:// before any lookup', async () => {
      const lookup = resolvesTo(['127.0.0.1']);
      const error = await failure(
        aSender({ lookup }).send(`http://hooks.test:${port}/rules/r-1`, PAYLOAD, { id: 'e' }),
      );
      expect(error.retryable).toBe(false);
      expect(error.message).toBe('webhook URL must use https');
      expect(lookup).not.toHaveBeenCalled();
    });

    it('does not follow a redirect, and does not retry it', async () => {
      answer = (_req, res) => res.writeHead(302, { Location: urlOf('hooks.test', '/elsewhere') }).end();
      const error = await failure(aSender().send(urlOf(), PAYLOAD, { id: 'evt-1' }));
      expect(error.status).toBe(302);
      expect(error.retryable).toBe(false);
      expect(error.message).toMatch(/^webhook answered 302, a redirect, which is not followed/);
      expect(received.map((r) => r.url)).toEqual(['/rules/r-1']);
    });

    it.each([
      [500, true],
      [503, true],
      [408, true],
      [429, true],
      [400, false],
      [404, false],
      [410, false],
    ])('answers %i -> retryable %s, with the start of the body', async (status, retryable) => {
      answer = (_req, res) => res.writeHead(status, { 'Content-Type': 'text/plain' }).end('rule endpoint\nsays no');
      const error = await failure(aSender().send(urlOf(), PAYLOAD, { id: 'evt-1' }));
      expect(error.status).toBe(status);
      expect(error.retryable).toBe(retryable);
      expect(error.message).toBe(`webhook answered ${status}: rule endpoint says no`);
    });

    it('reads no more than a little of an error body', async () => {
      // An endless body: reading it all would last until the 10 s timeout.
      answer = (_req, res) => {
        res.writeHead(500, { 'Content-Type': 'text/plain' });
        const chunk = 'x'.repeat(16 * 1024);
        const writing = setInterval(() => res.write(chunk), 5);
        res.on('close', () => clearInterval(writing));
      };
      const started = Date.now();
      const error = await failure(aSender({ timeoutMs: 10_000 }).send(urlOf(), PAYLOAD, { id: 'evt-1' }));
      expect(Date.now() - started).toBeLessThan(3000);
      expect(error.status).toBe(500);
      expect(error.retryable).toBe(true);
      expect(error.message.length).toBeLessThan(300);
    });

    it('times out a receiver that never answers, as retryable', async () => {
      answer = () => undefined;
      const started = Date.now();
      const error = await failure(aSender({ timeoutMs: 300 }).send(urlOf(), PAYLOAD, { id: 'evt-1' }));
      const elapsed = Date.now() - started;
      expect(error.retryable).toBe(true);
      expect(error.status).toBeUndefined();
      expect(error.message).toBe('webhook timed out after 300 ms');
      expect(elapsed).toBeGreaterThanOrEqual(250);
      expect(elapsed).toBeLessThan(3000);
      expect(received).toHaveLength(1);
    });

    it('counts a slow DNS answer against the same timeout', async () => {
      const lookup = jest.fn(() => new Promise<WebhookAddress[]>(() => undefined));
      const error = await failure(aSender({ lookup, timeoutMs: 200 }).send(urlOf(), PAYLOAD, { id: 'evt-1' }));
      expect(error.retryable).toBe(true);
      expect(error.message).toBe('webhook timed out after 200 ms');
    });

    it('treats a refused connection as retryable', async () => {
      const closed = createTcpServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const closedPort = (closed.address() as AddressInfo).port;
      await new Promise<void>((resolve) => closed.close(() => resolve()));

      const error = await failure(aSender().send(`https://hooks.test:${closedPort}/x`, PAYLOAD, { id: 'evt-1' }));
      expect(error.retryable).toBe(true);
      expect(error.message).toBe('webhook request failed: ECONNREFUSED');
    });
  });

  describe('checkUrl', () => {
    const sender = aSender({
      allowedHosts: ['hooks.test', '*.hooks.test', '127.0.0.1', '10.1.2.3', '169.254.169.254', '::1'],
      allowPrivate: ['10.1.2.0/24', '169.254.0.0/16'],
    });
    const FIELD = 'actions[0].url';

    it.each([
      ['http://hooks.test/rules', 'must use https'],
      ['https://user:secret@hooks.test/rules', 'must not contain a user name or password'],
      ['not a url', 'must be a valid URL'],
      ['https://evil.example/rules', 'host evil.example is not on the webhook allow-list'],
      ['https://10.1.2.4/rules', 'points to the IP address 10.1.2.4, which is not on the webhook allow-list'],
      ['https://127.0.0.1/rules', 'points to 127.0.0.1, a loopback address, which webhooks may not reach'],
      ['https://2130706433/rules', 'points to 127.0.0.1, a loopback address, which webhooks may not reach'],
      ['https://[::1]/rules', 'points to ::1, a loopback address, which webhooks may not reach'],
      ['https://169.254.169.254/latest', 'points to 169.254.169.254, a link-local (cloud metadata) address'],
    ])('refuses %s, naming the field', (url, reason) => {
      const error = validationError(() => sender.checkUrl(url, FIELD));
      expect(error.field).toBe(FIELD);
      expect(error.message.startsWith(`${FIELD} ${reason}`)).toBe(true);
    });

    it.each(['https://hooks.test/rules', 'https://eu.hooks.test:8443/rules?x=1', 'https://10.1.2.3/rules'])(
      'accepts %s',
      (url) => {
        expect(() => sender.checkUrl(url, FIELD)).not.toThrow();
      },
    );
  });

  describe('configuration', () => {
    it.each([
      [{ allowedHosts: ['*'] }, 'allowedHosts[0]'],
      [{ allowedHosts: ['hooks.test', 'hooks.test/path'] }, 'allowedHosts[1]'],
      [{ allowedHosts: ['*.127.0.0.1'] }, 'allowedHosts[0]'],
      [{ allowedHosts: ['a*.hooks.test'] }, 'allowedHosts[0]'],
      [{ allowPrivate: ['10.0.0.0/33'] }, 'allowPrivate[0]'],
      [{ allowPrivate: ['localhost'] }, 'allowPrivate[0]'],
      [{ timeoutMs: 0 }, 'timeoutMs'],
      [{ ca: 'not a certificate' }, 'ca'],
    ])('refuses %j', (overrides, variable) => {
      expect(() => aSender(overrides)).toThrow(ConfigError);
      expect(() => aSender(overrides)).toThrow(`Invalid configuration: ${variable} `);
    });
  });
});
