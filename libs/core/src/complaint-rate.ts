/**
 * Complaint-rate guard (RELIABILITY.md "Compliance"): mailbox providers start filtering a sender
 * whose spam complaints pass about 0.1% and block it near 0.3%. Per program, complaints over
 * messages sent:
 *
 * - at 0.1% or more: warn (logged, with the program);
 * - at 0.3% or more, with at least COMPLAINT_PAUSE_MIN complaints: pause the program, so a person
 *   decides whether the rest goes out. The minimum keeps one complaint in the first hundred
 *   messages from stopping a program that is fine.
 */
export const COMPLAINT_WARN_RATE = 0.001;
export const COMPLAINT_PAUSE_RATE = 0.003;
export const COMPLAINT_PAUSE_MIN = 3;

export type ComplaintVerdict = 'ok' | 'warn' | 'pause';

export function complaintVerdict(complaints: number, sent: number): ComplaintVerdict {
  if (complaints <= 0 || sent <= 0) return 'ok';
  const rate = complaints / sent;
  if (rate >= COMPLAINT_PAUSE_RATE && complaints >= COMPLAINT_PAUSE_MIN) return 'pause';
  if (rate >= COMPLAINT_WARN_RATE) return 'warn';
  return 'ok';
}
