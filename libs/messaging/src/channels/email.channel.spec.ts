import { ValidationError } from '@closeloop/core';
import { simpleParser } from 'mailparser';
import { createServer, type Server, type Socket } from 'node:net';
import { SmtpSink } from '../../../../apps/peers/src/smtp-sink';
import {
  EmailChannel,
  EmailSendError,
  listUnsubscribeHeaders,
  type OutgoingEmail,
  parseSmtpUrl,
} from './email.channel';

// 150 characters, long enough for nodemailer to fold a header it is allowed to fold.
const LONG_UNSUBSCRIBE_URL = `https://t.shop.example/u/${'a1b2c3d4e5'.repeat(12)}x${'q'.repeat(4)}`;

function anEmail(overrides: Partial<OutgoingEmail> = {}): OutgoingEmail {
  return {
    from: 'Shop News <news@shop.example>',
    to: 'anna@example.com',
    subject: 'Summer offer',
    html: '<p>Hello <b>Anna</b></p>',
    text: 'Hello Anna',
    messageId: '<0b7c1e7e-2f8a-4d0c-9a57-5d7f3c2a9e11@closeloop.local>',
    listUnsubscribe: { url: LONG_UNSUBSCRIBE_URL, mailto: 'unsubscribe@shop.example' },
    headers: { 'X-Closeloop-Send': '0b7c1e7e-2f8a-4d0c-9a57-5d7f3c2a9e11', 'X-Closeloop-Program': 'SUMMER-24' },
    ...overrides,
  };
}

function headerSection(raw: Buffer): string[] {
  const text = raw.toString('utf8');
  return text.slice(0, text.indexOf('\r\n\r\n')).split('\r\n');
}

async function sendError(sending: Promise<unknown>): Promise<EmailSendError> {
  const error = await sending.then(
    () => undefined,
    (rejection: unknown) => rejection,
  );
  expect(error).toBeInstanceOf(EmailSendError);
  return error as EmailSendError;
}

function errorShape(error: EmailSendError) {
  return {
    code: error.code,
    command: error.command,
    responseCode: error.responseCode,
    response: error.response,
    isAfterData: error.isAfterData,
  };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return typeof address === 'object' && address ? address.port : 0;
}

describe('parseSmtpUrl', () => {
  it('reads host, port and URL-decoded credentials', () => {
    expect(parseSmtpUrl('smtp://mailer%40shop.example:p%3As%40ss@mail.shop.example:2525')).toEqual({
      host: 'mail.shop.example',
      port: 2525,
      secure: false,
      auth: { user: 'mailer@shop.example', pass: 'p:s@ss' },
    });
  });

  it('takes smtps:// as implicit TLS on 465 and smtp:// as 587 without auth', () => {
    expect(parseSmtpUrl('smtps://mail.shop.example')).toEqual({ host: 'mail.shop.example', port: 465, secure: true });
    expect(parseSmtpUrl('smtp://[::1]')).toEqual({ host: '::1', port: 587, secure: false });
  });

  it('refuses other schemes and non-URLs, naming the field', () => {
    expect(() => parseSmtpUrl('http://mail.shop.example')).toThrow(ValidationError);
    expect(() => parseSmtpUrl('mail.shop.example:25')).toThrow(
      expect.objectContaining({ field: 'smtpUrl', message: 'SMTP url must start with smtp:// or smtps://' }),
    );
    expect(() => parseSmtpUrl('not a url')).toThrow(expect.objectContaining({ field: 'smtpUrl' }));
  });
});

describe('listUnsubscribeHeaders', () => {
  it('gives the RFC 2369 pair and the RFC 8058 one-click header', () => {
    expect(listUnsubscribeHeaders({ url: 'https://t.shop.example/u/1', mailto: 'unsubscribe@shop.example' })).toEqual({
      'List-Unsubscribe': '<https://t.shop.example/u/1>, <mailto:unsubscribe@shop.example>',
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
    });
    expect(
      listUnsubscribeHeaders({ url: 'https://t.shop.example/u/1', mailto: 'mailto:u@shop.example?subject=stop' }),
    ).toEqual(
      expect.objectContaining({
        'List-Unsubscribe': '<https://t.shop.example/u/1>, <mailto:u@shop.example?subject=stop>',
      }),
    );
    expect(listUnsubscribeHeaders({ url: 'https://t.shop.example/u/1' })['List-Unsubscribe']).toBe(
      '<https://t.shop.example/u/1>',
    );
  });

  it.each([
    ['https://t.shop.example/u/1\r\nBcc: victim@example.com', 'listUnsubscribe.url'],
    ['https://t.shop.example/u/1> <https://evil.example', 'listUnsubscribe.url'],
    ['javascript:alert(1)', 'listUnsubscribe.url'],
    ['/u/1', 'listUnsubscribe.url'],
  ])('refuses the url %j, which would break out of the header', (url, field) => {
    expect(() => listUnsubscribeHeaders({ url })).toThrow(expect.objectContaining({ field }));
  });

  it('refuses a mailto that is not an address', () => {
    expect(() => listUnsubscribeHeaders({ url: 'https://t.shop.example/u/1', mailto: 'nobody' })).toThrow(
      expect.objectContaining({ field: 'listUnsubscribe.mailto' }),
    );
  });
});

