/**
 * What the send ledger does with what a channel said (RELIABILITY.md "Faults to survive"):
 * - retry: nothing was accepted and trying again later may work (4xx, throttling, a connection
 *   lost before the message was complete);
 * - bounce: the recipient's address is refused for good (hard bounce: the address is suppressed);
 * - fail: refused for good, but not the recipient's fault (our sender, content, credentials, policy);
 * - uncertain: the peer may have accepted the message (connection lost once the body was under
 *   way and before the reply), so it is not blindly sent again.
 */
export type DeliveryOutcome =
  | { kind: 'retry'; reason: string }
  | { kind: 'bounce'; reason: string }
  | { kind: 'fail'; reason: string }
  | { kind: 'uncertain'; reason: string };

/** The fields nodemailer (10.x, smtp-connection) puts on the errors it reports. */
export interface SmtpErrorLike {
  /** EENVELOPE, EMESSAGE, ETIMEDOUT, ECONNECTION, ESOCKET, EPROTOCOL, EAUTH, EDNS, ETLS ... */
  code?: string;
  /** The reply code, when the server replied. */
  responseCode?: number;
  /** The command answered: 'MAIL FROM', 'RCPT TO', 'DATA', 'AUTH PLAIN' ...; 'CONN' for connection errors at any stage, 'API' for checks before anything is sent. */
  command?: string;
  response?: string;
  message?: string;
  /** Which timer fired, on ETIMEDOUT: CONNECT_TIMEOUT, GREETING_TIMEOUT, SOCKET_TIMEOUT. */
  timeoutType?: string;
  /** The system error code nodemailer replaced with its own (ECONNREFUSED, ECONNRESET ...). */
  originalCode?: string;
  /**
   * Set by the sender: the peer had answered DATA with 354 and started reading the message body
   * (the message stream's `readableDidRead`, as nodemailer's own pool checks before requeueing).
   * nodemailer reports a lost connection as command 'CONN' at any stage, so only this tells a drop
   * before DATA (safe to retry) from one after it (the peer may have accepted the message).
   */
  isAfterData?: boolean;
}

const REASON_LENGTH = 200;

/** Failures of connection set-up: nothing of the message has been offered yet. */
const BEFORE_SESSION_CODES = new Set(['EDNS', 'ETLS', 'EPROXY', 'EMAXLIMIT']);
const BEFORE_SESSION_TIMEOUTS = new Set(['CONNECT_TIMEOUT', 'GREETING_TIMEOUT']);
const BEFORE_SESSION_SYSTEM_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
]);
/** Commands that come before DATA: a lost connection while one is outstanding sent no message. */
const ENVELOPE_COMMANDS = /^(EHLO|HELO|LHLO|STARTTLS|AUTH\b|MAIL FROM|RCPT TO|RSET)/;
const CREDENTIAL_CODES = new Set(['EAUTH', 'ENOAUTH', 'EOAUTH2']);
/** Our own set-up or message is wrong: sending again changes nothing. */
const OWN_FAULT_CODES = new Set(['EREQUIRETLS', 'ECONFIG', 'ESTREAM', 'EMESSAGE', 'EENVELOPE', 'EMAXRECIPIENTS']);

/** RFC 3463 enhanced status codes that name the recipient's mailbox or domain. */
const RECIPIENT_STATUS = new Set(['5.1.1', '5.1.2', '5.1.3', '5.1.6', '5.1.10', '5.2.1']);

function reasonOf(sentence: string, error: SmtpErrorLike): string {
  const where = [error.code, error.command && `at ${error.command}`].filter(Boolean).join(' ');
  const said = (error.response || error.message || '').replace(/\s+/g, ' ').trim();
  const text = `${sentence} (${where || 'no code'})${said ? `: ${said}` : ''}`;
  return text.length > REASON_LENGTH ? `${text.slice(0, REASON_LENGTH - 1)}…` : text;
}

