import { planSms } from '@closeloop/core';
import { concatenationOf, encodeSmsText, withConcatenation } from '@closeloop/messaging';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import {
  createServer,
  errors,
  gsmCoder,
  PDU,
  type DecodedMessage,
  type PduParams,
  type Server,
  type Session,
} from 'smpp';

/** A message as the SMSC saw it once all of its segments had arrived. */
export interface SmscMessage {
  /** The message_id returned for the first segment. */
  id: string;
  /** The message_id returned for each segment, in segment order. */
  messageIds: string[];
  systemId: string;
  from: string;
  to: string;
  dataCoding: number;
  /** The whole decoded text, reassembled from concatenated parts. */
  text: string;
  segments: number;
  receivedAt: Date;
}

export interface SmscRule {
  /** E.164 (+ optional) or as sent in destination_addr. */
  to: string;
  /** command_status for submit_sm_resp, e.g. 0x58 throttled, 0x0B invalid destination. */
  status: number;
  /** Refuse this many submits, then accept; refuse always when left out. */
  times?: number;
}

export interface SmscSimulatorOptions {
  systemId?: string;
  /** When set, credentials are checked: another system_id or password is refused. */
  password?: string;
  /** Delay before a delivery receipt; default 50 ms. */
  dlrDelayMs?: number;
  /** Receipts for these numbers say UNDELIV. */
  undeliverable?: string[];
  /** Delay before each submit_sm_resp (a slow SMSC), so that submits stay in flight; default 0. */
  respondDelayMs?: number;
}

type BindMode = 'transceiver' | 'transmitter' | 'receiver';

interface Peer {
  session: Session;
  systemId: string | null;
  mode: BindMode | null;
  /** Requests we sent on this session still waiting for their response. */
  pending: Set<(error: Error) => void>;
}

interface PartialMessage {
  parts: (string | undefined)[];
  messageIds: string[];
  dataCoding: number;
  receivedAt: Date;
}

interface Waiter {
  resolve: () => void;
  reject: (error: Error) => void;
  timers: NodeJS.Timeout[];
}

const ESM_CLASS_DELIVERY_RECEIPT = 0x04;
const REGISTERED_DELIVERY_REQUESTED = 0x03;
const TON_INTERNATIONAL = 0x01;
const NPI_ISDN = 0x01;
const MESSAGE_STATE = { DELIVERED: 2, UNDELIVERABLE: 5 } as const;

/**
 * A real SMPP 3.4 message centre on loopback, for development and tests: binds, accepts or refuses
 * submit_sm by rule, reassembles concatenated messages, sends delivery receipts and
 * mobile-originated messages as deliver_sm, answers enquire_link.
 */
export class SmscSimulator {
  private readonly systemId: string;
  private readonly password: string | undefined;
  private readonly dlrDelayMs: number;
  private readonly respondDelayMs: number;
  private readonly undeliverable: Set<string>;
  private readonly idPrefix = randomBytes(3).toString('hex');
  private server: Server | null = null;
  private readonly peers = new Set<Peer>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly waiters = new Set<Waiter>();
  private rules: Required<SmscRule>[] = [];
  private readonly complete: SmscMessage[] = [];
  private readonly partials = new Map<string, PartialMessage>();
  /** Receipts for a system_id with no receiving session bound: sent when one binds. */
  private readonly undelivered = new Map<string, PduParams[]>();
  private nextId = 0;
  private accepted = 0;
  private unanswered = 0;
  private mostUnanswered = 0;

  constructor(options: SmscSimulatorOptions = {}) {
    this.systemId = options.systemId ?? 'closeloop';
    this.password = options.password;
    this.dlrDelayMs = options.dlrDelayMs ?? 50;
    this.respondDelayMs = options.respondDelayMs ?? 0;
    this.undeliverable = new Set((options.undeliverable ?? []).map(digitsOf));
  }

  async start(port = 0, host = '127.0.0.1'): Promise<{ port: number; url: string }> {
    if (this.server) throw new Error('SMSC simulator already started');
    const server = createServer((session) => this.accept(session));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    const bound = (server.address() as AddressInfo).port;
    const credentials =
      encodeURIComponent(this.systemId) + (this.password ? `:${encodeURIComponent(this.password)}` : '');
    return { port: bound, url: `smpp://${credentials}@${host}:${bound}` };
  }