describe('EmailChannel against the SMTP sink', () => {
  const sink = new SmtpSink();
  let url: string;
  let channel: EmailChannel;

  beforeAll(async () => {
    ({ url } = await sink.start());
    channel = new EmailChannel(url, { maxConnections: 5 });
  });

  afterEach(() => {
    sink.clearRules();
    sink.clear();
  });

  afterAll(async () => {
    channel.close();
    await sink.stop();
  });

  it('verifies the connection', async () => {
    await expect(channel.verify()).resolves.toBeUndefined();
  });

  it('sends the exact Message-ID, one-line List-Unsubscribe headers and both parts', async () => {
    const email = anEmail({ subject: 'Sommer-Angebot für Sie' });
    const result = await channel.send(email);

    expect(result).toEqual({
      messageId: email.messageId,
      response: `250 OK: queued as ${sink.messages()[0].id}`,
      accepted: ['anna@example.com'],
    });
    const [stored] = sink.messages();
    expect(sink.count()).toBe(1);
    expect(stored.from).toBe('news@shop.example');
    expect(stored.to).toEqual(['anna@example.com']);

    const lines = headerSection(stored.raw);
    expect(lines).toContain(`Message-ID: ${email.messageId}`);
    const unsubscribeAt = lines.indexOf(
      `List-Unsubscribe: <${LONG_UNSUBSCRIBE_URL}>, <mailto:unsubscribe@shop.example>`,
    );
    const postAt = lines.indexOf('List-Unsubscribe-Post: List-Unsubscribe=One-Click');
    expect(unsubscribeAt).toBeGreaterThanOrEqual(0);
    expect(postAt).toBeGreaterThanOrEqual(0);
    // A folded header would go on in a line starting with white space.
    expect(lines[unsubscribeAt + 1]).toMatch(/^\S/);
    expect(lines[postAt + 1]).toMatch(/^\S/);
    expect(lines.filter((line) => /^list-unsubscribe/i.test(line))).toHaveLength(2);

    const parsed = await simpleParser(stored.raw);
    expect(parsed.messageId).toBe(email.messageId);
    expect(parsed.subject).toBe('Sommer-Angebot für Sie');
    expect(parsed.text).toBe('Hello Anna');
    expect(parsed.html).toBe('<p>Hello <b>Anna</b></p>');
    expect(parsed.headers.get('x-closeloop-send')).toBe('0b7c1e7e-2f8a-4d0c-9a57-5d7f3c2a9e11');
    expect(parsed.headers.get('x-closeloop-program')).toBe('SUMMER-24');
  });

  it('delivers 200 concurrent sends exactly once each', async () => {
    const emails = Array.from({ length: 200 }, (_, i) =>
      anEmail({ to: `customer-${i}@example.com`, messageId: `<send-${i}@closeloop.local>` }),
    );

    const results = await Promise.all(emails.map((email) => channel.send(email)));

    expect(results.map((result) => result.messageId)).toEqual(emails.map((email) => email.messageId));
    expect(sink.count()).toBe(200);
    const arrivedIds = sink.messages().map((message) => /^Message-ID: (.*)$/m.exec(message.raw.toString())![1]);
    expect(new Set(arrivedIds).size).toBe(200);
    expect([...arrivedIds].sort()).toEqual(emails.map((email) => email.messageId).sort());
    expect(sink.stats().accepted).toBe(200);
  });

  it('rejects a deferred recipient with 451 on RCPT TO until the rule is used up', async () => {
    sink.addRule({ address: 'busy@example.com', code: 451, times: 2 });
    const email = anEmail({ to: 'busy@example.com' });

    for (let attempt = 0; attempt < 2; attempt++) {
      const error = await sendError(channel.send(email));
      expect(errorShape(error)).toEqual({
        code: 'EENVELOPE',
        command: 'RCPT TO',
        responseCode: 451,
        response: '451 Mailbox temporarily unavailable, try again later',
        isAfterData: false,
      });
    }
    await expect(channel.send(email)).resolves.toEqual(expect.objectContaining({ accepted: ['busy@example.com'] }));

    expect(sink.count()).toBe(1);
    expect(sink.stats()).toEqual({
      accepted: 1,
      rejected: 2,
      attemptsByAddress: new Map([['busy@example.com', 3]]),
    });
  });

  it('rejects an unknown mailbox with 550 on RCPT TO', async () => {
    sink.addRule({ address: 'gone@example.com', code: 550, message: 'No such user' });

    const error = await sendError(channel.send(anEmail({ to: 'gone@example.com' })));

    expect(errorShape(error)).toEqual({
      code: 'EENVELOPE',
      command: 'RCPT TO',
      responseCode: 550,
      response: '550 No such user',
      isAfterData: false,
    });
    expect(sink.count()).toBe(0);
  });

  it('rejects at DATA when the rule is on the data stage, after the body was taken', async () => {
    sink.addRule({ address: 'spamtrap@example.com', code: 550, stage: 'data', message: 'Message refused' });

    const error = await sendError(channel.send(anEmail({ to: 'spamtrap@example.com' })));

    expect(errorShape(error)).toEqual({
      code: 'EMESSAGE',
      command: 'DATA',
      responseCode: 550,
      response: '550 Message refused',
      isAfterData: true,
    });
    expect(sink.count()).toBe(0);
    expect(sink.stats().rejected).toBe(1);
    // The pool reset the session and goes on with the next message.
    await expect(channel.send(anEmail())).resolves.toEqual(expect.objectContaining({ accepted: ['anna@example.com'] }));
  });

  it('times out without a reply when the peer hangs after DATA, marked as after DATA', async () => {
    sink.hangAfterDataFor('slow@example.com');
    const impatient = new EmailChannel(url, { socketTimeoutMs: 300 });
    try {
      const error = await sendError(impatient.send(anEmail({ to: 'slow@example.com' })));

      expect(errorShape(error)).toEqual({
        code: 'ETIMEDOUT',
        command: 'CONN',
        responseCode: undefined,
        response: undefined,
        isAfterData: true,
      });
      expect(sink.count()).toBe(0);
      await expect(impatient.send(anEmail())).resolves.toEqual(
        expect.objectContaining({ accepted: ['anna@example.com'] }),
      );
      // Not re-sent behind our back by the pool: one attempt, nothing stored for it.
      expect(sink.stats().attemptsByAddress.get('slow@example.com')).toBe(1);
      expect(sink.messages().map((stored) => stored.to)).toEqual([['anna@example.com']]);
    } finally {
      impatient.close();
    }
  });
});