function replyCodeOf(error: SmtpErrorLike): number | null {
  if (typeof error.responseCode === 'number' && error.responseCode >= 200 && error.responseCode < 600) {
    return error.responseCode;
  }
  const match = /^([2-5]\d\d)[ -]/.exec(error.response ?? '');
  return match ? Number(match[1]) : null;
}

/** The RFC 3463 status after the reply code ("550 5.1.1 ..." -> "5.1.1"), if the server gave one. */
function enhancedStatusOf(response: string | undefined): string | null {
  const match = /^\d{3}[ -]([245]\.\d{1,3}\.\d{1,3})\b/.exec(response ?? '');
  return match ? match[1] : null;
}

/**
 * Classifies an error from nodemailer (SMTP transport, pool or connection). Reply codes decide
 * first; without a reply, the error code and stage do. A lost connection whose stage is unknown
 * (`isAfterData` unset) counts as uncertain: it may have come after the closing ".".
 */
export function classifySmtpError(error: SmtpErrorLike): DeliveryOutcome {
  const reply = replyCodeOf(error);
  if (reply !== null && reply >= 400) return classifyReply(error, reply);
  return classifyWithoutReply(error);
}

function classifyReply(error: SmtpErrorLike, reply: number): DeliveryOutcome {
  const status = enhancedStatusOf(error.response);
  const command = error.command ?? '';
  // 503 (bad sequence of commands) is about the session, not the message; nodemailer treats it alike.
  if (reply < 500 || reply === 503) return { kind: 'retry', reason: reasonOf('Temporarily refused', error) };
  // Mailbox full is persistent but transient (RFC 3463); RFC 5321 4.5.3.1.10 asks clients to take 552 to RCPT as 452.
  if (status === '5.2.2' || (reply === 552 && command === 'RCPT TO')) {
    return { kind: 'retry', reason: reasonOf('Mailbox full', error) };
  }
  if (CREDENTIAL_CODES.has(error.code ?? '') || command.startsWith('AUTH')) {
    return { kind: 'fail', reason: reasonOf('Authentication refused', error) };
  }
  if (command === 'RCPT TO') {
    // 5.7.x is security or policy (relay denied, our IP blocklisted, DMARC): suppressing the
    // recipient would punish them for our reputation.
    if (status?.startsWith('5.7.')) return { kind: 'fail', reason: reasonOf('Refused by policy', error) };
    return { kind: 'bounce', reason: reasonOf('Recipient refused', error) };
  }
  if (command === 'MAIL FROM') return { kind: 'fail', reason: reasonOf('Sender refused', error) };
  if (command === 'DATA') {
    // Some servers (and every LMTP one) refuse the recipient only once they have the message.
    if (status && RECIPIENT_STATUS.has(status)) {
      return { kind: 'bounce', reason: reasonOf('Recipient refused', error) };
    }
    return { kind: 'fail', reason: reasonOf('Message refused', error) };
  }
  return { kind: 'fail', reason: reasonOf('Permanently refused', error) };
}

function classifyWithoutReply(error: SmtpErrorLike): DeliveryOutcome {
  const code = error.code ?? '';
  if (CREDENTIAL_CODES.has(code)) return { kind: 'fail', reason: reasonOf('Authentication failed', error) };
  if (
    BEFORE_SESSION_CODES.has(code) ||
    BEFORE_SESSION_TIMEOUTS.has(error.timeoutType ?? '') ||
    BEFORE_SESSION_SYSTEM_CODES.has(error.originalCode ?? '')
  ) {
    return { kind: 'retry', reason: reasonOf('Could not reach the mail server', error) };
  }
  if (code === 'EENVELOPE' && error.command === 'API' && /^Invalid recipient/.test(error.message ?? '')) {
    return { kind: 'bounce', reason: reasonOf('Recipient address is not valid', error) };
  }
  if (OWN_FAULT_CODES.has(code)) return { kind: 'fail', reason: reasonOf('Message could not be sent', error) };
  if (ENVELOPE_COMMANDS.test(error.command ?? '') || error.isAfterData === false) {
    return { kind: 'retry', reason: reasonOf('Connection lost before the message was sent', error) };
  }
  if (error.isAfterData) {
    return {
      kind: 'uncertain',
      reason: reasonOf('Connection lost after DATA, before the reply', error),
    };
  }
  return { kind: 'uncertain', reason: reasonOf('Connection lost at an unknown stage', error) };
}

