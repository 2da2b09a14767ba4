import { simpleParser } from 'mailparser';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTransport } from 'nodemailer';
import { SmtpSink } from './smtp-sink';

interface SmtpFailure {
  code?: string;
  command?: string;
  responseCode?: number;
  response?: string;
}

function aClient(url: string, options: { pool?: boolean; auth?: { user: string; pass: string } } = {}) {
  const { port } = new URL(url);
  const base = { host: '127.0.0.1', port: Number(port), secure: false, auth: options.auth, logger: false };
  return options.pool ? createTransport({ ...base, pool: true, maxConnections: 1 }) : createTransport(base);
}

function aMessage(to: string, subject = 'Hello') {
  return { from: 'news@shop.example', to, subject, text: `Hello ${to}` };
}

async function failure(sending: Promise<unknown>): Promise<SmtpFailure> {
  const error = (await sending.then(
    () => undefined,
    (rejection: unknown) => rejection,
  )) as SmtpFailure | undefined;
  expect(error).toBeDefined();
  return { code: error!.code, command: error!.command, responseCode: error!.responseCode, response: error!.response };
}

/** Resolves with the outcome of a promise, or with 'pending' if it has not settled within `ms`. */
function within<T>(promise: Promise<T>, ms: number): Promise<T | 'pending'> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'pending'>((resolve) => (timer = setTimeout(() => resolve('pending'), ms)));
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`gave up waiting for ${what}`);
}

function isRefused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}

/** A client that reads the greeting and then stays connected; `closed` gives all it read. */
async function anIdleSession(port: number): Promise<{ closed: Promise<string> }> {
  const socket = connect(port, '127.0.0.1');
  let received = '';
  const closed = new Promise<string>((resolve) => socket.once('close', () => resolve(received)));
  await new Promise<void>((resolve) =>
    socket.on('data', (chunk) => {
      received += chunk.toString();
      if (received.startsWith('220 ')) resolve();
    }),
  );
  return { closed };
}

describe('SmtpSink', () => {
  const sink = new SmtpSink();
  let url: string;

  beforeAll(async () => {
    ({ url } = await sink.start());
  });

  afterEach(() => {
    sink.clearRules();
    sink.clear();
  });

  afterAll(() => sink.stop());

  it('listens on an ephemeral loopback port and says so in its url', () => {
    expect(url).toMatch(/^smtp:\/\/127\.0\.0\.1:\d+$/);
    expect(Number(new URL(url).port)).toBeGreaterThan(0);
  });

  it('keeps the envelope and the raw bytes of each message, in order', async () => {
    const client = aClient(url);
    await client.sendMail(aMessage('anna@example.com', 'First'));
    await client.sendMail({ ...aMessage('ben@example.com', 'Second'), cc: 'carl@example.com' });

    const [first, second] = sink.messages();
    expect(sink.count()).toBe(2);
    expect(first).toEqual(
      expect.objectContaining({ from: 'news@shop.example', to: ['anna@example.com'], receivedAt: expect.any(Date) }),
    );
    expect(second.to).toEqual(['ben@example.com', 'carl@example.com']);
    expect(second.id).toBe(first.id + 1);
    const parsed = await simpleParser(first.raw);
    expect(parsed.subject).toBe('First');
    expect(parsed.text).toBe('Hello anna@example.com\n');
    expect(first.raw.toString()).toMatch(/^Subject: First\r$/m);
    expect(sink.stats()).toEqual({
      accepted: 3,
      rejected: 0,
      attemptsByAddress: new Map([
        ['anna@example.com', 1],
        ['ben@example.com', 1],
        ['carl@example.com', 1],
      ]),
    });
  });

  it('answers a rule on RCPT TO the given number of times, matching the address case-insensitively', async () => {
    sink.addRule({ address: 'Mixed.Case@Example.com', code: 452, times: 1, message: 'Mailbox full' });
    const client = aClient(url);

    expect(await failure(client.sendMail(aMessage('mixed.case@example.com')))).toEqual({
      code: 'EENVELOPE',
      command: 'RCPT TO',
      responseCode: 452,
      response: '452 Mailbox full',
    });
    await client.sendMail(aMessage('MIXED.CASE@example.com'));

    expect(sink.count()).toBe(1);
    expect(sink.stats()).toEqual({
      accepted: 1,
      rejected: 1,
      attemptsByAddress: new Map([['mixed.case@example.com', 2]]),
    });
  });

  it('answers a data-stage rule after the body, and accepts once it is used up', async () => {
    sink.addRule({ address: 'trap@example.com', code: 554, stage: 'data', times: 1 });
    const client = aClient(url);

    expect(await failure(client.sendMail(aMessage('trap@example.com')))).toEqual({
      code: 'EMESSAGE',
      command: 'DATA',
      responseCode: 554,
      response: '554 Mailbox unavailable',
    });
    await client.sendMail(aMessage('trap@example.com'));

    expect(sink.count()).toBe(1);
    expect(sink.stats()).toEqual(
      expect.objectContaining({ accepted: 1, rejected: 1, attemptsByAddress: new Map([['trap@example.com', 2]]) }),
    );
  });

  it('keeps answering a rule without `times`, until the rules are cleared', async () => {
    sink.addRule({ address: 'gone@example.com', code: 550 });
    const client = aClient(url);

    for (let attempt = 0; attempt < 3; attempt++) {
      expect((await failure(client.sendMail(aMessage('gone@example.com')))).responseCode).toBe(550);
    }
    sink.clearRules();
    await client.sendMail(aMessage('gone@example.com'));

    expect(sink.stats()).toEqual(
      expect.objectContaining({ accepted: 1, rejected: 3, attemptsByAddress: new Map([['gone@example.com', 4]]) }),
    );
  });

  it('accepts any credentials when the client logs in', async () => {
    const client = aClient(url, { auth: { user: 'mailer', pass: 'anything' } });

    await expect(client.verify()).resolves.toBe(true);
    await client.sendMail(aMessage('anna@example.com'));

    expect(sink.count()).toBe(1);
  });

  it('waits for a count, and rejects saying how many arrived when it does not come', async () => {
    const waiting = sink.waitForCount(2);
    const client = aClient(url);
    await client.sendMail(aMessage('anna@example.com'));
    await client.sendMail(aMessage('ben@example.com'));
    await expect(waiting).resolves.toBeUndefined();

    await expect(sink.waitForCount(3, 50)).rejects.toThrow('SmtpSink: waited 50 ms for 3 messages, 2 arrived');
  });

  it('forgets messages and stats on clear, and keeps counting ids', async () => {
    const client = aClient(url);
    await client.sendMail(aMessage('anna@example.com'));
    const lastId = sink.messages()[0].id;

    sink.clear();
    expect(sink.count()).toBe(0);
    expect(sink.stats()).toEqual({ accepted: 0, rejected: 0, attemptsByAddress: new Map() });

    await client.sendMail(aMessage('anna@example.com'));
    expect(sink.messages().map((message) => message.id)).toEqual([lastId + 1]);
  });

  it('refuses a second start', async () => {
    await expect(sink.start()).rejects.toThrow('SmtpSink is already started');
  });
});