  /** Closes every session at once (no unbind), then the listener. */
  async stop(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const waiter of this.waiters) this.settle(waiter, new Error('SMSC simulator stopped'));
    this.dropConnections();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  addRule(rule: SmscRule): void {
    this.rules.push({ ...rule, times: rule.times ?? Infinity });
  }

  clearRules(): void {
    this.rules = [];
  }

  /** Complete messages (all parts arrived), in the order they completed. */
  messages(): readonly SmscMessage[] {
    return this.complete;
  }

  /** submit_sm PDUs accepted (segments). */
  submits(): number {
    return this.accepted;
  }

  /** submit_sm received and not answered yet, over all sessions. */
  inFlight(): number {
    return this.unanswered;
  }

  /** The most submit_sm ever in flight at once: what a client's window let through. */
  maxInFlight(): number {
    return this.mostUnanswered;
  }

  /** Bound sessions. */
  sessions(): number {
    return [...this.peers].filter((peer) => peer.mode).length;
  }

  waitForCount(n: number, timeoutMs = 10_000): Promise<void> {
    return this.waitFor(
      () => this.complete.length >= n,
      timeoutMs,
      () => `${this.complete.length} of ${n} messages`,
    );
  }

  waitForSessions(n: number, timeoutMs = 10_000): Promise<void> {
    return this.waitFor(
      () => this.sessions() >= n,
      timeoutMs,
      () => `${this.sessions()} of ${n} bound sessions`,
    );
  }

  /** A mobile-originated message as deliver_sm (concatenated when long) to a bound receiver. */
  async sendMo(from: string, to: string, text: string): Promise<void> {
    const peer = [...this.peers].reverse().find(canReceive);
    if (!peer) throw new Error('SMSC simulator: no receiver or transceiver is bound');
    const plan = planSms(text);
    const reference = this.nextId % 256;
    const base = { ...addressParams('source', from), ...addressParams('dest', to), esm_class: 0 };
    const responses = await Promise.all(
      plan.parts.map((part, i) =>
        this.request(
          peer,
          new PDU('deliver_sm', {
            ...base,
            data_coding: plan.encoding === 'GSM-7' ? 0x00 : 0x08,
            short_message:
              plan.segments > 1
                ? withConcatenation(encodeSmsText(part, plan.encoding), reference, plan.segments, i + 1)
                : encodeSmsText(part, plan.encoding),
          }),
        ),
      ),
    );
    const refused = responses.find((response) => response.command_status !== errors.ESME_ROK);
    if (refused) throw new Error(`SMSC simulator: deliver_sm refused with 0x${refused.command_status.toString(16)}`);
  }

  /** Cuts every connection without unbind, as a network failure would. */
  dropConnections(): void {
    for (const peer of this.peers) {
      peer.mode = null;
      peer.session.destroy();
    }
    this.peers.clear();
  }

  private accept(session: Session): void {
    const peer: Peer = { session, systemId: null, mode: null, pending: new Set() };
    this.peers.add(peer);
    // A client that goes away resets the socket; 'close' follows and cleans up.
    session.on('error', () => undefined);
    session.on('close', () => {
      this.peers.delete(peer);
      peer.mode = null;
      for (const reject of peer.pending) reject(new Error('SMSC simulator: session closed before the response'));
    });
    session.on('pdu', (pdu: PDU) => this.onPdu(peer, pdu));
  }

  private onPdu(peer: Peer, pdu: PDU): void {
    switch (pdu.command) {
      case 'bind_transceiver':
      case 'bind_transmitter':
      case 'bind_receiver':
        return this.onBind(peer, pdu);
      case 'submit_sm':
        return this.onSubmit(peer, pdu);
      case 'enquire_link':
        peer.session.send(pdu.response());
        return;
      case 'unbind':
        peer.mode = null;
        peer.session.send(pdu.response(), () => peer.session.close());
        return;
      default:
        // Responses are matched by smpp's callbacks; any other request is not supported here.
        if (!pdu.isResponse()) peer.session.send(pdu.response({ command_status: errors.ESME_RINVCMDID }));
    }
  }

