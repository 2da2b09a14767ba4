import { planSms, systemClock, ValidationError, type Clock, type SmsEncoding, type SmsPlan } from '@closeloop/core';
import { Logger, type LoggerService } from '@nestjs/common';
import { concatenationOf, encodeSmsText, withConcatenation } from './sms-pdu';
import {
  connect as connectSmpp,
  errors as smppErrors,
  PDU,
  type DecodedMessage,
  type PduParams,
  type Session,
} from 'smpp';

export interface OutgoingSms {
  /** E.164, a short code, or an alphanumeric sender of at most 11 characters. */
  from: string;
  /** E.164. */
  to: string;
  text: string;
  /** The send id, for logs. */
  reference?: string;
}

export interface SmsSubmitResult {
  /** One per segment, in segment order. */
  messageIds: string[];
  segments: number;
  encoding: SmsEncoding;
}

export interface DeliveryReceipt {
  messageId: string;
  /** DELIVRD, UNDELIV, EXPIRED, REJECTD, DELETED, ACCEPTD, UNKNOWN, ENROUTE ... */
  stat: string;
  err: string;
  doneAt: Date | null;
  delivered: boolean;
}

export interface InboundSms {
  from: string;
  to: string;
  text: string;
  receivedAt: Date;
}

/**
 * A listener may return a promise: the deliver_sm is acknowledged once it settles, and a rejection
 * answers ESME_RX_T_APPN so that the SMSC delivers it again rather than losing a STOP.
 */
export type SmsListener<T> = (event: T) => void | Promise<void>;

export interface SmsChannelOptions {
  /** At most this many submit_sm unanswered at once; default 10. */
  window?: number;
  /** Keep-alive period; an enquire_link still unanswered at the next one drops the link. Default 30000. */
  enquireLinkMs?: number;
  /** Backoff between reconnect attempts (exponential, with jitter). Default 500 .. 30000 ms. */
  reconnect?: { baseMs: number; maxMs: number };
  /** TCP connect plus bind; default 10000. */
  connectTimeoutMs?: number;
  /** How long a submit may wait for a window slot or a rebind before it is refused; default 30000. */
  submitTimeoutMs?: number;
  /** A submit_sm with no response by then means a broken link: the session is dropped. Default 30000. */
  responseTimeoutMs?: number;
  logger?: LoggerService;
  clock?: Clock;
  /** In [0, 1): jitter and the first concatenation reference. */
  random?: () => number;
}

const STATUS_NAMES = new Map(Object.entries(smppErrors).map(([name, code]) => [code, name]));

/** ESME_RTHROTTLED for 0x58; the hex code for statuses the specification does not name. */
export function smppStatusName(commandStatus: number): string {
  return STATUS_NAMES.get(commandStatus) ?? `0x${commandStatus.toString(16).padStart(8, '0')}`;
}

const hex = (status: number): string => `0x${status.toString(16).padStart(8, '0')}`;

/** The SMSC answered a segment's submit_sm with a non-zero command_status. */
export class SmsSubmitError extends Error {
  readonly statusName: string;

  constructor(
    readonly commandStatus: number,
    reference?: string,
  ) {
    super(
      `SMSC refused submit_sm${reference ? ` of send ${reference}` : ''}: ${smppStatusName(commandStatus)} (${hex(commandStatus)})`,
    );
    this.name = 'SmsSubmitError';
    this.statusName = smppStatusName(commandStatus);
  }
}

/** The SMSC refused the bind: wrong system_id or password, or not allowed from here. */
export class SmsBindError extends Error {
  readonly statusName: string;

  constructor(
    readonly commandStatus: number,
    where: string,
  ) {
    super(`SMSC at ${where} refused the bind: ${smppStatusName(commandStatus)} (${hex(commandStatus)})`);
    this.name = 'SmsBindError';
    this.statusName = smppStatusName(commandStatus);
  }
}

/**
 * No answer from the SMSC: not connected, connection lost, or no window slot in time. Always
 * retryable; `possiblyAccepted` says a submit_sm had been written, so the SMSC may have taken it
 * and a retry may send the message twice.
 */
export class SmsConnectionError extends Error {
  readonly retryable = true;

  constructor(
    message: string,
    readonly possiblyAccepted: boolean,
  ) {
    super(message);
    this.name = 'SmsConnectionError';
  }
}

