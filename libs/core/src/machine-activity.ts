/**
 * Opens and clicks made by machines rather than people. A hit is flagged with a reason, never
 * dropped: the raw count stays, and reports can show "human" rates beside it. The checks run in
 * this order and the first that applies wins:
 *
 * 1. Mail provider proxies, which fetch images on the reader's behalf, so an "open" says nothing
 *    about a person having looked at the message:
 *    - 'gmail-proxy': the user agent mentions `GoogleImageProxy` or `ggpht.com`. Gmail serves every
 *      image through its proxy (cached, so repeated opens may not show at all);
 *    - 'yahoo-proxy': the user agent mentions `YahooMailProxy`, Yahoo's equivalent;
 *    - 'apple-mpp': Apple Mail Privacy Protection downloads every image of every message on
 *      delivery, read or not. Its fetches come from Apple's own network, 17.0.0.0/8 (also when the
 *      address is written IPv4-mapped, `::ffff:17.1.2.3`), or carry the bare user agent
 *      `Mozilla/5.0` and nothing else, which no real mail client sends.
 * 2. 'scanner': the user agent names a link scanner or security gateway (SCANNER_USER_AGENTS):
 *    corporate mail filters follow every link of an incoming message to check where it leads,
 *    before anyone has read it.
 * 3. 'bot': the user agent is a crawler or an HTTP library (BOT_USER_AGENTS): no person clicks
 *    with curl.
 * 4. 'no-user-agent': a missing or blank user agent. Every browser and mail client sends one.
 * 5. 'scanner-timing', clicks only: the click came at most scannerWindowMs (SCANNER_CLICK_WINDOW_MS,
 *    10 s) after the message was sent. Nobody receives, opens, reads and clicks that fast; a
 *    scanner that disguises itself as a browser does. A click before the send (clock skew) or with
 *    no known send time is not judged by timing.
 *
 * User agents are matched case-insensitively on their first 1000 characters only. The function
 * never throws: garbage addresses, user agents or dates simply match no rule.
 */
export interface TrackingHit {
  kind: 'open' | 'click';
  userAgent: string | null;
  ip: string | null;
  at: Date;
  sentAt: Date | null;
}

export type MachineReason =
  'apple-mpp' | 'gmail-proxy' | 'yahoo-proxy' | 'scanner' | 'bot' | 'no-user-agent' | 'scanner-timing';

/** A click this soon after the send (inclusive) is a machine's. */
export const SCANNER_CLICK_WINDOW_MS = 10_000;

/** Link scanners and security gateways that say who they are; matched as lower-case substrings. */
export const SCANNER_USER_AGENTS: readonly string[] = [
  'barracuda',
  'mimecast',
  'proofpoint',
  'symantec',
  'trend micro',
  'trendmicro',
  'forcepoint',
  'safelinks',
];

/**
 * Crawlers and HTTP libraries; matched as lower-case substrings. 'bot' does not match inside
 * `cubot` (an Android phone brand whose model names appear in its browsers' user agents).
 */
export const BOT_USER_AGENTS: readonly string[] = [
  'bot',
  'crawler',
  'spider',
  'curl/',
  'wget/',
  'python-requests',
  'go-http-client',
  'headlesschrome',
  'node-fetch',
  'axios/',
  'libwww',
  'java/',
];

const MAX_USER_AGENT_CHARS = 1000;
const APPLE_FIRST_OCTET = 17;
const APPLE_BARE_USER_AGENT = 'mozilla/5.0';
const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
/** ::ffff:a.b.c.d, 0:0:0:0:0:ffff:a.b.c.d and the other spellings of the IPv4-mapped prefix. */
const IPV4_MAPPED = /^(?:::|(?:0{1,4}:){5}|(?:0{1,4}:){1,4}:)ffff:(.+)$/;
/** The mapped address written as two hex groups: ::ffff:1101:203 is 17.1.2.3. */
const HEX_PAIR = /^([0-9a-f]{1,4}):([0-9a-f]{1,4})$/;

/** The first octet of an IPv4 address (plain or IPv4-mapped IPv6), or null if it is neither. */
function ipv4FirstOctet(ip: string | null): number | null {
  if (typeof ip !== 'string' || ip.length > 64) return null;
  let address = ip.trim().toLowerCase();
  const mapped = IPV4_MAPPED.exec(address);
  if (mapped) {
    address = mapped[1];
    const hex = HEX_PAIR.exec(address);
    if (hex) return parseInt(hex[1], 16) >> 8;
  }
  const octets = IPV4.exec(address);
  if (!octets || octets.slice(1).some((o) => Number(o) > 255)) return null;
  return Number(octets[1]);
}

const timeOf = (d: unknown): number => (d instanceof Date ? d.getTime() : NaN);

const isBot = (ua: string): boolean =>
  BOT_USER_AGENTS.some((word) => {
    if (word !== 'bot') return ua.includes(word);
    return /(?<!cu)bot/.test(ua);
  });

/** Why this hit was made by a machine, or null if nothing says it was. Never throws. */
export function machineReason(hit: TrackingHit, options?: { scannerWindowMs?: number }): MachineReason | null {
  if (!hit || typeof hit !== 'object') return null;
  const ua = typeof hit.userAgent === 'string' ? hit.userAgent.slice(0, MAX_USER_AGENT_CHARS).trim().toLowerCase() : '';

  if (ua.includes('googleimageproxy') || ua.includes('ggpht.com')) return 'gmail-proxy';
  if (ua.includes('yahoomailproxy')) return 'yahoo-proxy';
  if (ipv4FirstOctet(hit.ip) === APPLE_FIRST_OCTET || ua === APPLE_BARE_USER_AGENT) return 'apple-mpp';
  if (SCANNER_USER_AGENTS.some((word) => ua.includes(word))) return 'scanner';
  if (isBot(ua)) return 'bot';
  if (ua === '') return 'no-user-agent';

  if (hit.kind === 'click') {
    const requested = options?.scannerWindowMs;
    const windowMs =
      typeof requested === 'number' && Number.isFinite(requested) && requested >= 0
        ? requested
        : SCANNER_CLICK_WINDOW_MS;
    const elapsed = timeOf(hit.at) - timeOf(hit.sentAt);
    if (elapsed >= 0 && elapsed <= windowMs) return 'scanner-timing';
  }
  return null;
}
