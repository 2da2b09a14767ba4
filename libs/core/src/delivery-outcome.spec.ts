import { createServer, Server, Socket } from 'node:net';
import { Readable } from 'node:stream';
import { createTransport } from 'nodemailer';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { SMTPServer } from 'smtp-server';
import { classifySmppStatus, classifySmtpError, SMPP_STATUS, SmtpErrorLike } from './delivery-outcome';

/** An error shaped as nodemailer's SMTPConnection#_formatError builds it. */
function nodemailerError(message: string, code: string, response: string | false, command: string): SmtpErrorLike {
  const responseCode = typeof response === 'string' ? Number((/^\d+/.exec(response) ?? [])[0]) || undefined : undefined;
  return {
    code,
    command,
    message: response ? `${message}: ${response}` : message,
    ...(response ? { response } : {}),
    ...(responseCode ? { responseCode } : {}),
  };
}

describe('classifySmtpError: replies', () => {
  it.each<[string, SmtpErrorLike, string, string]>([
    [
      '550 5.1.1 to RCPT TO',
      nodemailerError(
        "Can't send mail - all recipients were rejected",
        'EENVELOPE',
        '550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown',
        'RCPT TO',
      ),
      'bounce',
      'Recipient refused (EENVELOPE at RCPT TO): 550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown',
    ],
    [
      '550 without an enhanced code to RCPT TO',
      nodemailerError(
        "Can't send mail - all recipients were rejected",
        'EENVELOPE',
        '550 No such user here',
        'RCPT TO',
      ),
      'bounce',
      'Recipient refused (EENVELOPE at RCPT TO): 550 No such user here',
    ],
    [
      '550 5.7.1 (blocklisted) to RCPT TO',
      nodemailerError(
        "Can't send mail - all recipients were rejected",
        'EENVELOPE',
        '550 5.7.1 Service unavailable; client host [203.0.113.9] blocked using zen.spamhaus.org',
        'RCPT TO',
      ),
      'fail',
      'Refused by policy (EENVELOPE at RCPT TO): 550 5.7.1 Service unavailable; client host [203.0.113.9] blocked using zen.spamhaus.org',
    ],
    [
      '552 to RCPT TO (treated as 452, RFC 5321)',
      nodemailerError(
        "Can't send mail - all recipients were rejected",
        'EENVELOPE',
        '552 Mailbox over quota',
        'RCPT TO',
      ),
      'retry',
      'Mailbox full (EENVELOPE at RCPT TO): 552 Mailbox over quota',
    ],
    [
      '451 greylisting to RCPT TO',
      nodemailerError(
        "Can't send mail - all recipients were rejected",
        'EENVELOPE',
        '451 4.7.1 Greylisted, please try again later',
        'RCPT TO',
      ),
      'retry',
      'Temporarily refused (EENVELOPE at RCPT TO): 451 4.7.1 Greylisted, please try again later',
    ],
    [
      '553 to MAIL FROM',
      nodemailerError(
        'Mail command failed',
        'EENVELOPE',
        '553 5.1.8 <news@shop.invalid>: Sender address rejected: Domain not found',
        'MAIL FROM',
      ),
      'fail',
      'Sender refused (EENVELOPE at MAIL FROM): 553 5.1.8 <news@shop.invalid>: Sender address rejected: Domain not found',
    ],
    [
      '421 to MAIL FROM (throttling)',
      nodemailerError('Mail command failed', 'EENVELOPE', '421 4.7.0 Too many messages, slow down', 'MAIL FROM'),
      'retry',
      'Temporarily refused (EENVELOPE at MAIL FROM): 421 4.7.0 Too many messages, slow down',
    ],
    [
      '554 after the message (content)',
      nodemailerError('Message failed', 'EMESSAGE', '554 5.7.1 Message rejected as spam', 'DATA'),
      'fail',
      'Message refused (EMESSAGE at DATA): 554 5.7.1 Message rejected as spam',
    ],
    [
      '550 5.1.1 after the message (recipient refused late)',
      nodemailerError('Message failed', 'EMESSAGE', '550 5.1.1 User unknown', 'DATA'),
      'bounce',
      'Recipient refused (EMESSAGE at DATA): 550 5.1.1 User unknown',
    ],
    [
      '552 5.2.2 after the message',
      nodemailerError('Message failed', 'EMESSAGE', '552 5.2.2 Mailbox full', 'DATA'),
      'retry',
      'Mailbox full (EMESSAGE at DATA): 552 5.2.2 Mailbox full',
    ],
    [
      '552 5.3.4 message too big',
      nodemailerError('Message failed', 'EMESSAGE', '552 5.3.4 Message size exceeds fixed limit', 'DATA'),
      'fail',
      'Message refused (EMESSAGE at DATA): 552 5.3.4 Message size exceeds fixed limit',
    ],
    [
      '554 to the DATA command',
      nodemailerError('Data command failed', 'EENVELOPE', '554 5.5.1 No valid recipients', 'DATA'),
      'fail',
      'Message refused (EENVELOPE at DATA): 554 5.5.1 No valid recipients',
    ],
    [
      '451 after the message',
      nodemailerError('Message failed', 'EMESSAGE', '451 4.3.0 Temporary local problem', 'DATA'),
      'retry',
      'Temporarily refused (EMESSAGE at DATA): 451 4.3.0 Temporary local problem',
    ],
    [
      '535 to AUTH',
      nodemailerError('Invalid login', 'EAUTH', '535 5.7.8 Authentication credentials invalid', 'AUTH PLAIN'),
      'fail',
      'Authentication refused (EAUTH at AUTH PLAIN): 535 5.7.8 Authentication credentials invalid',
    ],
    [
      '454 to AUTH',
      nodemailerError('Invalid login', 'EAUTH', '454 4.7.0 Temporary authentication failure', 'AUTH PLAIN'),
      'retry',
      'Temporarily refused (EAUTH at AUTH PLAIN): 454 4.7.0 Temporary authentication failure',
    ],
    [
      '421 as the server closes',
      nodemailerError(
        'Server closed the connection',
        'ECONNECTION',
        '421 4.4.2 Idle timeout, closing connection',
        'CONN',
      ),
      'retry',
      'Temporarily refused (ECONNECTION at CONN): 421 4.4.2 Idle timeout, closing connection',
    ],
    [
      '554 greeting',
      nodemailerError(
        'Invalid greeting. response=554 No SMTP service here',
        'EPROTOCOL',
        '554 No SMTP service here',
        'CONN',
      ),
      'fail',
      'Permanently refused (EPROTOCOL at CONN): 554 No SMTP service here',
    ],
    [
      '503 bad sequence',
      nodemailerError('Mail command failed', 'EENVELOPE', '503 5.5.1 Error: nested MAIL command', 'MAIL FROM'),
      'retry',
      'Temporarily refused (EENVELOPE at MAIL FROM): 503 5.5.1 Error: nested MAIL command',
    ],
  ])('%s', (_name, error, kind, reason) => {
    expect(classifySmtpError(error)).toEqual({ kind, reason });
  });

  it('reads the reply code from the response when responseCode is missing', () => {
    expect(classifySmtpError({ code: 'EENVELOPE', command: 'RCPT TO', response: '550 5.1.1 unknown' }).kind).toBe(
      'bounce',
    );
  });

  it('keeps the reason short and on one line', () => {
    const response = `550-5.1.1 first line\n550 5.1.1 ${'x'.repeat(400)}`;
    const { reason } = classifySmtpError({ code: 'EENVELOPE', command: 'RCPT TO', response, responseCode: 550 });
    expect(reason).toHaveLength(200);
    expect(reason.startsWith('Recipient refused (EENVELOPE at RCPT TO): 550-5.1.1 first line 550 5.1.1 xxx')).toBe(
      true,
    );
    expect(reason.endsWith('x…')).toBe(true);
  });
});