type ChannelState = 'idle' | 'connecting' | 'bound' | 'reconnecting' | 'closed';

interface SubmitJob {
  sms: OutgoingSms;
  plan: SmsPlan;
  messageIds: string[];
  unanswered: number;
  unwritten: number;
  isSettled: boolean;
  waitTimer: NodeJS.Timeout;
  resolve: (result: SmsSubmitResult) => void;
  reject: (error: Error) => void;
}

interface Segment {
  job: SubmitJob;
  index: number;
  params: PduParams;
}

interface InFlight {
  segment: Segment;
  timer: NodeJS.Timeout;
}

interface Endpoint {
  host: string;
  port: number;
  tls: boolean;
  systemId: string;
  password: string;
}

const ESM_CLASS_MESSAGE_TYPE = 0x3c;
const ESM_CLASS_DELIVERY_RECEIPT = 0x04;
const DATA_CODING: Record<SmsEncoding, number> = { 'GSM-7': 0x00, 'UCS-2': 0x08 };
const REGISTERED_DELIVERY_FINAL = 0x01;
const TON = { UNKNOWN: 0x00, INTERNATIONAL: 0x01, ALPHANUMERIC: 0x05 } as const;
const NPI = { UNKNOWN: 0x00, ISDN: 0x01 } as const;
const MAX_SEGMENTS = 255; // the concatenation header counts parts in one octet
const MAX_PARTIAL_INBOUND = 500;
const UNBIND_TIMEOUT_MS = 2000;
const E164 = /^\+[1-9]\d{1,14}$/;
const SHORT_CODE = /^\d{3,15}$/;
const ALPHANUMERIC_SENDER = /^(?=.*[A-Za-z])[A-Za-z0-9 .&_-]{1,11}$/;

const RECEIPT_STATS: Record<number, string> = {
  1: 'ENROUTE',
  2: 'DELIVRD',
  3: 'EXPIRED',
  4: 'DELETED',
  5: 'UNDELIV',
  6: 'ACCEPTD',
  7: 'UNKNOWN',
  8: 'REJECTD',
};

/**
 * An SMPP 3.4 client (bind_transceiver) for one SMSC account: windowed submit_sm, enquire_link
 * keep-alive, delivery receipts and mobile-originated messages in, and reconnect with backoff.
 */
export class SmsChannel {
  private readonly endpoint: Endpoint;
  private readonly window: number;
  private readonly enquireLinkMs: number;
  private readonly reconnectBackoff: { baseMs: number; maxMs: number };
  private readonly connectTimeoutMs: number;
  private readonly submitTimeoutMs: number;
  private readonly responseTimeoutMs: number;
  private readonly logger: LoggerService;
  private readonly clock: Clock;
  private readonly random: () => number;

  private state: ChannelState = 'idle';
  private connecting: Promise<void> | null = null;
  private session: Session | null = null;
  private readonly queue: Segment[] = [];
  private readonly inFlight = new Set<InFlight>();
  private readonly receiptListeners: SmsListener<DeliveryReceipt>[] = [];
  private readonly inboundListeners: SmsListener<InboundSms>[] = [];
  private readonly partialInbound = new Map<string, (string | undefined)[]>();
  private concatenationReference: number;
  private reconnectAttempt = 0;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private enquireTimer: NodeJS.Timeout | null = null;
  private isEnquireLinkUnanswered = false;

  constructor(smppUrl: string, options: SmsChannelOptions = {}) {
    this.endpoint = parseSmppUrl(smppUrl);
    this.window = options.window ?? 10;
    this.enquireLinkMs = options.enquireLinkMs ?? 30_000;
    this.reconnectBackoff = options.reconnect ?? { baseMs: 500, maxMs: 30_000 };
    this.connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    this.submitTimeoutMs = options.submitTimeoutMs ?? 30_000;
    this.responseTimeoutMs = options.responseTimeoutMs ?? 30_000;
    this.logger = options.logger ?? new Logger(SmsChannel.name);
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.concatenationReference = Math.floor(this.random() * 256);
    if (!Number.isInteger(this.window) || this.window < 1)
      throw new ValidationError('window must be at least 1', 'window');
  }

  get connected(): boolean {
    return this.state === 'bound';
  }

