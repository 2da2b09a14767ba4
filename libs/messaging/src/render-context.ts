import type { RenderContext } from './rendering/template-engine';

/**
 * The columns a message is personalised from, for a query that joins `customer c`, `cell ce`,
 * `program p` and the cell's or program's offer `o`. Shared by template preview and the delivery
 * worker, so a preview shows exactly what a send will say.
 */
export const CUSTOMER_RENDER_COLUMNS = `
  c.id AS customer_id, c.external_id, c.email, c.phone, c.first_name, c.last_name, c.locale, c.time_zone,
  c.country, c.birth_date::text AS birth_date, c.attributes, c.lifecycle_stage`;

/** The cell, program and offer part of RENDER_COLUMNS. */
export const CELL_RENDER_COLUMNS = `
  ce.code AS cell_code, ce.name AS cell_name, ce.response_code, ce.is_control,
  p.code AS program_code, p.name AS program_name,
  o.code AS offer_code, o.name AS offer_name, o.description AS offer_description, o.type AS offer_type,
  o.value::float8 AS offer_value, o.currency AS offer_currency, o.valid_from AS offer_valid_from,
  o.valid_until AS offer_valid_until`;

export const RENDER_COLUMNS = `${CUSTOMER_RENDER_COLUMNS}, ${CELL_RENDER_COLUMNS}`;

export interface RenderRow {
  customer_id: string;
  external_id: string;
  email: string | null;
  phone: string | null;
  first_name: string | null;
  last_name: string | null;
  locale: string | null;
  time_zone: string | null;
  country: string | null;
  birth_date: string | null;
  attributes: Record<string, unknown>;
  lifecycle_stage: string;
  cell_code: string | null;
  cell_name: string | null;
  response_code: string | null;
  is_control: boolean | null;
  program_code: string | null;
  program_name: string | null;
  offer_code: string | null;
  offer_name: string | null;
  offer_description: string | null;
  offer_type: string | null;
  offer_value: number | null;
  offer_currency: string | null;
  offer_valid_from: Date | null;
  offer_valid_until: Date | null;
}

const isoOrNull = (d: Date | null): string | null => (d ? new Date(d).toISOString() : null);

export function toRenderContext(r: RenderRow, unsubscribeUrl: string): RenderContext {
  return {
    customer: {
      externalId: r.external_id,
      email: r.email,
      phone: r.phone,
      firstName: r.first_name,
      lastName: r.last_name,
      locale: r.locale,
      timeZone: r.time_zone,
      country: r.country,
      birthDate: r.birth_date,
      lifecycleStage: r.lifecycle_stage,
      attributes: r.attributes ?? {},
    },
    offer: r.offer_code
      ? {
          code: r.offer_code,
          name: r.offer_name,
          description: r.offer_description,
          type: r.offer_type,
          value: r.offer_value,
          currency: r.offer_currency,
          validFrom: isoOrNull(r.offer_valid_from),
          validUntil: isoOrNull(r.offer_valid_until),
        }
      : null,
    cell: r.cell_code ? { code: r.cell_code, name: r.cell_name, responseCode: r.response_code } : null,
    program: r.program_code ? { code: r.program_code, name: r.program_name } : null,
    unsubscribeUrl,
    locale: r.locale ?? undefined,
    timeZone: r.time_zone ?? undefined,
  };
}