  private onBind(peer: Peer, pdu: PDU): void {
    if (peer.mode) return void peer.session.send(pdu.response({ command_status: errors.ESME_RALYBND }));
    const systemId = String(pdu.system_id);
    const refusal = this.checkCredentials(systemId, String(pdu.password));
    if (refusal) {
      peer.session.send(pdu.response({ command_status: refusal }), () => peer.session.close());
      return;
    }
    peer.systemId = systemId;
    peer.mode = pdu.command.slice('bind_'.length) as BindMode;
    peer.session.send(pdu.response({ system_id: this.systemId }));
    if (canReceive(peer)) this.flushUndelivered(peer);
  }

  private checkCredentials(systemId: string, password: string): number {
    if (this.password === undefined) return errors.ESME_ROK;
    if (systemId !== this.systemId) return errors.ESME_RINVSYSID;
    return password === this.password ? errors.ESME_ROK : errors.ESME_RINVPASWD;
  }

  private onSubmit(peer: Peer, pdu: PDU): void {
    if (peer.mode !== 'transceiver' && peer.mode !== 'transmitter') {
      return void peer.session.send(pdu.response({ command_status: errors.ESME_RINVBNDSTS }));
    }
    const status = this.statusByRule(String(pdu.destination_addr));
    this.unanswered++;
    this.mostUnanswered = Math.max(this.mostUnanswered, this.unanswered);
    const answer = (): void => {
      this.unanswered--;
      if (status !== errors.ESME_ROK) return void peer.session.send(pdu.response({ command_status: status }));
      const id = `${this.idPrefix}${(++this.nextId).toString(16).padStart(8, '0')}`;
      this.accepted++;
      peer.session.send(pdu.response({ message_id: id }));
      this.collect(peer.systemId!, pdu, id);
    };
    if (this.respondDelayMs > 0) this.later(answer, this.respondDelayMs);
    else answer();
  }

  private statusByRule(destination: string): number {
    const rule = this.rules.find((r) => r.times > 0 && digitsOf(r.to) === digitsOf(destination));
    if (!rule) return errors.ESME_ROK;
    rule.times--;
    return rule.status;
  }

  private collect(systemId: string, pdu: PDU, id: string): void {
    const from = addressOf(String(pdu.source_addr), Number(pdu.source_addr_ton));
    const to = addressOf(String(pdu.destination_addr), Number(pdu.dest_addr_ton));
    const dataCoding = Number(pdu.data_coding);
    const shortMessage = pdu.short_message as DecodedMessage;
    const text =
      typeof shortMessage.message === 'string' ? shortMessage.message : shortMessage.message.toString('latin1');
    const receivedAt = new Date();
    if ((Number(pdu.registered_delivery) & REGISTERED_DELIVERY_REQUESTED) !== 0) {
      this.later(() => this.sendReceipt(systemId, { id, from, to, text, submittedAt: receivedAt }), this.dlrDelayMs);
    }
    const concatenation = concatenationOf(shortMessage.udh);
    if (!concatenation || concatenation.total <= 1) {
      return this.completed({ id, messageIds: [id], systemId, from, to, dataCoding, text, segments: 1, receivedAt });
    }
    const key = [systemId, from, to, concatenation.reference, concatenation.total].join('|');
    const partial = this.partials.get(key) ?? {
      parts: new Array<string | undefined>(concatenation.total).fill(undefined),
      messageIds: [],
      dataCoding,
      receivedAt,
    };
    this.partials.set(key, partial);
    partial.parts[concatenation.sequence - 1] = text;
    partial.messageIds[concatenation.sequence - 1] = id;
    if (partial.parts.some((part) => part === undefined)) return;
    this.partials.delete(key);
    this.completed({
      id: partial.messageIds[0],
      messageIds: partial.messageIds,
      systemId,
      from,
      to,
      dataCoding: partial.dataCoding,
      text: partial.parts.join(''),
      segments: concatenation.total,
      receivedAt,
    });
  }

  private completed(message: SmscMessage): void {
    this.complete.push(message);
  }