describe('classifySmtpError: no reply', () => {
  const lost = { ...nodemailerError('Connection closed unexpectedly', 'ECONNECTION', false, 'CONN') };
  const socketTimeout = { ...nodemailerError('Timeout', 'ETIMEDOUT', false, 'CONN'), timeoutType: 'SOCKET_TIMEOUT' };
  const reset = { ...nodemailerError('read ECONNRESET', 'ESOCKET', false, 'CONN'), originalCode: 'ECONNRESET' };

  it.each([lost, socketTimeout, reset])('a lost connection after DATA is uncertain ($code)', (error) => {
    expect(classifySmtpError({ ...error, isAfterData: true })).toEqual({
      kind: 'uncertain',
      reason: `Connection lost after DATA, before the reply (${error.code} at CONN): ${error.message}`,
    });
  });

  it.each([lost, socketTimeout, reset])('a lost connection before the message went out is retried ($code)', (error) => {
    expect(classifySmtpError({ ...error, isAfterData: false })).toEqual({
      kind: 'retry',
      reason: `Connection lost before the message was sent (${error.code} at CONN): ${error.message}`,
    });
  });

  it('a lost connection at an unknown stage is uncertain, not blindly retried', () => {
    expect(classifySmtpError(lost)).toEqual({
      kind: 'uncertain',
      reason: 'Connection lost at an unknown stage (ECONNECTION at CONN): Connection closed unexpectedly',
    });
    expect(classifySmtpError({ message: 'boom' })).toEqual({
      kind: 'uncertain',
      reason: 'Connection lost at an unknown stage (no code): boom',
    });
  });

  it.each<[string, SmtpErrorLike]>([
    [
      'connection refused',
      {
        ...nodemailerError('connect ECONNREFUSED 127.0.0.1:25', 'ESOCKET', false, 'CONN'),
        originalCode: 'ECONNREFUSED',
      },
    ],
    [
      'connection timeout',
      { ...nodemailerError('Connection timeout', 'ETIMEDOUT', false, 'CONN'), timeoutType: 'CONNECT_TIMEOUT' },
    ],
    [
      'greeting timeout',
      { ...nodemailerError('Greeting never received', 'ETIMEDOUT', false, 'CONN'), timeoutType: 'GREETING_TIMEOUT' },
    ],
    ['DNS failure', nodemailerError('getaddrinfo EAI_AGAIN smtp.example.com', 'EDNS', false, 'CONN')],
    ['STARTTLS failure', nodemailerError('Error initiating TLS - socket hang up', 'ETLS', false, 'CONN')],
  ])('%s is retried, whatever the stage says', (_name, error) => {
    expect(classifySmtpError({ ...error, isAfterData: true })).toEqual({
      kind: 'retry',
      reason: `Could not reach the mail server (${error.code} at CONN): ${error.message}`,
    });
  });

  it('a connection lost while an envelope command waits is retried', () => {
    expect(classifySmtpError({ code: 'ECONNECTION', command: 'RCPT TO', message: 'Connection closed' }).kind).toBe(
      'retry',
    );
  });

  it.each<[string, SmtpErrorLike, string, string]>([
    [
      'missing credentials',
      nodemailerError('Missing credentials for "PLAIN"', 'EAUTH', false, 'API'),
      'fail',
      'Authentication failed (EAUTH at API): Missing credentials for "PLAIN"',
    ],
    [
      'no credentials at all',
      { code: 'ENOAUTH', message: 'Authentication info was not provided' },
      'fail',
      'Authentication failed (ENOAUTH): Authentication info was not provided',
    ],
    [
      'message over the SIZE limit',
      nodemailerError('Message size larger than allowed 1000', 'EMESSAGE', false, 'MAIL FROM'),
      'fail',
      'Message could not be sent (EMESSAGE at MAIL FROM): Message size larger than allowed 1000',
    ],
    [
      'invalid sender',
      nodemailerError('Invalid sender "a@b\\r\\nX"', 'EENVELOPE', false, 'API'),
      'fail',
      'Message could not be sent (EENVELOPE at API): Invalid sender "a@b\\r\\nX"',
    ],
    [
      'invalid recipient address',
      nodemailerError('Invalid recipient "bad@@example.com"', 'EENVELOPE', false, 'API'),
      'bounce',
      'Recipient address is not valid (EENVELOPE at API): Invalid recipient "bad@@example.com"',
    ],
    [
      'REQUIRETLS unsupported',
      nodemailerError('Server does not support REQUIRETLS extension (RFC 8689)', 'EREQUIRETLS', false, 'MAIL FROM'),
      'fail',
      'Message could not be sent (EREQUIRETLS at MAIL FROM): Server does not support REQUIRETLS extension (RFC 8689)',
    ],
  ])('%s -> %s', (_name, error, kind, reason) => {
    expect(classifySmtpError({ ...error, isAfterData: false })).toEqual({ kind, reason });
  });
});

