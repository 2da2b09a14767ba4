import { applyDecorators } from '@nestjs/common';
import { ApiOkResponse, ApiProduces, ApiQuery } from '@nestjs/swagger';
import type { Response } from 'express';
import { ValidationError } from '@closeloop/core';

/** Reports, campaign reports and the scorecard are served as JSON, a CSV download or an HTML page. */
export const REPORT_FORMATS = ['json', 'csv', 'html'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

/** The OpenAPI side of a report route: the `format` query and the three kinds of answer. */
export const ReportFormats = (what: string) =>
  applyDecorators(
    ApiQuery({ name: 'format', required: false, enum: REPORT_FORMATS }),
    ApiProduces('application/json', 'text/csv', 'text/html'),
    ApiOkResponse({
      description: `${what}: JSON, or CSV / HTML with ?format=`,
      content: {
        'application/json': { schema: { type: 'object' } },
        'text/csv': { schema: { type: 'string' } },
        'text/html': { schema: { type: 'string' } },
      },
    }),
  );

export function reportFormat(format: string | undefined): ReportFormat {
  const f = format ?? 'json';
  if (!(REPORT_FORMATS as readonly string[]).includes(f)) {
    throw new ValidationError(`format must be one of ${REPORT_FORMATS.join(', ')}`, 'format');
  }
  return f as ReportFormat;
}

/** JSON, a CSV download, or a self-contained HTML page (no network: the CSP says so too). */
export function sendReport<T>(
  res: Response,
  format: ReportFormat,
  name: string,
  report: T,
  csv: (r: T) => string,
  html: (r: T) => string,
): void {
  const file = name.replace(/[^\w.-]/g, '_');
  if (format === 'csv') {
    res
      .status(200)
      .type('text/csv; charset=utf-8')
      .set('Content-Disposition', `attachment; filename="${file}.csv"`)
      .send(csv(report));
  } else if (format === 'html') {
    res
      .status(200)
      .type('html')
      .set('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; img-src data:")
      .send(html(report));
  } else {
    res.status(200).json(report);
  }
}
