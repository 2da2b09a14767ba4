import { Inject, Injectable, Optional } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import {
  Clock,
  compileCriteria,
  CriteriaNode,
  DAY_MS,
  LIFECYCLE_STAGES,
  LIFECYCLE_THRESHOLDS,
  LifecycleStage,
  systemClock,
  ValidationError,
} from '@closeloop/core';
import { DataSource, EntityManager } from 'typeorm';
import type {
  ChannelFigures,
  ContactFigures,
  MoneyFigures,
  ProgramFigures,
  Scorecard,
  SegmentFigures,
  StageFigures,
} from './scorecard-types';

/** "Now" for the default period and for segment criteria such as withinDays; tests give a fixed clock. */
export const ANALYTICS_CLOCK = Symbol('ANALYTICS_CLOCK');
export const SCORECARD_DEFAULT_DAYS = 30;
/** Segments are counted one compiled statement each: the scorecard computes the first 20 by code. */
export const MAX_SCORECARD_SEGMENTS = 20;
/** Programs listed one by one; channel and overall figures cover every program of the period. */
export const MAX_SCORECARD_PROGRAMS = 200;

const CONTACTED_STATES = ['sent', 'delivered', 'bounced', 'unknown'];

interface MoneyRow {
  currency: string;
  orders: number;
  buyers: number;
  revenue: string | number;
  margin: string | number;
  orders_with_margin: number;
}

interface ProgramRow {
  id: string;
  code: string;
  name: string;
  channel: 'email' | 'sms';
  state: string;
  launched_at: Date;
  members: string;
}

/**
 * The customer scorecard (PRODUCT.md "scorecard"), read from history through SQL only (analytics
 * never calls another lib's services), in one read-only REPEATABLE READ transaction so its figures
 * agree with one another. The period is half-open, `from <= t < to`, and defaults to the last 30
 * days. Definitions:
 *
 * - **Customers** (total, by lifecycle stage, by segment) are counted as they are now, erased
 *   customers left out. The stage is the stored `customer.lifecycle_stage` (recomputed daily by the
 *   lifecycle job, thresholds in core `LIFECYCLE_THRESHOLDS`); segment membership is the saved
 *   criteria compiled by core `compileCriteria`, evaluated now, for the first 20 segments by code.
 * - **Money** is every order with `ordered_at` in the period, grouped by currency (amounts in
 *   different currencies are never added): revenue = sum of amounts, margin = sum of the known
 *   margins (with the count of orders that had one), average order value = revenue / orders.
 *   Erased customers' orders count (erasure keeps aggregates); by stage, an order counts under its
 *   customer's stage today; by segment, under today's members.
 * - **New customers**: first order ever in the period.
 * - **Lost customers**: moved to `lapsed` in the period, i.e. their last order before `to` is more
 *   than 365 days (`lapsedAfterDays`) older than some instant of the period: it fell in
 *   [from - 365 days, to - 365 days). Computed from order history, so it does not depend on when the
 *   lifecycle job last ran, and counts erased customers as new customers do.
 * - **Programs**: those launched in the period, with their figures to date from the report counters
 *   (the program report's definitions): members (target list, control included), contacted (sent,
 *   delivered, bounced or unknown), delivered (sent or delivered), bounced, unique unsubscribes,
 *   complaints and converters. **Responders** are contacted members who clicked (people only: link
 *   scanners left out) or converted, at most once each (from `response_first`, the first response of
 *   each kind per program and member). Response rate = responders / contacted; conversion rate =
 *   converters / members (intention to treat, control included); unsubscribe and complaint rates per
 *   delivered message; bounce rate per contacted. Channels add up their programs' counts (a person
 *   in two programs counts in both) and take the rates of the sums.
 */