/** A scripted SMTP peer: answers like a mail server, with one way of dying. */
function scriptedPeer(dies: 'after-rcpt' | 'after-dot'): Server {
  return createServer((socket) => {
    socket.on('error', () => undefined);
    socket.write('220 peer.test ESMTP\r\n');
    let buffer = '';
    let inData = false;
    socket.on('data', (chunk) => {
      buffer += chunk.toString('latin1');
      for (let end = buffer.indexOf('\r\n'); end >= 0; end = buffer.indexOf('\r\n')) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (inData) {
          if (line === '.' && dies === 'after-dot') return void socket.destroy();
          continue;
        }
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'RCPT' && dies === 'after-rcpt') return void socket.destroy();
        if (verb === 'DATA') inData = true;
        socket.write(verb === 'DATA' ? '354 go ahead\r\n' : verb === 'QUIT' ? '221 bye\r\n' : '250 ok\r\n');
      }
    });
  });
}

const listen = (server: Server) =>
  new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)),
  );
const close = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

/**
 * Sends one message over a fresh SMTPConnection and returns the error, with isAfterData set the way
 * a sender sets it: the message stream was read, which nodemailer does only after DATA got 354.
 */
async function sendTracked(port: number, to: string): Promise<SmtpErrorLike> {
  const connection = new SMTPConnection({ host: '127.0.0.1', port, ignoreTLS: true, logger: false });
  connection.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => connection.connect((err?: Error) => (err ? reject(err) : resolve())));
  const message = Readable.from([Buffer.from('Subject: hi\r\n\r\nHello\r\n')]);
  const error = await new Promise<SmtpErrorLike>((resolve, reject) =>
    connection.send({ from: 'news@shop.test', to: [to] }, message, (err) =>
      err ? resolve(err) : reject(new Error('sent')),
    ),
  );
  connection.close();
  return Object.assign(error, { isAfterData: message.readableDidRead });
}

