/** How a failed send is retried: exponential backoff with full jitter, a ceiling, and an attempt limit. */
export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
  /** Attempts in all, the first one included. */
  maxAttempts: number;
}

/**
 * Delays of up to 2, 4, 8, 16 and 32 s before attempts 2 to 6 (about a minute in all): enough to ride
 * out a relay's restart or throttling; a longer outage fails the send. maxMs caps longer policies.
 */
export const DEFAULT_SEND_BACKOFF: BackoffPolicy = Object.freeze({ baseMs: 2_000, maxMs: 10 * 60_000, maxAttempts: 6 });

/**
 * The delay before retrying after attempt `attempt` (1-based) failed: uniform in
 * [0, min(maxMs, baseMs * 2^(attempt-1))] ms ("full jitter"), so workers that failed together
 * against one relay do not come back together. `random` returns [0, 1) and is injected for replay.
 */
export function retryDelayMs(attempt: number, policy: BackoffPolicy, random: () => number): number {
  const exponent = Math.max(0, Math.floor(attempt) - 1);
  const ceiling = Math.floor(Math.min(policy.maxMs, policy.baseMs * 2 ** exponent));
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.min(ceiling, Math.floor(r * (ceiling + 1)));
}

/** Whether another attempt may follow, `attempt` being the number already made. */
export function shouldRetry(attempt: number, policy: BackoffPolicy): boolean {
  return attempt < policy.maxAttempts;
}

/** A small seeded generator (mulberry32) returning [0, 1): the same seed replays the same sequence. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
