import { X509Certificate } from 'node:crypto';
import { lookup as dnsLookup } from 'node:dns/promises';
import { request, type RequestOptions } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { performance } from 'node:perf_hooks';
import { rootCertificates } from 'node:tls';
import ipaddr from 'ipaddr.js';
import { ConfigError, signWebhook, ValidationError, WEBHOOK_SIGNATURE_HEADER } from '@closeloop/core';

/**
 * Outbound webhooks for business rules (RELIABILITY.md "Access"): https only, an allow-list of
 * hosts, every resolved address checked and the connection pinned to a checked one, no redirects,
 * signed with core's signWebhook so receivers verify it as we verify inbound webhooks.
 *
 * Addresses: only public unicast (ipaddr.js range() 'unicast') may be reached, unless an
 * allowPrivate CIDR covers the address. IPv4-mapped (::ffff:a.b.c.d) and NAT64 (64:ff9b::/96)
 * addresses are judged by the IPv4 address they carry, since that is where the packets go.
 * Link-local ranges and the cloud metadata endpoints in NEVER_REACHABLE are refused even when
 * allowPrivate covers them.
 */

export type WebhookAddress = { address: string; family: 4 | 6 };

export interface OutboundWebhookOptions {
  /**
   * Host patterns that may be called: exact names ('hooks.example.com') or one leading wildcard
   * label ('*.example.com' matches eu.example.com, not example.com nor a.eu.example.com, as in a
   * TLS certificate). IP literals only if listed exactly. Empty: no webhook may be called.
   */
  allowedHosts: readonly string[];
  /**
   * CIDRs that may be reached even though they are private, loopback or otherwise non-public
   * (['127.0.0.1/32'] for tests, ['10.1.2.0/24'] for an internal service). Link-local and cloud
   * metadata addresses stay refused whatever is listed here.
   */
  allowPrivate: readonly string[];
  /** HMAC secret for the signature header; when absent, send throws (not retryable). */
  secret?: string;
  /** Extra PEM CA certificate(s) to trust besides Node's bundled roots (an internal CA; tests). */
  ca?: string;
  /** Covers the whole send: DNS, connect, TLS and the response headers. Default 10000. */
  timeoutMs?: number;
  /** DNS lookup returning every address (dns.lookup with { all: true }); injectable for tests. */
  lookup?: (host: string) => Promise<WebhookAddress[]>;
  /** Time for the signature's timestamp. */
  now?: () => Date;
}

/** A send that failed; `retryable` says whether trying again later may succeed. */
export class OutboundWebhookError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'OutboundWebhookError';
  }
}

export const OUTBOUND_WEBHOOK_USER_AGENT = 'Closeloop-Webhook/1';
/** Receivers dedupe on it: delivery is at least once (a retry after a lost answer repeats the id). */
export const OUTBOUND_WEBHOOK_ID_HEADER = 'Closeloop-Webhook-Id';
const DEFAULT_TIMEOUT_MS = 10_000;
const MAX_URL_LENGTH = 2048;
/** Enough of an error response to say why; the rest is never read. */
const MAX_ERROR_BODY_BYTES = 4096;
const MAX_ERROR_SNIPPET_CHARS = 200;
const WEBHOOK_ID = /^[\x21-\x7e]{1,200}$/;
const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;
/** A host name as the URL parser leaves it: lower-case ASCII labels (IDNs already punycode). */
const HOST_NAME = /^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/;

type IP = ipaddr.IPv4 | ipaddr.IPv6;
type Cidr = [IP, number];

/**
 * Refused even inside an allowPrivate CIDR: a broad entry ('10.0.0.0/8', '::/0') must not open the
 * way to credentials. Link-local is where clouds serve metadata and credentials (169.254.169.254 on
 * AWS, GCP, Azure, OCI; ECS and EKS credentials on 169.254.170.2 and .23) and no webhook receiver
 * legitimately lives there; the rest are metadata or host endpoints outside link-local.
 */
const NEVER_REACHABLE: readonly [string, string][] = [
  ['169.254.0.0/16', 'link-local (cloud metadata)'],
  ['fe80::/10', 'link-local'],
  ['fd00:ec2::254/128', 'cloud metadata (AWS)'],
  ['fd00:ec2::23/128', 'cloud credentials (AWS EKS)'],
  ['fd20:ce::254/128', 'cloud metadata (GCP)'],
  ['100.100.100.200/32', 'cloud metadata (Alibaba)'],
  ['168.63.129.16/32', 'cloud host endpoint (Azure)'],
];
const NEVER_REACHABLE_CIDRS = NEVER_REACHABLE.map(([cidr, label]) => [ipaddr.parseCIDR(cidr), label] as const);
/** RFC 6052 well-known NAT64 prefix: the last 32 bits are the IPv4 destination. */
const NAT64 = ipaddr.parseCIDR('64:ff9b::/96');
/** Deprecated IPv4-compatible addresses (RFC 4291 2.5.5.1); ipaddr.js calls them unicast. */
const IPV4_COMPATIBLE = ipaddr.parseCIDR('::/96');

