import { writeFile } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import type { SMTPServerAddress, SMTPServerDataStream, SMTPServerSession } from 'smtp-server';

/** One message the sink took, with its envelope and the exact bytes that came after DATA. */
export interface SinkMessage {
  id: number;
  from: string;
  to: string[];
  raw: Buffer;
  receivedAt: Date;
}

/** An answer the sink gives a recipient instead of accepting it (a full mailbox, a deferral). */
export interface SinkRule {
  /** Recipient address, matched case-insensitively. */
  address: string;
  /** SMTP reply code, e.g. 451 (try again later) or 550 (no such mailbox). */
  code: number;
  /** Where the error is answered: at RCPT TO (default) or after the message body, at DATA. */
  stage?: 'rcpt' | 'data';
  /** Answer the error this many times, then accept; default: always. */
  times?: number;
  message?: string;
}

export interface SmtpSinkOptions {
  /** Also write each message as `<id>.eml` into this folder (it must exist). */
  dir?: string;
  /** Reject this fraction of recipients at RCPT TO with this code (chosen with `random`). */
  failShare?: { fraction: number; code: number };
  random?: () => number;
}

export interface SinkStats {
  accepted: number;
  rejected: number;
  attemptsByAddress: Map<string, number>;
}

interface ActiveRule {
  rule: SinkRule;
  remaining: number;
}

interface CountWaiter {
  count: number;
  resolve: () => void;
}

// Generous: a campaign email with inline images stays far below, a runaway template does not.
const MAX_MESSAGE_BYTES = 50 * 1024 * 1024;
// How long stop() lets clients read the 421 and close their side before their sockets are destroyed.
const STOP_GRACE_MS = 200;
const DEFAULT_WAIT_MS = 10_000;

/**
 * A real SMTP server on loopback for development and end-to-end tests: it keeps every message it
 * accepts, answers scripted errors per recipient, and can hang after DATA like a peer that died.
 */
export class SmtpSink {
  private server?: SMTPServer;
  private readonly sockets = new Set<Socket>();
  private received: SinkMessage[] = [];
  private lastId = 0;
  private accepted = 0;
  private rejected = 0;
  private readonly attempts = new Map<string, number>();
  private rules: ActiveRule[] = [];
  private readonly hangAddresses = new Set<string>();
  private waiters: CountWaiter[] = [];
  private readonly random: () => number;
  private delayMs = 0;

  constructor(private readonly options: SmtpSinkOptions = {}) {
    this.random = options.random ?? Math.random;
  }

  start(port = 0, host = '127.0.0.1'): Promise<{ port: number; url: string }> {
    if (this.server) return Promise.reject(new Error('SmtpSink is already started'));
    const server = this.createServer();
    this.server = server;
    // A client socket is tracked so stop() can end it: smtp-server's close() waits up to 30 s for clients.
    server.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    return new Promise((resolve, reject) => {
      const onListenError = (error: Error) => {
        this.server = undefined;
        reject(error);
      };
      server.once('error', onListenError);
      server.listen(port, host, () => {
        server.off('error', onListenError);
        // Client errors (resets, timeouts) are part of a sink's day; they must not crash the process.
        server.on('error', () => undefined);
        const address = server.server.address();
        const bound = typeof address === 'object' && address ? address.port : port;
        const urlHost = host.includes(':') ? `[${host}]` : host;
        resolve({ port: bound, url: `smtp://${urlHost}:${bound}` });
      });
    });
  }

  /** Stops listening and closes open (pooled or hanging) connections promptly, with a 421 first. */
  stop(): Promise<void> {
    const server = this.server;
    if (!server) return Promise.resolve();
    this.server = undefined;
    return new Promise((resolve) => {
      server.close(() => resolve());
      for (const connection of server.connections) {
        connection.send(421, 'Server shutting down');
        connection.close();
      }
      const grace = setTimeout(() => {
        for (const socket of this.sockets) socket.destroy();
      }, STOP_GRACE_MS);
      server.server.once('close', () => clearTimeout(grace));
    });
  }

  addRule(rule: SinkRule): void {
    this.rules.push({ rule, remaining: rule.times ?? Infinity });
  }

  /** Answers each message this many ms after keeping it (0: at once), like a slow relay. */
  setDelayMs(ms: number): void {
    this.delayMs = ms;
  }

  /** Removes every rule and every hang set by hangAfterDataFor. */
  clearRules(): void {
    this.rules = [];
    this.hangAddresses.clear();
  }

  /** Simulates a server that takes the message body and then never answers (for the "uncertain after DATA" case). */
  hangAfterDataFor(address: string): void {
    this.hangAddresses.add(address.toLowerCase());
  }

  /** Accepted messages in the order they were stored (ids may interleave when `dir` is set). */
  messages(): readonly SinkMessage[] {
    return this.received.slice();
  }

  count(): number {
    return this.received.length;
  }

