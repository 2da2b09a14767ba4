/**
 * Tracking events on their way from the API to the response history. The API verifies the token,
 * gives the event a UUID and appends it to a Redis stream (several events per stream entry); a
 * worker reads the stream in a consumer group, writes `response` rows in one statement per read
 * (ON CONFLICT (event_id) DO NOTHING) and only then acknowledges and deletes the entries. An entry
 * whose worker died is claimed by another after TRACKING_CLAIM_IDLE_MS: at-least-once delivery,
 * exactly-once rows.
 */
export interface TrackingEvent {
  /** UUID given when the request arrived: the row's `event_id`. */
  id: string;
  kind: 'open' | 'click';
  sendId: string;
  /** Link index (click), 0 for opens. */
  link: number;
  /** ISO time the request arrived. */
  at: string;
  userAgent: string | null;
  ip: string | null;
}

/** The stream, under the queue prefix so that test runs and tenants sharing a Redis stay apart. */
export const trackingStreamKey = (queuePrefix: string) => `${queuePrefix}:tracking:events`;
export const TRACKING_GROUP = 'ingest';
/** An entry read by a worker that has not acknowledged it for this long is taken over by another. */
export const TRACKING_CLAIM_IDLE_MS = 30_000;
/** The field of a stream entry that holds its events (a JSON array). */
export const EVENTS_FIELD = 'e';
/** The longest user agent kept. */
export const MAX_USER_AGENT = 400;

export function encodeEvents(events: readonly TrackingEvent[]): string {
  return JSON.stringify(events);
}

/** Entries written by another version or by hand are skipped, never fatal. */
export function decodeEvents(raw: string | undefined): TrackingEvent[] {
  if (!raw) return [];
  try {
    const parsed: unknown = JSON.parse(raw);
    return Array.isArray(parsed) ? parsed.filter(isEvent) : [];
  } catch {
    return [];
  }
}

function isEvent(e: unknown): e is TrackingEvent {
  const v = e as TrackingEvent;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.id === 'string' &&
    (v.kind === 'open' || v.kind === 'click') &&
    typeof v.sendId === 'string' &&
    Number.isInteger(v.link) &&
    typeof v.at === 'string'
  );
}
