import { InvalidTransitionError } from './errors';

/**
 * The send state machine (PRODUCT.md "send"). The ledger applies it in SQL (`UPDATE ... WHERE state
 * = ANY(from)`), so a transition is one statement and two workers can never both make it.
 *
 *   queued -> sending -> sent -> delivered | bounced | failed
 *   queued | deferred -> suppressed | cancelled;  sending -> deferred (retry later) | bounced | failed
 *   held_out: a control-cell member, recorded in contact history and never contacted.
 *   unknown: the outcome of a send is uncertain (see `uncertain`).
 */
export const SEND_STATES = [
  'queued',
  'sending',
  'sent',
  'delivered',
  'bounced',
  'failed',
  'suppressed',
  'deferred',
  'cancelled',
  'held_out',
  'unknown',
] as const;
export type SendState = (typeof SEND_STATES)[number];

export const SEND_EVENTS = [
  'claim',
  'accept',
  'deliver',
  'bounce',
  'fail',
  'defer',
  'suppress',
  'cancel',
  'release',
  'uncertain',
] as const;
export type SendEvent = (typeof SEND_EVENTS)[number];

/** For each event: the states it may start from, and where it leads. */
export const SEND_TRANSITIONS: Readonly<Record<SendEvent, { from: readonly SendState[]; to: SendState }>> = {
  /** A worker takes the send (a deferred one only once its time has come: the ledger checks not_before). */
  claim: { from: ['queued', 'deferred'], to: 'sending' },
  /** The SMTP server or SMSC accepted the message. */
  accept: { from: ['sending'], to: 'sent' },
  /** A delivery receipt (SMS) or a delivery event (webhook) confirmed it; `sent` may be skipped. */
  deliver: { from: ['sending', 'sent'], to: 'delivered' },
  /** Permanent on the recipient (SMTP 5xx on RCPT, an undeliverable receipt, a bounce webhook). */
  bounce: { from: ['sending', 'sent', 'delivered'], to: 'bounced' },
  /** Permanent, or out of retries. */
  fail: { from: ['sending', 'sent'], to: 'failed' },
  /** Transient error, quiet hours or a frequency cap: try again at not_before. */
  defer: { from: ['sending', 'queued'], to: 'deferred' },
  /** Suppressed, unconsented or erased since the list was built: never contacted. */
  suppress: { from: ['queued', 'deferred', 'sending'], to: 'suppressed' },
  /** The program was cancelled before this one went out. */
  cancel: { from: ['queued', 'deferred'], to: 'cancelled' },
  /** A claimed send handed back untouched (the program was paused, or the worker is shutting down). */
  release: { from: ['sending'], to: 'queued' },
  /**
   * The peer may have accepted the message but never said so (a timeout after the body was sent):
   * not retried blindly, since that could send twice; recorded as unknown for a person to look at.
   */
  uncertain: { from: ['sending'], to: 'unknown' },
};

/** States that still need work: a program is complete when none of its sends is in one. */
export const PENDING_SEND_STATES: readonly SendState[] = ['queued', 'sending', 'deferred'];

export const isPendingSend = (state: SendState): boolean => PENDING_SEND_STATES.includes(state);

export function nextSendState(from: SendState, event: SendEvent): SendState {
  const t = SEND_TRANSITIONS[event];
  if (!t.from.includes(from)) throw new InvalidTransitionError('send', from, event);
  return t.to;
}