describe('classifySmtpError against real nodemailer', () => {
  let smtp: SMTPServer;
  let smtpPort: number;
  const sockets = new Set<Socket>();

  beforeAll(async () => {
    smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ['AUTH', 'STARTTLS'],
      logger: false,
      onConnect(session, callback) {
        callback();
      },
      onRcptTo(address, _session, callback) {
        const reply = (responseCode: number, message: string) =>
          callback(Object.assign(new Error(message), { responseCode }));
        if (address.address === 'nobody@example.test')
          return reply(550, '5.1.1 <nobody@example.test>: Recipient address rejected: User unknown');
        if (address.address === 'later@example.test') return reply(451, '4.7.1 Greylisted, please try again later');
        callback();
      },
      onData(stream, session, callback) {
        stream.resume();
        stream.on('end', () =>
          session.envelope.rcptTo.some((r) => r.address === 'spam@example.test')
            ? callback(Object.assign(new Error('5.7.1 Message rejected as spam'), { responseCode: 554 }))
            : callback(),
        );
      },
    });
    smtp.server.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    smtpPort = await new Promise<number>((resolve) =>
      smtp.listen(0, '127.0.0.1', () => resolve((smtp.server.address() as { port: number }).port)),
    );
  });

  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => smtp.close(() => resolve()));
  });

  const sendMail = async (to: string): Promise<SmtpErrorLike> => {
    const transport = createTransport({
      host: '127.0.0.1',
      port: smtpPort,
      secure: false,
      ignoreTLS: true,
      logger: false,
    });
    try {
      await transport.sendMail({ from: 'news@shop.test', to, subject: 'Spring sale', text: 'Hello' });
    } catch (error) {
      return error as SmtpErrorLike;
    } finally {
      transport.close();
    }
    throw new Error(`expected ${to} to be refused`);
  };

  it('550 5.1.1 to RCPT TO is a bounce', async () => {
    const error = await sendMail('nobody@example.test');
    expect([error.code, error.command, error.responseCode]).toEqual(['EENVELOPE', 'RCPT TO', 550]);
    expect(classifySmtpError(error)).toEqual({
      kind: 'bounce',
      reason:
        'Recipient refused (EENVELOPE at RCPT TO): 550 5.1.1 <nobody@example.test>: Recipient address rejected: User unknown',
    });
  });

  it('451 to RCPT TO is retried', async () => {
    const error = await sendMail('later@example.test');
    expect([error.code, error.command, error.responseCode]).toEqual(['EENVELOPE', 'RCPT TO', 451]);
    expect(classifySmtpError(error)).toEqual({
      kind: 'retry',
      reason: 'Temporarily refused (EENVELOPE at RCPT TO): 451 4.7.1 Greylisted, please try again later',
    });
  });

  it('554 after the message body is a failure, not a bounce', async () => {
    const error = await sendMail('spam@example.test');
    expect([error.code, error.command, error.responseCode]).toEqual(['EMESSAGE', 'DATA', 554]);
    expect(classifySmtpError(error)).toEqual({
      kind: 'fail',
      reason: 'Message refused (EMESSAGE at DATA): 554 5.7.1 Message rejected as spam',
    });
  });

  it('a peer that dies after the message body leaves the send uncertain', async () => {
    const peer = scriptedPeer('after-dot');
    try {
      const error = await sendTracked(await listen(peer), 'someone@example.test');
      expect([error.command, error.responseCode, error.isAfterData]).toEqual(['CONN', undefined, true]);
      expect(['ECONNECTION', 'ESOCKET']).toContain(error.code);
      expect(classifySmtpError(error).kind).toBe('uncertain');
      // nodemailer alone cannot tell this from a drop before DATA: without the stage it stays uncertain
      expect(classifySmtpError({ ...error, isAfterData: undefined }).kind).toBe('uncertain');
    } finally {
      await close(peer);
    }
  });

  it('a peer that dies at RCPT TO gets a retry', async () => {
    const peer = scriptedPeer('after-rcpt');
    try {
      const error = await sendTracked(await listen(peer), 'someone@example.test');
      expect([error.command, error.responseCode, error.isAfterData]).toEqual(['CONN', undefined, false]);
      expect(classifySmtpError(error).kind).toBe('retry');
    } finally {
      await close(peer);
    }
  });

  it('a refused connection is retried', async () => {
    const probe = createServer();
    const port = await listen(probe);
    await close(probe);
    const transport = createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true, logger: false });
    const error = (await transport.sendMail({ from: 'news@shop.test', to: 'a@example.test', text: 'x' }).then(
      () => null,
      (e: SmtpErrorLike) => e,
    ))!;
    transport.close();
    expect([error.code, error.originalCode, error.command]).toEqual(['ESOCKET', 'ECONNREFUSED', 'CONN']);
    expect(classifySmtpError(error).kind).toBe('retry');
  });
});