@Injectable()
export class ScorecardService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Optional() @Inject(ANALYTICS_CLOCK) private readonly clock: Clock = systemClock,
  ) {}

  async scorecard(query: { from?: string; to?: string } = {}): Promise<Scorecard> {
    const now = this.clock.now();
    const { from, to } = scorecardPeriod(query.from, query.to, now);
    return this.dataSource.transaction('REPEATABLE READ', async (m) => {
      await m.query('SET TRANSACTION READ ONLY');
      const stageCounts = await this.customersByStage(m);
      const stageMoney = await this.moneyByStage(m, from, to);
      const lifecycleStages: StageFigures[] = LIFECYCLE_STAGES.map((stage) => ({
        stage,
        customers: stageCounts.get(stage) ?? 0,
        money: (stageMoney.get(stage) ?? []).map(moneyFigures),
      }));
      const segments = await this.segments(m, from, to, now);
      const programs = await this.programs(m, from, to);
      const channels = (['email', 'sms'] as const).map((channel): ChannelFigures => ({
        channel,
        programs: programs.filter((p) => p.channel === channel).length,
        ...sumContact(programs.filter((p) => p.channel === channel)),
      }));
      return {
        period: { from: from.toISOString(), to: to.toISOString() },
        generatedAt: now.toISOString(),
        lifecycleThresholds: { ...LIFECYCLE_THRESHOLDS },
        customers: {
          total: [...stageCounts.values()].reduce((a, b) => a + b, 0),
          new: await this.newCustomers(m, from, to),
          lost: await this.lostCustomers(m, from, to),
        },
        money: totalMoney([...stageMoney.values()].flat()),
        lifecycleStages,
        segments: segments.figures,
        segmentsOmitted: segments.omitted,
        programs: programs.slice(0, MAX_SCORECARD_PROGRAMS),
        programsOmitted: Math.max(0, programs.length - MAX_SCORECARD_PROGRAMS),
        channels,
        contact: sumContact(programs),
      };
    });
  }

  private async customersByStage(m: EntityManager): Promise<Map<string, number>> {
    const rows: { stage: string; n: number }[] = await m.query(
      `SELECT lifecycle_stage AS stage, count(*)::int AS n FROM customer WHERE erased_at IS NULL GROUP BY 1`,
    );
    return new Map(rows.map((r) => [r.stage, r.n]));
  }

  /** Orders of the period by the customer's stage and the order's currency (one scan of the period's orders). */
  private async moneyByStage(m: EntityManager, from: Date, to: Date): Promise<Map<string, MoneyRow[]>> {
    const rows: (MoneyRow & { stage: LifecycleStage })[] = await m.query(
      `SELECT c.lifecycle_stage AS stage, ${MONEY_COLUMNS}
         FROM customer_order o JOIN customer c ON c.id = o.customer_id
        WHERE o.ordered_at >= $1 AND o.ordered_at < $2
        GROUP BY c.lifecycle_stage, o.currency ORDER BY o.currency`,
      [from, to],
    );
    const byStage = new Map<string, MoneyRow[]>();
    for (const r of rows) byStage.set(r.stage, [...(byStage.get(r.stage) ?? []), r]);
    return byStage;
  }

  /** First order ever in the period: an order in it, and none before (index on (customer_id, ordered_at)). */
  private async newCustomers(m: EntityManager, from: Date, to: Date): Promise<number> {
    const [{ n }] = await m.query(
      `SELECT count(DISTINCT o.customer_id)::int AS n FROM customer_order o
        WHERE o.ordered_at >= $1 AND o.ordered_at < $2
          AND NOT EXISTS (SELECT 1 FROM customer_order p WHERE p.customer_id = o.customer_id AND p.ordered_at < $1)`,
      [from, to],
    );
    return n;
  }

  /** Last order before `to` in [from - lapsed, to - lapsed): an order there, and none from then until `to`. */
  private async lostCustomers(m: EntityManager, from: Date, to: Date): Promise<number> {
    const lapsed = LIFECYCLE_THRESHOLDS.lapsedAfterDays * DAY_MS;
    const [{ n }] = await m.query(
      `SELECT count(DISTINCT o.customer_id)::int AS n FROM customer_order o
        WHERE o.ordered_at >= $1 AND o.ordered_at < $2
          AND NOT EXISTS (SELECT 1 FROM customer_order p
                           WHERE p.customer_id = o.customer_id AND p.ordered_at >= $2 AND p.ordered_at < $3)`,
      [new Date(from.getTime() - lapsed), new Date(to.getTime() - lapsed), to],
    );
    return n;
  }

  /**
   * The first segments by code: members now, and their orders of the period. Each is one statement
   * (a materialised member set joined to orders); criteria that no longer compile (a segment they
   * name was removed) give an error on their row instead of failing the scorecard.
   */
  private async segments(
    m: EntityManager,
    from: Date,
    to: Date,
    now: Date,
  ): Promise<{ figures: SegmentFigures[]; omitted: number }> {
    const [{ n }] = await m.query(`SELECT count(*)::int AS n FROM segment`);
    const saved: { code: string; name: string; criteria: CriteriaNode }[] = await m.query(
      `SELECT code, name, criteria FROM segment ORDER BY lower(code), id LIMIT $1`,
      [MAX_SCORECARD_SEGMENTS],
    );
    const known = new Map(saved.map((s) => [s.code.toLowerCase(), s.criteria]));
    const figures: SegmentFigures[] = [];
    for (const segment of saved) {
      let compiled;
      try {
        await loadReferenced(m, segment.criteria, known);
        compiled = compileCriteria(segment.criteria, {
          now,
          segment: (code) => known.get(code.toLowerCase()) ?? null,
          paramOffset: 2,
        });
      } catch (error) {
        if (!(error instanceof ValidationError)) throw error;
        figures.push({ code: segment.code, name: segment.name, customers: null, money: [], error: error.message });
        continue;
      }
      const [row]: { customers: number; money: MoneyRow[] }[] = await m.query(
        `WITH members AS MATERIALIZED (SELECT c.id FROM customer c WHERE c.erased_at IS NULL AND ${compiled.sql}),
              money AS (SELECT ${MONEY_COLUMNS}
                          FROM customer_order o JOIN members ON members.id = o.customer_id
                         WHERE o.ordered_at >= $1 AND o.ordered_at < $2
                         GROUP BY o.currency)
         SELECT (SELECT count(*)::int FROM members) AS customers,
                coalesce((SELECT json_agg(money ORDER BY currency) FROM money), '[]'::json) AS money`,
        [from, to, ...compiled.params],
      );
      figures.push({
        code: segment.code,
        name: segment.name,
        customers: row.customers,
        money: row.money.map(moneyFigures),
        error: null,
      });
    }
    return { figures, omitted: Math.max(0, n - saved.length) };
  }

  /** Programs launched in the period with their counters, plus responders from `response_first`. */
  private async programs(m: EntityManager, from: Date, to: Date): Promise<ProgramFigures[]> {
    const programs: ProgramRow[] = await m.query(
      `SELECT p.id, p.code, p.name, p.channel, p.state, p.launched_at,
              (coalesce((SELECT sum((e ->> 'members')::bigint) FROM target_list t, jsonb_array_elements(t.cells) e
                          WHERE t.program_id = p.id), 0)
               -- Programs automation keeps (drips, rules) have members instead of a target list.
               + (SELECT count(*) FROM program_member pm WHERE pm.program_id = p.id))::text AS members
         FROM program p
        WHERE p.launched_at >= $1 AND p.launched_at < $2
        ORDER BY p.launched_at, p.id`,
      [from, to],
    );
    if (!programs.length) return [];
    const ids = programs.map((p) => p.id);
    const counterRows: { program_id: string; metric: string; value: string }[] = await m.query(
      `SELECT program_id, metric, sum(value)::text AS value FROM report_counter
        WHERE program_id = ANY($1::uuid[])
          AND (metric LIKE 'state:%' OR metric LIKE 'currency:%'
               OR metric IN ('unique:conversion', 'unique:unsubscribe', 'unique:complaint', 'revenue'))
        GROUP BY program_id, metric`,
      [ids],
    );
    // One row per (program, member, kind) at most: the union of clickers and converters needs the
    // members, which per-kind counters cannot give; the send's state says whether they were contacted.
    const responderRows: { program_id: string; n: number }[] = await m.query(
      `SELECT f.program_id, count(DISTINCT f.customer_id)::int AS n
         FROM response_first f JOIN send s ON s.program_id = f.program_id AND s.customer_id = f.customer_id
        WHERE f.program_id = ANY($1::uuid[]) AND f.kind IN ('click-human', 'conversion') AND s.state = ANY($2)
        GROUP BY f.program_id`,
      [ids, CONTACTED_STATES],
    );
    const counters = new Map<string, Map<string, number>>();
    for (const r of counterRows) {
      const c = counters.get(r.program_id) ?? new Map<string, number>();
      c.set(r.metric, Number(r.value));
      counters.set(r.program_id, c);
    }
    const responders = new Map(responderRows.map((r) => [r.program_id, r.n]));
    return programs.map((p) => {
      const c = counters.get(p.id) ?? new Map<string, number>();
      const n = (metric: string) => c.get(metric) ?? 0;
      const delivered = n('state:sent') + n('state:delivered');
      const currency =
        [...c]
          .filter(([metric]) => metric.startsWith('currency:'))
          .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]?.[0]
          .slice('currency:'.length) ?? null;
      return {
        id: p.id,
        code: p.code,
        name: p.name,
        channel: p.channel,
        state: p.state,
        launchedAt: new Date(p.launched_at).toISOString(),
        revenue: n('revenue'),
        currency,
        ...contactFigures({
          members: Number(p.members),
          contacted: delivered + n('state:bounced') + n('state:unknown'),
          delivered,
          bounced: n('state:bounced'),
          responders: responders.get(p.id) ?? 0,
          conversions: n('unique:conversion'),
          unsubscribes: n('unique:unsubscribe'),
          complaints: n('unique:complaint'),
        }),
      };
    });
  }
}