/**
 * SMPP 3.4 command_status values (section 5.1.3) a submit_sm_resp may carry, with what each does to
 * a send. Anything not listed fails the send: it names a fault in our PDU, our account or the SMSC.
 */
const SMPP_STATUS_TABLE: Record<string, { value: number; kind: 'ok' | DeliveryOutcome['kind']; says: string }> = {
  ESME_ROK: { value: 0x00, kind: 'ok', says: 'accepted' },
  /** Over the account's submit rate: slow down and try again. */
  ESME_RTHROTTLED: { value: 0x58, kind: 'retry', says: 'throttled' },
  /** The SMSC's queue (or the recipient's) is full for now. */
  ESME_RMSGQFUL: { value: 0x14, kind: 'retry', says: 'message queue full' },
  /** A fault inside the SMSC, usually passing. */
  ESME_RSYSERR: { value: 0x08, kind: 'retry', says: 'system error' },
  /** The session is not bound (it dropped and is being re-bound): nothing was submitted. */
  ESME_RINVBNDSTS: { value: 0x04, kind: 'retry', says: 'session not bound' },
  /** "ESME receiver temporary app error". */
  ESME_RX_T_APPN: { value: 0x64, kind: 'retry', says: 'temporary application error' },
  /** The number cannot receive messages: a hard bounce. */
  ESME_RINVDSTADR: { value: 0x0b, kind: 'bounce', says: 'invalid destination address' },
  ESME_RSUBMITFAIL: { value: 0x45, kind: 'fail', says: 'submit failed' },
  ESME_RINVSRCADR: { value: 0x0a, kind: 'fail', says: 'invalid source address (sender id)' },
  ESME_RINVMSGLEN: { value: 0x01, kind: 'fail', says: 'invalid message length' },
  ESME_RINVDSTTON: { value: 0x50, kind: 'fail', says: 'invalid destination TON' },
  ESME_RINVDSTNPI: { value: 0x51, kind: 'fail', says: 'invalid destination NPI' },
  ESME_RINVESMCLASS: { value: 0x43, kind: 'fail', says: 'invalid esm_class' },
  ESME_RINVDCS: { value: 0x104, kind: 'fail', says: 'invalid data coding scheme' },
  ESME_RX_P_APPN: { value: 0x65, kind: 'fail', says: 'permanent application error' },
  ESME_RX_R_APPN: { value: 0x66, kind: 'fail', says: 'message rejected' },
  ESME_RPROHIBITED: { value: 0x101, kind: 'fail', says: 'prohibited' },
  ESME_RDELIVERYFAILURE: { value: 0xfe, kind: 'fail', says: 'delivery failure' },
  ESME_RUNKNOWNERR: { value: 0xff, kind: 'fail', says: 'unknown error' },
};

/** The SMPP command_status values this module names. */
export const SMPP_STATUS: Record<string, number> = Object.freeze(
  Object.fromEntries(Object.entries(SMPP_STATUS_TABLE).map(([name, { value }]) => [name, value])),
);

const SMPP_BY_VALUE = new Map(
  Object.entries(SMPP_STATUS_TABLE).map(([name, entry]) => [entry.value, { name, ...entry }]),
);

/** Classifies the command_status of a submit_sm_resp. */
export function classifySmppStatus(commandStatus: number): DeliveryOutcome | { kind: 'ok' } {
  const hex = `0x${(commandStatus >>> 0).toString(16).toUpperCase().padStart(8, '0')}`;
  const known = SMPP_BY_VALUE.get(commandStatus);
  if (known?.kind === 'ok') return { kind: 'ok' };
  if (!known) return { kind: 'fail', reason: `SMSC refused the message with status ${hex}` };
  return { kind: known.kind, reason: `SMSC refused the message: ${known.name} (${hex}, ${known.says})` };
}