describe('classifySmppStatus', () => {
  it.each<[string, number, string]>([
    ['ESME_RTHROTTLED', 0x58, 'retry'],
    ['ESME_RMSGQFUL', 0x14, 'retry'],
    ['ESME_RSYSERR', 0x08, 'retry'],
    ['ESME_RINVBNDSTS', 0x04, 'retry'],
    ['ESME_RX_T_APPN', 0x64, 'retry'],
    ['ESME_RINVDSTADR', 0x0b, 'bounce'],
    ['ESME_RSUBMITFAIL', 0x45, 'fail'],
    ['ESME_RINVSRCADR', 0x0a, 'fail'],
    ['ESME_RINVMSGLEN', 0x01, 'fail'],
    ['ESME_RINVDSTTON', 0x50, 'fail'],
    ['ESME_RINVDSTNPI', 0x51, 'fail'],
    ['ESME_RINVESMCLASS', 0x43, 'fail'],
    ['ESME_RINVDCS', 0x104, 'fail'],
    ['ESME_RX_P_APPN', 0x65, 'fail'],
    ['ESME_RX_R_APPN', 0x66, 'fail'],
    ['ESME_RPROHIBITED', 0x101, 'fail'],
    ['ESME_RDELIVERYFAILURE', 0xfe, 'fail'],
    ['ESME_RUNKNOWNERR', 0xff, 'fail'],
  ])('%s (0x%s) -> %s', (name, value, kind) => {
    expect(SMPP_STATUS[name]).toBe(value);
    const outcome = classifySmppStatus(value);
    expect(outcome.kind).toBe(kind);
    expect('reason' in outcome && outcome.reason).toMatch(
      new RegExp(`^SMSC refused the message: ${name} \\(0x${value.toString(16).toUpperCase().padStart(8, '0')}, `),
    );
  });

  it('accepts ESME_ROK', () => {
    expect(SMPP_STATUS.ESME_ROK).toBe(0);
    expect(classifySmppStatus(0)).toEqual({ kind: 'ok' });
  });

  it('names the status exactly and fails anything it does not know', () => {
    expect(classifySmppStatus(0x58)).toEqual({
      kind: 'retry',
      reason: 'SMSC refused the message: ESME_RTHROTTLED (0x00000058, throttled)',
    });
    expect(classifySmppStatus(0x0b)).toEqual({
      kind: 'bounce',
      reason: 'SMSC refused the message: ESME_RINVDSTADR (0x0000000B, invalid destination address)',
    });
    expect(classifySmppStatus(0x401)).toEqual({
      kind: 'fail',
      reason: 'SMSC refused the message with status 0x00000401',
    });
  });

  it('agrees with the smpp package on every value it names', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { errors } = require('smpp') as { errors: Record<string, number> };
    for (const [name, value] of Object.entries(SMPP_STATUS)) expect([name, errors[name]]).toEqual([name, value]);
  });
});