const MONEY_COLUMNS = `o.currency, count(*)::int AS orders, count(DISTINCT o.customer_id)::int AS buyers,
  sum(o.amount)::text AS revenue, coalesce(sum(o.margin), 0)::text AS margin, count(o.margin)::int AS orders_with_margin`;

/** Loads (into `known`) the saved segments that criteria name through inSegment, transitively. */
async function loadReferenced(m: EntityManager, criteria: CriteriaNode, known: Map<string, CriteriaNode>) {
  const visit = async (node: CriteriaNode): Promise<void> => {
    if ('all' in node) for (const n of node.all) await visit(n);
    else if ('any' in node) for (const n of node.any) await visit(n);
    else if ('not' in node) await visit(node.not);
    else if (node.op === 'inSegment') {
      const key = String(node.value).toLowerCase();
      if (known.has(key)) return;
      const rows: { criteria: CriteriaNode }[] = await m.query(`SELECT criteria FROM segment WHERE lower(code) = $1`, [
        key,
      ]);
      if (!rows.length) return; // compileCriteria names the missing segment
      known.set(key, rows[0].criteria);
      await visit(rows[0].criteria);
    }
  };
  await visit(criteria);
}

function moneyFigures(r: MoneyRow): MoneyFigures {
  const orders = Number(r.orders);
  const revenue = Number(r.revenue);
  return {
    currency: r.currency.trim(),
    orders,
    buyers: Number(r.buyers),
    revenue,
    margin: Number(r.margin),
    ordersWithMargin: Number(r.orders_with_margin),
    averageOrderValue: orders > 0 ? revenue / orders : null,
  };
}