describe('SmtpSink options', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'smtp-sink-'));
  });

  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('writes each message as <id>.eml into `dir`', async () => {
    const sink = new SmtpSink({ dir });
    const { url } = await sink.start();
    try {
      const client = aClient(url);
      await client.sendMail(aMessage('anna@example.com'));
      await client.sendMail(aMessage('ben@example.com'));

      const messages = sink.messages();
      expect((await readdir(dir)).sort()).toEqual(messages.map((message) => `${message.id}.eml`).sort());
      for (const message of messages) {
        expect((await readFile(join(dir, `${message.id}.eml`))).equals(message.raw)).toBe(true);
      }
    } finally {
      await sink.stop();
    }
  });

  it('rejects the share of recipients its random source picks', async () => {
    const draws = [0.1, 0.9, 0.29, 0.3];
    const sink = new SmtpSink({ failShare: { fraction: 0.3, code: 421 }, random: () => draws.shift()! });
    const { url } = await sink.start();
    try {
      const client = aClient(url);
      const outcomes: Array<number | 'sent'> = [];
      for (const to of ['a@example.com', 'b@example.com', 'c@example.com', 'd@example.com']) {
        outcomes.push(
          await client.sendMail(aMessage(to)).then(
            () => 'sent' as const,
            (error: SmtpFailure) => error.responseCode!,
          ),
        );
      }

      expect(outcomes).toEqual([421, 'sent', 421, 'sent']);
      expect(sink.messages().flatMap((message) => message.to)).toEqual(['b@example.com', 'd@example.com']);
      expect(sink.stats()).toEqual(expect.objectContaining({ accepted: 2, rejected: 2 }));
    } finally {
      await sink.stop();
    }
  });
});

describe('SmtpSink stop', () => {
  it('resolves while pooled connections are still open, saying 421 to them, and closes the port', async () => {
    const sink = new SmtpSink();
    const { url, port } = await sink.start();
    const pool = aClient(url, { pool: true });
    const idle = await anIdleSession(port);
    try {
      await pool.sendMail(aMessage('anna@example.com'));

      // smtp-server's own close() would wait 30 s for these connections.
      await expect(within(sink.stop(), 5000)).resolves.toBeUndefined();

      await expect(idle.closed).resolves.toMatch(/^220 .*\r\n421 Server shutting down\r\n$/);
      expect(await isRefused(port)).toBe(true);
    } finally {
      pool.close();
    }
  });

  it('ends a connection that hangs after DATA, failing its send, and can start again', async () => {
    const sink = new SmtpSink();
    const { url } = await sink.start();
    sink.hangAfterDataFor('slow@example.com');
    const client = aClient(url);
    const sending = client.sendMail(aMessage('slow@example.com'));
    const outcome = failure(sending);
    await until(() => sink.stats().attemptsByAddress.get('slow@example.com') === 1, 'the RCPT of the hanging send');

    await expect(within(sink.stop(), 5000)).resolves.toBeUndefined();

    expect((await outcome).code).toMatch(/^E/);
    expect(sink.count()).toBe(0);

    const restarted = await sink.start();
    try {
      sink.clearRules();
      await aClient(restarted.url).sendMail(aMessage('slow@example.com'));
      expect(sink.count()).toBe(1);
    } finally {
      await sink.stop();
    }
  });
});