  private sendReceipt(
    systemId: string,
    submitted: { id: string; from: string; to: string; text: string; submittedAt: Date },
  ): void {
    const isDelivered = !this.undeliverable.has(digitsOf(submitted.to));
    const receipt = [
      `id:${submitted.id}`,
      'sub:001',
      `dlvrd:${isDelivered ? '001' : '000'}`,
      `submit date:${receiptDate(submitted.submittedAt)}`,
      `done date:${receiptDate(new Date())}`,
      `stat:${isDelivered ? 'DELIVRD' : 'UNDELIV'}`,
      `err:${isDelivered ? '000' : '001'}`,
      `text:${submitted.text.slice(0, 20)}`,
    ].join(' ');
    const params: PduParams = {
      ...addressParams('source', submitted.to),
      ...addressParams('dest', submitted.from),
      esm_class: ESM_CLASS_DELIVERY_RECEIPT,
      data_coding: 0x00,
      short_message: gsmCoder.encode(receipt, 0x00),
      receipted_message_id: submitted.id,
      message_state: isDelivered ? MESSAGE_STATE.DELIVERED : MESSAGE_STATE.UNDELIVERABLE,
    };
    const peer = [...this.peers].find((p) => p.systemId === systemId && canReceive(p));
    if (peer) peer.session.send(new PDU('deliver_sm', params));
    else this.undelivered.set(systemId, [...(this.undelivered.get(systemId) ?? []), params]);
  }

  private flushUndelivered(peer: Peer): void {
    const waiting = this.undelivered.get(peer.systemId!) ?? [];
    this.undelivered.delete(peer.systemId!);
    for (const params of waiting) peer.session.send(new PDU('deliver_sm', params));
  }

  /** Sends a request and waits for its response; rejects when the session closes first. */
  private request(peer: Peer, pdu: PDU): Promise<PDU> {
    return new Promise((resolve, reject) => {
      const onClosed = (error: Error): void => reject(error);
      peer.pending.add(onClosed);
      const written = peer.session.send(pdu, (response) => {
        peer.pending.delete(onClosed);
        resolve(response);
      });
      if (!written) onClosed(new Error('SMSC simulator: session is not writable'));
    });
  }

  // A short poll: sessions come and go without a hook of their own.
  private waitFor(isDone: () => boolean, timeoutMs: number, progress: () => string): Promise<void> {
    if (isDone()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, timers: [] };
      waiter.timers.push(
        setInterval(() => isDone() && this.settle(waiter), 10),
        setTimeout(
          () => this.settle(waiter, new Error(`SMSC simulator: ${progress()} after ${timeoutMs} ms`)),
          timeoutMs,
        ),
      );
      this.waiters.add(waiter);
    });
  }

  private settle(waiter: Waiter, error?: Error): void {
    for (const timer of waiter.timers) clearTimeout(timer);
    this.waiters.delete(waiter);
    if (error) waiter.reject(error);
    else waiter.resolve();
  }

  private later(run: () => void, ms: number): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      run();
    }, ms);
    this.timers.add(timer);
  }
}

const canReceive = (peer: Peer): boolean => peer.mode === 'transceiver' || peer.mode === 'receiver';

const digitsOf = (address: string): string => address.replace(/^\+/, '');

/** E.164 back from an international number sent without its plus. */
const addressOf = (address: string, ton: number): string =>
  ton === TON_INTERNATIONAL && !address.startsWith('+') ? `+${address}` : address;

function addressParams(side: 'source' | 'dest', address: string): PduParams {
  const isInternational = address.startsWith('+');
  const prefix = side === 'source' ? 'source_addr' : 'dest_addr';
  return {
    [`${prefix}_ton`]: isInternational ? TON_INTERNATIONAL : 0,
    [`${prefix}_npi`]: isInternational ? NPI_ISDN : 0,
    [side === 'source' ? 'source_addr' : 'destination_addr']: digitsOf(address),
  };
}

/** YYMMDDhhmm in UTC, as the classic receipt text writes dates. */
function receiptDate(at: Date): string {
  const two = (n: number): string => String(n).padStart(2, '0');
  return (
    two(at.getUTCFullYear() % 100) +
    two(at.getUTCMonth() + 1) +
    two(at.getUTCDate()) +
    two(at.getUTCHours()) +
    two(at.getUTCMinutes())
  );
}