/** Stage rows added up per currency: each customer has one stage, so buyers add up too. */
function totalMoney(rows: MoneyRow[]): MoneyFigures[] {
  const byCurrency = new Map<string, MoneyRow>();
  for (const r of rows) {
    const key = r.currency.trim();
    const t = byCurrency.get(key);
    byCurrency.set(
      key,
      t
        ? {
            currency: key,
            orders: t.orders + Number(r.orders),
            buyers: t.buyers + Number(r.buyers),
            revenue: Number(t.revenue) + Number(r.revenue),
            margin: Number(t.margin) + Number(r.margin),
            orders_with_margin: t.orders_with_margin + Number(r.orders_with_margin),
          }
        : { ...r, currency: key },
    );
  }
  return [...byCurrency.values()].sort((a, b) => a.currency.localeCompare(b.currency)).map(moneyFigures);
}

const rate = (x: number, n: number) => (n > 0 ? Math.min(1, x / n) : null);

type Counts = Omit<ContactFigures, `${string}Rate`>;

function contactFigures(c: Counts): ContactFigures {
  return {
    ...c,
    responseRate: rate(c.responders, c.contacted),
    conversionRate: rate(c.conversions, c.members),
    unsubscribeRate: rate(c.unsubscribes, c.delivered),
    bounceRate: rate(c.bounced, c.contacted),
    complaintRate: rate(c.complaints, c.delivered),
  };
}

