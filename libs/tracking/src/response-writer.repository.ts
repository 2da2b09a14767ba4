import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash } from 'node:crypto';
import { machineReason } from '@closeloop/core';
import { DataSource } from 'typeorm';
import { TrackingEvent } from './tracking-events';

interface SendRow {
  id: string;
  program_id: string;
  cell_id: string;
  customer_id: string;
  response_code: string;
  sent_at: Date | null;
}

export interface WriteOutcome {
  /** Rows inserted (repeats of an event id add none). */
  written: number;
  /** Opens implied by a click on a send with no open yet. */
  implied: number;
  /** Events of sends that do not exist (dropped). */
  unknown: number;
}

/** A click's implied open gets an id derived from the click's, so a re-written batch adds nothing. */
export function impliedOpenId(clickEventId: string): string {
  const h = createHash('sha256').update(`implied-open:${clickEventId}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const INSERT = `
  INSERT INTO response (event_id, send_id, customer_id, program_id, cell_id, response_code, type, occurred_at,
                        link, source, machine, machine_reason, detail)
  SELECT x.event_id, x.send_id, x.customer_id, x.program_id, x.cell_id, x.response_code, x.type, x.at,
         x.link, x.source, x.machine_reason IS NOT NULL, x.machine_reason, x.detail
    FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::uuid[], $6::text[], $7::text[],
                $8::timestamptz[], $9::int[], $10::text[], $11::text[], $12::jsonb[])
         AS x(event_id, send_id, customer_id, program_id, cell_id, response_code, type, at, link, source,
              machine_reason, detail)`;

interface Row {
  eventId: string;
  send: SendRow;
  type: 'open' | 'click';
  at: Date;
  link: number | null;
  source: string;
  machine: string | null;
  detail: string | null;
}

const columns = (rows: Row[]) => [
  rows.map((r) => r.eventId),
  rows.map((r) => r.send.id),
  rows.map((r) => r.send.customer_id),
  rows.map((r) => r.send.program_id),
  rows.map((r) => r.send.cell_id),
  rows.map((r) => r.send.response_code),
  rows.map((r) => r.type),
  rows.map((r) => r.at),
  rows.map((r) => r.link),
  rows.map((r) => r.source),
  rows.map((r) => r.machine),
  rows.map((r) => r.detail),
];

/**
 * Writes a batch of tracking events as `response` rows in one transaction: the events themselves
 * (ON CONFLICT (event_id) DO NOTHING), then an `open` for every clicked send that has none yet
 * ("a click implies an open"). Each row carries the send's program, cell, response code and
 * customer, the time, the source and the machine flag, so every report can be recomputed from it.
 * The user agent is kept (in `detail`), the IP address is not: it is only used to flag machines.
 */
@Injectable()
export class ResponseWriter {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async write(events: TrackingEvent[]): Promise<WriteOutcome> {
    if (!events.length) return { written: 0, implied: 0, unknown: 0 };
    const sendIds = [...new Set(events.map((e) => e.sendId))];
    const sends: SendRow[] = await this.dataSource.query(
      `SELECT id, program_id, cell_id, customer_id, response_code, sent_at FROM send WHERE id = ANY($1::uuid[])`,
      [sendIds],
    );
    const byId = new Map(sends.map((s) => [s.id, s]));
    const rows: Row[] = [];
    const implied = new Map<string, Row>();
    let unknown = 0;
    for (const e of events) {
      const send = byId.get(e.sendId);
      if (!send) {
        unknown++;
        continue;
      }
      const at = new Date(e.at);
      const machine = machineReason({
        kind: e.kind,
        userAgent: e.userAgent,
        ip: e.ip,
        at,
        sentAt: send.sent_at ? new Date(send.sent_at) : null,
      });
      const detail = e.userAgent ? JSON.stringify({ userAgent: e.userAgent }) : null;
      rows.push({
        eventId: e.id,
        send,
        type: e.kind,
        at,
        link: e.kind === 'click' ? e.link : null,
        source: e.kind === 'open' ? 'pixel' : 'link',
        machine,
        detail,
      });
      const first = implied.get(send.id);
      if (e.kind === 'click' && (!first || first.at > at)) {
        implied.set(send.id, {
          eventId: impliedOpenId(e.id),
          send,
          type: 'open',
          at,
          link: null,
          source: 'implied-by-click',
          machine,
          detail,
        });
      }
    }
    // Opens in this very batch count as seen.
    for (const r of rows) if (r.type === 'open') implied.delete(r.send.id);
    return this.dataSource.transaction(async (m) => {
      const written = rows.length
        ? ((
            await m.query(
              `WITH i AS (${INSERT} ON CONFLICT (event_id) DO NOTHING RETURNING 1) SELECT count(*)::int AS n FROM i`,
              columns(rows),
            )
          )[0].n as number)
        : 0;
      const opens = [...implied.values()];
      const impliedWritten = opens.length
        ? ((
            await m.query(
              `WITH i AS (${INSERT}
                 WHERE NOT EXISTS (SELECT 1 FROM response r WHERE r.send_id = x.send_id AND r.type = 'open')
                 ON CONFLICT (event_id) DO NOTHING RETURNING 1)
               SELECT count(*)::int AS n FROM i`,
              columns(opens),
            )
          )[0].n as number)
        : 0;
      return { written: written + impliedWritten, implied: impliedWritten, unknown };
    });
  }
}