  /**
   * Connects and binds as a transceiver. A refusal (SmsBindError) or an unreachable SMSC
   * (SmsConnectionError) rejects, and nothing is retried; once bound, a lost link is reconnected.
   */
  async connect(): Promise<void> {
    if (this.state === 'closed') throw new SmsConnectionError('SMS channel is closed', false);
    if (this.state === 'connecting') return this.connecting!;
    if (this.state !== 'idle') return;
    this.state = 'connecting';
    this.connecting = this.openSession().then(
      (session) => this.attach(session),
      (error: Error) => {
        if (this.state === 'connecting') this.state = 'idle';
        throw error;
      },
    );
    return this.connecting;
  }

  /**
   * Submits the text as one submit_sm, or as concatenated segments (UDH with an 8-bit reference)
   * when long. Resolves with one message_id per segment; rejects with SmsSubmitError when the
   * SMSC refuses any segment (the segments not yet written are then not sent).
   */
  async submit(sms: OutgoingSms): Promise<SmsSubmitResult> {
    const source = smppAddress(sms.from, 'from');
    if (!E164.test(sms.to)) throw new ValidationError(`to must be an E.164 phone number: "${sms.to}"`, 'to');
    if (!sms.text) throw new ValidationError('text must not be empty', 'text');
    const plan = planSms(sms.text);
    if (plan.segments > MAX_SEGMENTS) {
      throw new ValidationError(`text needs ${plan.segments} segments, more than ${MAX_SEGMENTS}`, 'text');
    }
    if (this.state === 'idle' || this.state === 'closed') {
      throw new SmsConnectionError(`SMS channel is ${this.state === 'idle' ? 'not connected' : 'closed'}`, false);
    }
    const reference = plan.segments > 1 ? this.nextConcatenationReference() : 0;
    return new Promise<SmsSubmitResult>((resolve, reject) => {
      const job: SubmitJob = {
        sms,
        plan,
        messageIds: [],
        unanswered: plan.segments,
        unwritten: plan.segments,
        isSettled: false,
        waitTimer: setTimeout(() => this.onSubmitWaitedTooLong(job), this.submitTimeoutMs),
        resolve,
        reject,
      };
      const base: PduParams = {
        ...source,
        dest_addr_ton: TON.INTERNATIONAL,
        dest_addr_npi: NPI.ISDN,
        destination_addr: sms.to.slice(1),
        registered_delivery: REGISTERED_DELIVERY_FINAL,
        data_coding: DATA_CODING[plan.encoding],
      };
      plan.parts.forEach((part, index) => {
        // Encoded here, so that smpp's global default encoding plays no part.
        const message = encodeSmsText(part, plan.encoding);
        const shortMessage =
          plan.segments > 1 ? withConcatenation(message, reference, plan.segments, index + 1) : message;
        this.queue.push({ job, index, params: { ...base, short_message: shortMessage } });
      });
      this.pump();
    });
  }

  onDeliveryReceipt(listener: SmsListener<DeliveryReceipt>): void {
    this.receiptListeners.push(listener);
  }

  onInbound(listener: SmsListener<InboundSms>): void {
    this.inboundListeners.push(listener);
  }