function sumContact(figures: ContactFigures[]): ContactFigures {
  const sum = (key: keyof Counts) => figures.reduce((a, f) => a + f[key], 0);
  return contactFigures({
    members: sum('members'),
    contacted: sum('contacted'),
    delivered: sum('delivered'),
    bounced: sum('bounced'),
    responders: sum('responders'),
    conversions: sum('conversions'),
    unsubscribes: sum('unsubscribes'),
    complaints: sum('complaints'),
  });
}

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?$/;

/**
 * The scorecard period from the query: ISO 8601 dates or times (a time without a zone is UTC). A
 * date alone means the whole day in UTC: `from=2026-03-01&to=2026-03-31` is March 1 00:00 up to,
 * not including, April 1 00:00. Without `to`, now; without `from`, 30 days before `to`.
 */
export function scorecardPeriod(from: string | undefined, to: string | undefined, now: Date): { from: Date; to: Date } {
  const end = to === undefined || to === '' ? now : instant(to, 'to', true);
  const start =
    from === undefined || from === ''
      ? new Date(end.getTime() - SCORECARD_DEFAULT_DAYS * DAY_MS)
      : instant(from, 'from', false);
  if (!(start.getTime() < end.getTime())) {
    throw new ValidationError(
      `from must be before to (${start.toISOString()} is not before ${end.toISOString()})`,
      'from',
    );
  }
  return { from: start, to: end };
}

function instant(value: string, field: string, endOfDay: boolean): Date {
  const bad = () => new ValidationError(`${field} must be an ISO 8601 date or time such as 2026-03-01`, field);
  const date = DATE_ONLY.exec(value) ?? DATE_TIME.exec(value);
  if (!date) throw bad();
  const [y, mo, d] = [Number(date[1]), Number(date[2]), Number(date[3])];
  const day = new Date(Date.UTC(y, mo - 1, d));
  // Date.UTC rolls 2026-02-30 over to March 2: a calendar date must come back as written.
  if (day.getUTCFullYear() !== y || day.getUTCMonth() !== mo - 1 || day.getUTCDate() !== d) throw bad();
  if (DATE_ONLY.test(value)) return endOfDay ? new Date(day.getTime() + DAY_MS) : day;
  const at = new Date(/(Z|[+-]\d{2}:?\d{2})$/.test(value) ? value : `${value}Z`);
  if (Number.isNaN(at.getTime())) throw bad();
  return at;
}