  /** Forgets messages and stats; rules stay, and ids keep counting so `.eml` names stay unique. */
  clear(): void {
    this.received = [];
    this.accepted = 0;
    this.rejected = 0;
    this.attempts.clear();
  }

  waitForCount(count: number, timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
    if (this.received.length >= count) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter: CountWaiter = {
        count,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((other) => other !== waiter);
        reject(new Error(`SmtpSink: waited ${timeoutMs} ms for ${count} messages, ${this.received.length} arrived`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Counts of recipients accepted / rejected, and how many times each address was attempted. */
  stats(): SinkStats {
    return { accepted: this.accepted, rejected: this.rejected, attemptsByAddress: new Map(this.attempts) };
  }

  private createServer(): SMTPServer {
    return new SMTPServer({
      name: 'closeloop-sink',
      banner: 'Closeloop SMTP sink',
      logger: false,
      // Plain text on loopback only: no STARTTLS, so no certificate to manage.
      disabledCommands: ['STARTTLS'],
      hideSTARTTLS: true,
      authOptional: true,
      allowInsecureAuth: true,
      // A reverse DNS lookup per connection would slow every pooled connect down (and there is no DNS here).
      disableReverseLookup: true,
      size: MAX_MESSAGE_BYTES,
      onAuth: (auth, _session, callback) => callback(null, { user: auth.username ?? 'sink' }),
      onRcptTo: (address, _session, callback) => callback(this.answerRecipient(address)),
      onData: (stream, session, callback) => this.receive(stream, session, callback),
    });
  }

  private answerRecipient(address: SMTPServerAddress): Error | null {
    const recipient = address.address.toLowerCase();
    this.attempts.set(recipient, (this.attempts.get(recipient) ?? 0) + 1);
    const rule = this.takeRule(recipient, 'rcpt');
    const failShare = this.options.failShare;
    let error: Error | null = null;
    if (rule) error = smtpError(rule.code, rule.message);
    else if (failShare && this.random() < failShare.fraction) error = smtpError(failShare.code);
    if (error) this.rejected++;
    return error;
  }

  /** Consumes a matching rule's use; a rule with no uses left no longer matches. */
  private takeRule(recipient: string, stage: 'rcpt' | 'data'): SinkRule | undefined {
    const active = this.rules.find(
      (candidate) =>
        candidate.remaining > 0 &&
        (candidate.rule.stage ?? 'rcpt') === stage &&
        candidate.rule.address.toLowerCase() === recipient,
    );
    if (!active) return undefined;
    active.remaining--;
    return active.rule;
  }

  private receive(
    stream: SMTPServerDataStream,
    session: SMTPServerSession,
    callback: (error?: Error | null, message?: string) => void,
  ): void {
    const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
    const to = session.envelope.rcptTo.map((recipient) => recipient.address);
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
    });
    stream.on('end', () => {
      if (to.some((recipient) => this.hangAddresses.has(recipient.toLowerCase()))) return; // never answers
      if (stream.sizeExceeded) return this.reject(to, smtpError(552, 'Message exceeds the size limit'), callback);
      const rule = to.map((recipient) => this.takeRule(recipient.toLowerCase(), 'data')).find(Boolean);
      if (rule) return this.reject(to, smtpError(rule.code, rule.message), callback);
      this.store(from, to, Buffer.concat(chunks, size)).then(
        (id) => {
          // A slow relay: the message is kept first, then the answer comes (a sender that dies in between sent it).
          if (this.delayMs > 0) setTimeout(() => callback(null, `OK: queued as ${id}`), this.delayMs);
          else callback(null, `OK: queued as ${id}`);
        },
        (error: Error) => this.reject(to, smtpError(451, `Could not store the message: ${error.message}`), callback),
      );
    });
  }

  private reject(to: string[], error: Error, callback: (error: Error) => void): void {
    this.rejected += to.length;
    callback(error);
  }

  private async store(from: string, to: string[], raw: Buffer): Promise<number> {
    const id = ++this.lastId;
    if (this.options.dir) await writeFile(join(this.options.dir, `${id}.eml`), raw);
    this.received.push({ id, from, to, raw, receivedAt: new Date() });
    this.accepted += to.length;
    this.wakeWaiters();
    return id;
  }

  private wakeWaiters(): void {
    if (!this.waiters.length) return;
    const count = this.received.length;
    const ready = this.waiters.filter((waiter) => waiter.count <= count);
    if (!ready.length) return;
    this.waiters = this.waiters.filter((waiter) => waiter.count > count);
    for (const waiter of ready) waiter.resolve();
  }
}

function smtpError(code: number, message?: string): Error {
  const error = new Error(message ?? defaultReply(code)) as Error & { responseCode: number };
  error.responseCode = code;
  return error;
}

function defaultReply(code: number): string {
  if (code === 421) return 'Service not available, closing the connection';
  if (code >= 500) return 'Mailbox unavailable';
  return 'Mailbox temporarily unavailable, try again later';
}