  /** Refuses what still waits, lets the window drain (bounded), unbinds, then closes. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    for (const segment of this.queue.splice(0)) {
      this.settleJob(
        segment.job,
        new SmsConnectionError(
          'SMS channel closed before the submit was sent',
          segment.job.unwritten < segment.job.plan.segments,
        ),
      );
    }
    await this.drainWindow();
    this.stopEnquireLink();
    const session = this.session;
    if (!session || session.socket.destroyed) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => session.destroy(), UNBIND_TIMEOUT_MS);
      session.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      const isWritten = session.unbind({}, () => session.close());
      if (!isWritten) session.destroy();
    });
  }

  private openSession(): Promise<Session> {
    const { host, port, tls, systemId, password } = this.endpoint;
    const where = `${tls ? 'ssmpp' : 'smpp'}://${host}:${port}`;
    return new Promise((resolve, reject) => {
      const session = connectSmpp({ host, port, tls });
      let outcome: 'pending' | 'bound' | 'failed' = 'pending';
      const fail = (error: Error): void => {
        if (outcome !== 'pending') return;
        outcome = 'failed';
        clearTimeout(timer);
        session.destroy();
        reject(error);
      };
      const timer = setTimeout(
        () =>
          fail(new SmsConnectionError(`no bind with the SMSC at ${where} within ${this.connectTimeoutMs} ms`, false)),
        this.connectTimeoutMs,
      );
      session.on('error', (error: Error) => {
        if (outcome === 'pending')
          fail(new SmsConnectionError(`cannot reach the SMSC at ${where}: ${error.message}`, false));
        else this.logger.warn({ smsc: where, reason: error.message }, 'SMPP connection error');
      });
      session.on('close', () => {
        if (outcome === 'pending')
          fail(new SmsConnectionError(`the SMSC at ${where} closed the connection before the bind`, false));
        else if (outcome === 'bound') this.onSessionClosed(session);
      });
      session.on(tls ? 'secureConnect' : 'connect', () => {
        session.bind_transceiver({ system_id: systemId, password }, (response) => {
          if (response.command_status !== smppErrors.ESME_ROK)
            return fail(new SmsBindError(response.command_status, where));
          if (outcome !== 'pending') return;
          outcome = 'bound';
          clearTimeout(timer);
          resolve(session);
        });
      });
    });
  }

  private attach(session: Session): void {
    if (this.state === 'closed') return void session.destroy(); // closed while the bind was under way
    this.session = session;
    this.state = 'bound';
    this.reconnectAttempt = 0;
    session.on('deliver_sm', (pdu: PDU) => void this.onDeliverSm(session, pdu));
    session.on('enquire_link', (pdu: PDU) => session.send(pdu.response()));
    session.on('unbind', (pdu: PDU) => {
      this.logger.warn({ smsc: this.endpoint.host }, 'SMSC unbound the session; reconnecting');
      session.send(pdu.response(), () => session.close());
    });
    this.startEnquireLink(session);
    this.pump();
  }

  private onSessionClosed(session: Session): void {
    if (this.session !== session) return;
    this.session = null;
    this.stopEnquireLink();
    for (const entry of this.inFlight) {
      clearTimeout(entry.timer);
      this.settleJob(
        entry.segment.job,
        new SmsConnectionError(
          'connection to the SMSC lost before the submit_sm_resp; the SMSC may have accepted it',
          true,
        ),
      );
    }
    this.inFlight.clear();
    if (this.state === 'closed') return;
    this.state = 'reconnecting';
    this.logger.warn({ smsc: this.endpoint.host, waiting: this.queue.length }, 'SMPP connection lost; reconnecting');
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    const { baseMs, maxMs } = this.reconnectBackoff;
    const ceiling = Math.min(maxMs, baseMs * 2 ** this.reconnectAttempt);
    const delay = ceiling / 2 + (this.random() * ceiling) / 2; // "equal jitter": spread, yet never hammering
    this.reconnectAttempt++;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.openSession().then(
        (session) => {
          this.logger.log({ smsc: this.endpoint.host, attempt: this.reconnectAttempt }, 'SMPP session bound again');
          this.attach(session);
        },
        (error: Error) => {
          if (this.state !== 'reconnecting') return;
          this.logger.warn(
            { smsc: this.endpoint.host, attempt: this.reconnectAttempt, reason: error.message },
            'SMPP reconnect failed',
          );
          this.scheduleReconnect();
        },
      );
    }, delay);
  }

  /** Writes waiting segments, in order, while the window has room. */
  private pump(): void {
    while (this.session && this.state === 'bound' && this.inFlight.size < this.window && this.queue.length > 0) {
      const segment = this.queue.shift()!;
      if (segment.job.isSettled) continue;
      const session = this.session;
      const entry: InFlight = {
        segment,
        timer: setTimeout(() => this.onResponseTimeout(session), this.responseTimeoutMs),
      };
      const isWritten = session.send(new PDU('submit_sm', segment.params), (response) =>
        this.onSubmitResponse(entry, response),
      );
      if (!isWritten) {
        clearTimeout(entry.timer);
        this.queue.unshift(segment); // never written: it waits for the rebind
        return;
      }
      this.inFlight.add(entry);
      if (--segment.job.unwritten === 0) clearTimeout(segment.job.waitTimer);
    }
  }

  private onSubmitResponse(entry: InFlight, response: PDU): void {
    if (!this.inFlight.delete(entry)) return;
    clearTimeout(entry.timer);
    const { job, index } = entry.segment;
    if (response.command_status !== smppErrors.ESME_ROK) {
      this.settleJob(job, new SmsSubmitError(response.command_status, job.sms.reference));
    } else if (!job.isSettled) {
      job.messageIds[index] = String(response.message_id);
      if (--job.unanswered === 0) this.settleJob(job);
    }
    this.pump();
  }

