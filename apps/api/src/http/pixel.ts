import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import proxyaddr from 'proxy-addr';
import { HitMeta, TrackingService } from '@closeloop/tracking';

/** A 1x1 transparent GIF. */
export const PIXEL = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

export const PIXEL_HEADERS = {
  'Content-Type': 'image/gif',
  'Content-Length': String(PIXEL.length),
  'Cache-Control': 'no-store, no-cache, must-revalidate, private, max-age=0',
  Pragma: 'no-cache',
  Expires: '0',
};

const OPEN_PATH = '/t/o/';

/**
 * The open pixel is the busiest route by far (every open of every message, and image proxies
 * prefetching): it is answered before the request reaches Express and Nest, straight from the
 * HTTP server, so the cost of a hit is the token check and a push into the event buffer. The
 * client address follows TRUST_PROXY exactly as Express's `req.ip` does. Everything else (and a
 * pixel hit by a method other than GET) goes on to the application unchanged.
 */
export function servePixelFirst(server: Server, tracking: TrackingService, trustProxyHops: number): void {
  const application = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
  server.removeAllListeners('request');
  const trust = (_address: string, i: number) => i < trustProxyHops;
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url;
    if (req.method === 'GET' && url !== undefined && url.startsWith(OPEN_PATH)) {
      const end = url.indexOf('?');
      const token = url.slice(OPEN_PATH.length, end < 0 ? undefined : end);
      const meta: HitMeta = {
        userAgent: req.headers['user-agent'] ?? null,
        ip: trustProxyHops ? proxyaddr(req, trust) : (req.socket.remoteAddress ?? null),
      };
      try {
        tracking.open(token, meta);
      } finally {
        res.writeHead(200, PIXEL_HEADERS).end(PIXEL);
      }
      return;
    }
    for (const listener of application) listener.call(server, req, res);
  });
}