describe('EmailChannel without a working peer', () => {
  const silentSockets = new Set<Socket>();
  let silent: Server;

  beforeAll(async () => {
    // Accepts connections and never greets: a timeout before anything was sent.
    silent = createServer((socket) => {
      silentSockets.add(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    for (const socket of silentSockets) socket.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  });

  it('fails with ESOCKET on CONN when the connection is refused', async () => {
    const channel = new EmailChannel(`smtp://127.0.0.1:${await freePort()}`);
    try {
      const error = await sendError(channel.send(anEmail()));
      expect(errorShape(error)).toEqual({
        code: 'ESOCKET',
        command: 'CONN',
        responseCode: undefined,
        response: undefined,
        isAfterData: false,
      });
      expect(error.message).toMatch(/ECONNREFUSED/);
      expect(errorShape(await sendError(channel.verify()))).toEqual(errorShape(error));
    } finally {
      channel.close();
    }
  });

  it('fails with ETIMEDOUT on CONN, not after DATA, when the greeting never comes', async () => {
    const address = silent.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const channel = new EmailChannel(`smtp://127.0.0.1:${port}`, { greetingTimeoutMs: 200 });
    try {
      const error = await sendError(channel.send(anEmail()));
      expect(errorShape(error)).toEqual({
        code: 'ETIMEDOUT',
        command: 'CONN',
        responseCode: undefined,
        response: undefined,
        isAfterData: false,
      });
    } finally {
      channel.close();
    }
  });
});
