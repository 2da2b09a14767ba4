import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import { DomainError } from '@closeloop/core';
import type { Request, Response } from 'express';

const STATUS_BY_KIND: Record<DomainError['kind'], number> = {
  invalid: HttpStatus.BAD_REQUEST,
  not_found: HttpStatus.NOT_FOUND,
  conflict: HttpStatus.CONFLICT,
  unprocessable: HttpStatus.UNPROCESSABLE_ENTITY,
  too_large: HttpStatus.PAYLOAD_TOO_LARGE,
};

export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
}

/** Reason phrases for the statuses we answer with (RFC 9110). */
const REASON: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/**
 * The one place errors become HTTP: every response body is `{ statusCode, error, message }`
 * (API.md "Conventions"). Domain errors carry their kind; anything unexpected is logged and
 * answered as a 500 without internals.
 */
@Catch()
export class ErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('ErrorFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const res = ctx.getResponse<Response>();
    const req = ctx.getRequest<Request>();
    const result = this.toBody(exception, req);
    if (res.headersSent) return;
    if ('body' in result) res.status(result.statusCode).json(result.body);
    else res.status(result.statusCode).json(result);
  }

  private toBody(exception: unknown, req: Request): ErrorBody | { statusCode: number; body: object } {
    if (exception instanceof DomainError) {
      return body(STATUS_BY_KIND[exception.kind], exception.message);
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const response = exception.getResponse();
      // Terminus answers /health with its own documented body (status, info, error, details).
      if (isHealthReport(response)) return { statusCode: status, body: response };
      const cause = exception.cause as { type?: string } | undefined;
      if (status === 400 && (cause?.type === 'entity.parse.failed' || cause instanceof SyntaxError)) {
        return body(400, 'request body is not valid JSON');
      }
      let message: string = exception.message;
      if (typeof response === 'object' && response && 'message' in response) {
        const m = (response as { message: unknown }).message;
        message = Array.isArray(m) ? m.join('; ') : String(m);
      }
      if (status === 404 && message.startsWith('Cannot ')) message = `no route for ${req.method} ${req.path}`;
      return body(status, message);
    }
    // Errors raised by body-parser before any handler runs.
    const raw = exception as { type?: string; status?: number; limit?: number };
    if (raw?.type === 'entity.too.large') {
      return body(413, `request body is larger than the limit of ${raw.limit} bytes`);
    }
    if (raw?.type === 'entity.parse.failed') return body(400, 'request body is not valid JSON');
    if (raw?.type === 'encoding.unsupported' || raw?.type === 'charset.unsupported') {
      return body(415, 'request body encoding is not supported; send UTF-8 JSON');
    }
    if (typeof raw?.status === 'number' && raw.status >= 400 && raw.status < 500) {
      return body(raw.status, (exception as Error).message || 'bad request');
    }
    this.logger.error({ err: exception, path: req.path }, 'unhandled error');
    return body(500, 'internal error; it has been logged');
  }
}

function body(statusCode: number, message: string): ErrorBody {
  return { statusCode, error: REASON[statusCode] ?? 'Error', message };
}

function isHealthReport(response: unknown): response is object {
  return typeof response === 'object' && response !== null && 'status' in response && 'details' in response;
}