  private onResponseTimeout(session: Session): void {
    this.logger.warn(
      { smsc: this.endpoint.host, timeoutMs: this.responseTimeoutMs },
      'no submit_sm_resp in time; dropping the SMPP session',
    );
    session.destroy();
  }

  private onSubmitWaitedTooLong(job: SubmitJob): void {
    const isPartlyWritten = job.unwritten < job.plan.segments;
    this.settleJob(
      job,
      new SmsConnectionError(
        `submit not sent within ${this.submitTimeoutMs} ms (SMS channel ${this.state})`,
        isPartlyWritten,
      ),
    );
  }

  private settleJob(job: SubmitJob, error?: Error): void {
    if (job.isSettled) return;
    job.isSettled = true;
    clearTimeout(job.waitTimer);
    // Segments of a refused message that were not written yet are never sent.
    for (let i = this.queue.length - 1; i >= 0; i--) if (this.queue[i].job === job) this.queue.splice(i, 1);
    if (error) return job.reject(error);
    job.resolve({ messageIds: job.messageIds, segments: job.plan.segments, encoding: job.plan.encoding });
  }

  private drainWindow(): Promise<void> {
    if (this.inFlight.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const deadline = setTimeout(finish, this.responseTimeoutMs);
      const poll = setInterval(() => this.inFlight.size === 0 && finish(), 10);
      function finish(): void {
        clearTimeout(deadline);
        clearInterval(poll);
        resolve();
      }
    });
  }

  private startEnquireLink(session: Session): void {
    this.isEnquireLinkUnanswered = false;
    this.enquireTimer = setInterval(() => {
      if (this.isEnquireLinkUnanswered) {
        this.logger.warn({ smsc: this.endpoint.host }, 'enquire_link unanswered; dropping the SMPP session');
        return void session.destroy();
      }
      this.isEnquireLinkUnanswered = true;
      session.enquire_link({}, () => {
        this.isEnquireLinkUnanswered = false;
      });
    }, this.enquireLinkMs);
    this.enquireTimer.unref();
  }

  private stopEnquireLink(): void {
    if (this.enquireTimer) clearInterval(this.enquireTimer);
    this.enquireTimer = null;
  }

  private async onDeliverSm(session: Session, pdu: PDU): Promise<void> {
    let status = smppErrors.ESME_ROK;
    try {
      const messageType = Number(pdu.esm_class) & ESM_CLASS_MESSAGE_TYPE;
      if (messageType === ESM_CLASS_DELIVERY_RECEIPT) {
        await notify(this.receiptListeners, readDeliveryReceipt(pdu));
      } else if (messageType === 0) {
        const inbound = this.readInbound(pdu);
        if (inbound) await notify(this.inboundListeners, inbound);
      } else {
        this.logger.debug?.({ esmClass: pdu.esm_class }, 'deliver_sm of another message type acknowledged and ignored');
      }
    } catch (error) {
      // ESME_RX_T_APPN: a temporary failure on our side, so the SMSC delivers it again.
      status = smppErrors.ESME_RX_T_APPN;
      this.logger.error({ reason: (error as Error).message }, 'deliver_sm listener failed; the SMSC will redeliver');
    }
    session.send(pdu.response({ command_status: status }));
  }

  /** A mobile-originated message; null while parts of a concatenated one are still missing. */
  private readInbound(pdu: PDU): InboundSms | null {
    const from = addressOf(String(pdu.source_addr), Number(pdu.source_addr_ton));
    const to = addressOf(String(pdu.destination_addr), Number(pdu.dest_addr_ton));
    const { text, udh } = messageOf(pdu);
    const receivedAt = this.clock.now();
    const concatenation = concatenationOf(udh);
    if (!concatenation || concatenation.total <= 1) return { from, to, text, receivedAt };
    const key = [from, to, concatenation.reference, concatenation.total].join('|');
    const parts = this.partialInbound.get(key) ?? new Array<string | undefined>(concatenation.total).fill(undefined);
    parts[concatenation.sequence - 1] = text;
    this.partialInbound.delete(key); // re-inserted last: the oldest partial is evicted first
    if (parts.some((part) => part === undefined)) {
      this.partialInbound.set(key, parts);
      if (this.partialInbound.size > MAX_PARTIAL_INBOUND)
        this.partialInbound.delete(this.partialInbound.keys().next().value!);
      return null;
    }
    return { from, to, text: parts.join(''), receivedAt };
  }

  private nextConcatenationReference(): number {
    this.concatenationReference = (this.concatenationReference + 1) % 256;
    return this.concatenationReference;
  }
}