interface WebhookTarget {
  /** Lower-case ASCII host name, or the canonical text of an IP literal; no brackets or trailing dot. */
  hostname: string;
  isIpLiteral: boolean;
  port: number;
  path: string;
}

const within = (ip: IP, [network, bits]: Cidr): boolean => ip.kind() === network.kind() && ip.match(network, bits);

/** The IPv4 address an IPv6 address carries to the wire (mapped or NAT64), else the address itself. */
function destination(ip: IP): IP {
  if (ip.kind() !== 'ipv6') return ip;
  const v6 = ip as ipaddr.IPv6;
  if (v6.isIPv4MappedAddress() || within(v6, NAT64)) {
    const [high, low] = v6.parts.slice(6);
    return new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);
  }
  return v6;
}

/** URL hostname -> what the allow-list and the connection use. */
function canonicalHost(hostname: string): string {
  const bare = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  if (isIP(bare)) return ipaddr.parse(bare).toString();
  return bare.endsWith('.') ? bare.slice(0, -1) : bare;
}

/** An allow-list entry's host, normalised as a URL's would be (lower case, punycode), or null. */
function canonicalPatternHost(entry: string): string | null {
  const bare = entry.startsWith('[') && entry.endsWith(']') ? entry.slice(1, -1) : entry;
  if (isIP(bare)) return ipaddr.parse(bare).toString();
  if (!/^[^\s/\\?#@:*[\]]+$/.test(bare)) return null;
  let url: URL;
  try {
    url = new URL(`https://${bare}/`);
  } catch {
    return null;
  }
  const host = canonicalHost(url.hostname);
  return isIP(host) || HOST_NAME.test(host) ? host : null;
}

function snippet(body: string): string {
  // eslint-disable-next-line no-control-regex
  const text = body.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return text.length > MAX_ERROR_SNIPPET_CHARS ? `${text.slice(0, MAX_ERROR_SNIPPET_CHARS)}…` : text;
}

function statusError(status: number, body: string): OutboundWebhookError {
  const detail = snippet(body);
  const said = detail ? `: ${detail}` : '';
  if (status >= 300 && status < 400) {
    return new OutboundWebhookError(
      `webhook answered ${status}, a redirect, which is not followed${said}`,
      false,
      status,
    );
  }
  const retryable = status === 408 || status === 429 || (status >= 500 && status < 600);
  return new OutboundWebhookError(`webhook answered ${status}${said}`, retryable, status);
}

function isCertificate(pem: string): boolean {
  try {
    new X509Certificate(pem);
    return true;
  } catch {
    return false;
  }
}

async function systemLookup(host: string): Promise<WebhookAddress[]> {
  const answers = await dnsLookup(host, { all: true, verbatim: true });
  return answers.map(({ address, family }) => ({ address, family: family === 6 ? 6 : 4 }));
}

export class OutboundWebhookSender {
  private readonly exactHosts = new Set<string>();
  private readonly wildcardSuffixes: string[] = [];
  private readonly allowedIps = new Set<string>();
  private readonly allowPrivate: Cidr[];
  private readonly secret?: string;
  private readonly ca?: string[];
  private readonly timeoutMs: number;
  private readonly lookup: (host: string) => Promise<WebhookAddress[]>;
  private readonly now: () => Date;

  constructor(options: OutboundWebhookOptions) {
    options.allowedHosts.forEach((pattern, i) => this.allowHost(pattern, `allowedHosts[${i}]`));
    this.allowPrivate = options.allowPrivate.map((cidr, i) => {
      if (typeof cidr !== 'string' || !ipaddr.isValidCIDR(cidr.trim())) {
        throw new ConfigError(`allowPrivate[${i}]`, `"${cidr}" is not a CIDR such as 10.1.2.0/24`);
      }
      return ipaddr.parseCIDR(cidr.trim());
    });
    this.secret = options.secret || undefined;
    if (options.ca !== undefined) {
      const certificates = typeof options.ca === 'string' ? options.ca.match(PEM_CERTIFICATE) : null;
      if (!certificates || !certificates.every(isCertificate)) {
        throw new ConfigError('ca', 'is not one or more PEM certificates');
      }
      // `ca` replaces Node's roots, so they are passed along with the extra ones.
      this.ca = [...rootCertificates, ...certificates];
    }
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!Number.isSafeInteger(timeoutMs) || timeoutMs <= 0) {
      throw new ConfigError('timeoutMs', 'must be a positive whole number of milliseconds');
    }
    this.timeoutMs = timeoutMs;
    this.lookup = options.lookup ?? systemLookup;
    this.now = options.now ?? (() => new Date());
  }

  /** Throws a ValidationError naming `field` when url could never be called (used when a rule is saved). */
  checkUrl(url: string, field: string): void {
    const target = this.target(url);
    if (typeof target === 'string') throw new ValidationError(`${field} ${target}`, field);
  }

  /** POSTs body as JSON, signed; resolves on a 2xx answer and throws OutboundWebhookError otherwise. */
  async send(url: string, body: unknown, meta: { id: string }): Promise<{ status: number; durationMs: number }> {
    const started = performance.now();
    if (!this.secret) throw new OutboundWebhookError('no webhook secret is configured', false);
    if (typeof meta?.id !== 'string' || !WEBHOOK_ID.test(meta.id)) {
      throw new OutboundWebhookError('webhook id must be 1 to 200 visible ASCII characters', false);
    }
    const target = this.target(url);
    if (typeof target === 'string') throw new OutboundWebhookError(`webhook URL ${target}`, false);

    let json: string | undefined;
    try {
      json = JSON.stringify(body);
    } catch (error) {
      throw new OutboundWebhookError(`webhook body is not JSON: ${(error as Error).message}`, false);
    }
    if (json === undefined) throw new OutboundWebhookError('webhook body is not JSON', false);
    const rawBody = Buffer.from(json, 'utf8');
    const headers = {
      'Content-Type': 'application/json',
      'Content-Length': String(rawBody.length),
      'User-Agent': OUTBOUND_WEBHOOK_USER_AGENT,
      [OUTBOUND_WEBHOOK_ID_HEADER]: meta.id,
      [WEBHOOK_SIGNATURE_HEADER]: signWebhook(this.secret, rawBody, Math.floor(this.now().getTime() / 1000)),
    };

    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), this.timeoutMs);
    try {
      const addresses = target.isIpLiteral
        ? [{ address: target.hostname, family: isIP(target.hostname) as 4 | 6 }]
        : await this.resolve(target.hostname, deadline.signal);
      const status = await this.post(target, addresses, rawBody, headers, deadline.signal);
      return { status, durationMs: Math.round(performance.now() - started) };
    } finally {
      clearTimeout(timer);
    }
  }

  private allowHost(pattern: string, field: string): void {
    const raw = typeof pattern === 'string' ? pattern.trim().toLowerCase() : '';
    const isWildcard = raw.startsWith('*.');
    const host = canonicalPatternHost(isWildcard ? raw.slice(2) : raw);
    if (host === null || (isWildcard && isIP(host))) {
      throw new ConfigError(field, `"${pattern}" is not a host name, a *.wildcard name or an IP address`);
    }
    if (isWildcard) this.wildcardSuffixes.push(host);
    else if (isIP(host)) this.allowedIps.add(host);
    else this.exactHosts.add(host);
  }

  private isAllowedName(host: string): boolean {
    if (this.exactHosts.has(host)) return true;
    return this.wildcardSuffixes.some((suffix) => {
      if (!host.endsWith(`.${suffix}`)) return false;
      const label = host.slice(0, -(suffix.length + 1));
      return label.length > 0 && !label.includes('.');
    });
  }

  /** The target of url, or why it may not be called (a phrase that follows the field name). */
  private target(url: string): WebhookTarget | string {
    if (typeof url !== 'string' || url.length === 0 || url.length > MAX_URL_LENGTH) {
      return `must be a URL of at most ${MAX_URL_LENGTH} characters`;
    }
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return 'must be a valid URL';
    }
    if (parsed.protocol !== 'https:') return 'must use https';
    if (parsed.username !== '' || parsed.password !== '') return 'must not contain a user name or password';
    const hostname = canonicalHost(parsed.hostname);
    const isIpLiteral = isIP(hostname) !== 0;
    if (isIpLiteral) {
      if (!this.allowedIps.has(hostname)) {
        return `points to the IP address ${hostname}, which is not on the webhook allow-list`;
      }
      const refused = this.refusedRange(hostname);
      if (refused) return `points to ${hostname}, a ${refused} address, which webhooks may not reach`;
    } else if (!HOST_NAME.test(hostname)) {
      return 'must have a valid host name';
    } else if (!this.isAllowedName(hostname)) {
      return `host ${hostname} is not on the webhook allow-list`;
    }
    return {
      hostname,
      isIpLiteral,
      port: parsed.port === '' ? 443 : Number(parsed.port),
      path: `${parsed.pathname}${parsed.search}`,
    };
  }

  /** Why address may not be reached (the name of its range), or null when it may. */
  private refusedRange(address: string): string | null {
    const ip = destination(ipaddr.parse(address));
    for (const [cidr, label] of NEVER_REACHABLE_CIDRS) if (within(ip, cidr)) return label;
    let range: string = ip.range();
    if (range === 'unicast' && within(ip, IPV4_COMPATIBLE)) range = 'ipv4Compatible';
    if (range === 'unicast') return null;
    return this.allowPrivate.some((cidr) => within(ip, cidr)) ? null : range;
  }

  /** Every address host resolves to, each checked; any refused one refuses the host (DNS answers rotate). */
  private async resolve(host: string, deadline: AbortSignal): Promise<WebhookAddress[]> {
    let answers: WebhookAddress[];
    try {
      answers = await new Promise<WebhookAddress[]>((resolve, reject) => {
        const onTimeout = () => reject(new OutboundWebhookError(`webhook timed out after ${this.timeoutMs} ms`, true));
        deadline.addEventListener('abort', onTimeout, { once: true });
        this.lookup(host)
          .then(resolve, reject)
          .finally(() => deadline.removeEventListener('abort', onTimeout));
      });
    } catch (error) {
      if (error instanceof OutboundWebhookError) throw error;
      const code = (error as NodeJS.ErrnoException)?.code ?? (error as Error)?.message;
      throw new OutboundWebhookError(`could not resolve webhook host ${host}: ${code}`, true);
    }
    if (!Array.isArray(answers) || answers.length === 0) {
      throw new OutboundWebhookError(`webhook host ${host} has no address`, true);
    }
    return answers.map(({ address }) => {
      const family = typeof address === 'string' ? isIP(address) : 0;
      if (family === 0) throw new OutboundWebhookError(`webhook host ${host} resolved to a malformed address`, false);
      const refused = this.refusedRange(address);
      if (refused) {
        throw new OutboundWebhookError(
          `webhook host ${host} resolves to ${address}, a ${refused} address, which webhooks may not reach`,
          false,
        );
      }
      return { address, family: family as 4 | 6 };
    });
  }

  private post(
    target: WebhookTarget,
    addresses: WebhookAddress[],
    rawBody: Buffer,
    headers: Record<string, string>,
    deadline: AbortSignal,
  ): Promise<number> {
    // Node connects to what this returns: only the addresses checked above, so an answer that
    // changes between check and connect (DNS rebinding) cannot move the request.
    const pinned: LookupFunction = (hostname, options, callback) => {
      const wanted = options.family === 4 || options.family === 6 ? options.family : undefined;
      const usable = addresses.filter((a) => hostname === target.hostname && (!wanted || a.family === wanted));
      if (usable.length === 0) {
        const error: NodeJS.ErrnoException = new Error(`no checked address for ${hostname}`);
        error.code = 'ENOTFOUND';
        callback(error, '', 0);
      } else if (options.all) {
        callback(null, usable);
      } else {
        callback(null, usable[0].address, usable[0].family);
      }
    };
    const options: RequestOptions = {
      method: 'POST',
      hostname: target.hostname,
      port: target.port,
      path: target.path,
      headers,
      lookup: pinned,
      // A fresh connection per send: a pooled socket was pinned under whichever sender opened it.
      agent: false,
      ca: this.ca,
      rejectUnauthorized: true,
      signal: deadline,
    };

    return new Promise<number>((resolve, reject) => {
      let isSettled = false;
      const settle = (outcome: () => void) => {
        if (!isSettled) {
          isSettled = true;
          outcome();
        }
      };
      const req = request(options, (res) => {
        const status = res.statusCode ?? 0;
        res.on('error', () => undefined);
        if (status >= 200 && status < 300) {
          settle(() => resolve(status));
          res.destroy(); // accepted: the body is not ours to wait for
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        const finish = () => {
          settle(() => reject(statusError(status, Buffer.concat(chunks).toString('utf8'))));
          res.destroy();
        };
        res.on('data', (chunk: Buffer) => {
          const kept = chunk.subarray(0, MAX_ERROR_BODY_BYTES - size);
          chunks.push(kept);
          size += kept.length;
          if (size >= MAX_ERROR_BODY_BYTES) finish();
        });
        res.on('end', finish);
        res.on('close', finish);
      });
      req.on('error', (error: NodeJS.ErrnoException) => {
        settle(() =>
          reject(
            deadline.aborted
              ? new OutboundWebhookError(`webhook timed out after ${this.timeoutMs} ms`, true)
              : new OutboundWebhookError(`webhook request failed: ${error.code ?? error.message}`, true),
          ),
        );
      });
      req.end(rawBody);
    });
  }
}
