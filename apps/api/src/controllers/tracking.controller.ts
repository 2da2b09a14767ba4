import { Controller, Get, Header, HttpCode, Param, Post, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import {
  confirmPage,
  donePage,
  HitMeta,
  invalidPage,
  pageLanguage,
  TrackingService,
  UnsubscribeService,
} from '@closeloop/tracking';
import { Public } from '../http/auth';
import { PIXEL, PIXEL_HEADERS } from '../http/pixel';

const meta = (req: Request): HitMeta => ({
  userAgent: typeof req.headers['user-agent'] === 'string' ? req.headers['user-agent'] : null,
  ip: req.ip ?? null,
});

/**
 * The public tracking endpoints (API.md "Responses"): hit by mail clients, image proxies, link
 * scanners and browsers, with no API key. They never answer 500: a bad token is a 404 (or the
 * pixel anyway), and recording happens after the answer, through the event buffer.
 */
@ApiTags('tracking (public, no API key)')
@Public()
@Controller()
export class TrackingController {
  constructor(
    private readonly tracking: TrackingService,
    private readonly unsubscribes: UnsubscribeService,
  ) {}

  /** GET is served by `servePixelFirst` before Express; this answers HEAD and documents the route. */
  @Get('t/o/:token')
  @ApiOperation({ summary: 'Open pixel: always a 1x1 GIF; only a valid open token records an open' })
  @ApiProduces('image/gif')
  @ApiResponse({ status: 200, description: 'the GIF, with no-cache headers' })
  open(@Param('token') token: string, @Req() req: Request, @Res() res: Response): void {
    if (req.method === 'GET') this.tracking.open(token, meta(req)); // a HEAD (link checkers) records nothing
    res.status(200).set(PIXEL_HEADERS).end(PIXEL);
  }

  @Get('t/c/:token')
  @ApiOperation({
    summary: 'Tracked link: 302 to the link that was in the message; anything else 404, never a redirect',
  })
  @ApiResponse({ status: 302, description: 'to the original link' })
  @ApiResponse({ status: 404, description: 'forged, tampered, unknown or wrong-kind token' })
  @ApiResponse({ status: 429, description: 'too many invalid tokens from this address' })
  async click(@Param('token') token: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    const answer = await this.tracking.click(token, meta(req));
    res.set({ 'Cache-Control': 'no-store', 'Referrer-Policy': 'no-referrer' });
    if ('location' in answer) {
      res.redirect(302, answer.location);
      return;
    }
    res.status(answer.status).json({
      statusCode: answer.status,
      error: answer.status === 404 ? 'Not Found' : 'Too Many Requests',
      message: answer.status === 404 ? 'unknown link' : 'too many invalid links from this address; try later',
    });
  }

  /** Shows the confirmation form only: GET never writes (mail scanners follow links). */
  @Get('u/:token')
  @ApiOperation({ summary: 'Unsubscribe confirmation page (never writes)' })
  @ApiProduces('text/html')
  @Header('Cache-Control', 'no-store')
  @Header('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")
  async unsubscribePage(@Param('token') token: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    const found = await this.unsubscribeTarget(token, req, res);
    if (found) res.status(200).type('html').send(confirmPage(found.lang, found.target));
  }

  /**
   * One-click unsubscribe (RFC 8058: `List-Unsubscribe=One-Click`, form-encoded or multipart) and
   * the form's target. The token is the authority: no login, no cookie, whatever the body says.
   * Suppressed before the answer is sent.
   */
  @Post('u/:token')
  @ApiOperation({ summary: 'Unsubscribe (RFC 8058 one-click or the page form): suppressed before the answer' })
  @ApiProduces('text/html')
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  @Header('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'")
  async unsubscribe(@Param('token') token: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    const found = await this.unsubscribeTarget(token, req, res);
    if (!found) return;
    const { target, lang } = found;
    const body = req.body as Record<string, unknown> | undefined;
    // Mail providers' one-click POSTs carry no Origin; a browser submitting our form does.
    const oneClick = body?.['List-Unsubscribe'] === 'One-Click' && !req.headers.origin;
    const fresh = await this.unsubscribes.unsubscribe(target, oneClick ? 'one-click' : 'unsubscribe-page');
    res
      .status(200)
      .type('html')
      .send(donePage(lang, target, !fresh));
  }

  /** The send of a valid unsubscribe token and the page language; else answers the 404 page itself. */
  private async unsubscribeTarget(token: string, req: Request, res: Response) {
    const target = await this.tracking.unsubscribeTarget(token, meta(req));
    const lang = pageLanguage(target?.locale, req.headers['accept-language']);
    if (target) return { target, lang };
    res.status(404).type('html').send(invalidPage(lang));
    return null;
  }
}