/**
 * The classic receipt text ("id:... sub:001 dlvrd:001 submit date:YYMMDDhhmm done date:...
 * stat:DELIVRD err:000 text:..."); the receipted_message_id and message_state TLVs win when present.
 * Dates are read as UTC: SMSCs write their local time without a zone.
 */
export function parseDeliveryReceipt(
  text: string,
  tlvs: { receiptedMessageId?: string; messageState?: number } = {},
): DeliveryReceipt {
  const field = (name: string): string | undefined => new RegExp(`(?:^|\\s)${name}:(\\S*)`, 'i').exec(text)?.[1];
  const stat =
    (tlvs.messageState !== undefined ? RECEIPT_STATS[tlvs.messageState] : undefined) ??
    field('stat')?.toUpperCase() ??
    'UNKNOWN';
  return {
    messageId: tlvs.receiptedMessageId || field('id') || '',
    stat,
    err: field('err') ?? '',
    doneAt: receiptDate(field('done date')),
    delivered: stat === 'DELIVRD',
  };
}

function readDeliveryReceipt(pdu: PDU): DeliveryReceipt {
  return parseDeliveryReceipt(messageOf(pdu).text, {
    receiptedMessageId: typeof pdu.receipted_message_id === 'string' ? pdu.receipted_message_id : undefined,
    messageState: typeof pdu.message_state === 'number' ? pdu.message_state : undefined,
  });
}

function receiptDate(value: string | undefined): Date | null {
  const match = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?$/.exec(value ?? '');
  if (!match) return null;
  const [yy, mo, dd, hh, mi, ss] = match.slice(1).map((part) => Number(part ?? 0));
  return new Date(Date.UTC(2000 + yy, mo - 1, dd, hh, mi, ss));
}

/** The text of short_message, or of message_payload when short_message is empty. */
function messageOf(pdu: PDU): { text: string; udh?: Buffer[] } {
  const candidates = [pdu.short_message, pdu.message_payload] as (DecodedMessage | Buffer | undefined)[];
  for (const value of candidates) {
    if (!value) continue;
    if (Buffer.isBuffer(value)) return { text: value.toString('latin1') };
    const text = typeof value.message === 'string' ? value.message : value.message.toString('latin1');
    if (text || value.udh) return { text, udh: value.udh };
  }
  return { text: '' };
}

async function notify<T>(listeners: SmsListener<T>[], event: T): Promise<void> {
  await Promise.all(listeners.map(async (listener) => listener(event)));
}

function parseSmppUrl(smppUrl: string): Endpoint {
  let url: URL;
  try {
    url = new URL(smppUrl);
  } catch {
    throw new ValidationError('SMPP URL must look like smpp://system_id:password@host:2775', 'smppUrl');
  }
  if (url.protocol !== 'smpp:' && url.protocol !== 'ssmpp:') {
    throw new ValidationError(`SMPP URL must use smpp: or ssmpp:, not ${url.protocol}`, 'smppUrl');
  }
  const tls = url.protocol === 'ssmpp:';
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port ? Number(url.port) : tls ? 3550 : 2775,
    tls,
    systemId: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
  };
}

function smppAddress(address: string, field: string): PduParams {
  if (E164.test(address))
    return { source_addr_ton: TON.INTERNATIONAL, source_addr_npi: NPI.ISDN, source_addr: address.slice(1) };
  if (SHORT_CODE.test(address))
    return { source_addr_ton: TON.UNKNOWN, source_addr_npi: NPI.ISDN, source_addr: address };
  if (ALPHANUMERIC_SENDER.test(address)) {
    return { source_addr_ton: TON.ALPHANUMERIC, source_addr_npi: NPI.UNKNOWN, source_addr: address };
  }
  throw new ValidationError(
    `${field} must be an E.164 number, a short code or an alphanumeric sender of at most 11 characters: "${address}"`,
    field,
  );
}

/** E.164 back from an international number sent without its plus. */
const addressOf = (address: string, ton: number): string =>
  ton === TON.INTERNATIONAL && !address.startsWith('+') ? `+${address}` : address;
