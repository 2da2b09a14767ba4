import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { describeStep, describeTrigger, DripDefinition, isUuid, NotFoundError, ValidationError } from '@closeloop/core';
import { DataSource } from 'typeorm';
import { DripReport, DripSplitReport, DripStepReport } from './drip-report-types';
import { MAX_CONFIDENCE, MIN_CONFIDENCE, ReportService } from './report.service';

interface StepFigures {
  sent: number;
  delivered: number;
  held_out: number;
  failed: number;
  opened: number;
  clicked: number;
  converted: number;
}

/** Send states that reached the peer, and the report's "delivered" (accepted, or a receipt said so). */
const CONTACTED = ['sent', 'delivered', 'bounced', 'unknown'];

/**
 * The drip report: per step, the enrollments that reached it, left there or ran past its end (the
 * counters the engine keeps in the transaction that moves them), and for send steps what their
 * messages did (from the send ledger and response history of the drip's programs); per split, and for
 * the drip's own program, a program report (arms as cells, the holdout as control).
 */
@Injectable()
export class DripReportService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly reports: ReportService,
  ) {}

  async report(ref: string, options: { version?: number; confidence?: number } = {}): Promise<DripReport> {
    const confidence = options.confidence ?? 0.95;
    if (!(confidence >= MIN_CONFIDENCE && confidence <= MAX_CONFIDENCE)) {
      throw new ValidationError(`confidence must be from ${MIN_CONFIDENCE} to ${MAX_CONFIDENCE}`, 'confidence');
    }
    const drips: {
      id: string;
      code: string;
      name: string;
      state: string;
      version: number;
      activated_at: Date | null;
    }[] = await this.dataSource.query(
      `SELECT id, code, name, state, version, activated_at FROM drip
        WHERE ${isUuid(ref) ? 'id = $1' : 'lower(code) = lower($1)'}`,
      [ref],
    );
    if (!drips.length) throw new NotFoundError('drip', ref);
    const drip = drips[0];
    const versions: { version: number; definition: DripDefinition; channels: ('email' | 'sms')[] }[] =
      await this.dataSource.query(
        `SELECT version, definition, channels FROM drip_version WHERE drip_id = $1 ORDER BY version`,
        [drip.id],
      );
    const listed = versions.find((v) => v.version === (options.version ?? drip.version));
    if (!listed) throw new NotFoundError('drip version', `${drip.code} v${options.version}`);

    const counters = await this.counters(drip.id);
    const current: { step_id: string | null; n: number }[] = await this.dataSource.query(
      `SELECT step_id, count(*)::int AS n FROM drip_enrollment WHERE drip_id = $1 AND state = 'active' GROUP BY step_id`,
      [drip.id],
    );
    const programs: { id: string; code: string }[] = await this.dataSource.query(
      `SELECT id, code FROM program WHERE managed_by = 'drip' AND managed_id = $1 ORDER BY created_at, id`,
      [drip.id],
    );
    const figures = await this.sendFigures(programs.map((p) => p.id));

    const firstStep = listed.definition.steps[0]?.id.toLowerCase();
    const currentAt = (step: string) =>
      current
        .filter((c) => (c.step_id ?? firstStep)?.toLowerCase() === step.toLowerCase())
        .reduce((s, c) => s + c.n, 0);
    const stepReport = (step: DripDefinition['steps'][number], retired: boolean) => {
      const c = counters.get(step.id.toLowerCase()) ?? new Map<string, number>();
      const exitReasons: Record<string, number> = {};
      for (const [metric, value] of c) if (metric.startsWith('exited:') && value) exitReasons[metric.slice(7)] = value;
      const f = step.type === 'send' ? figures.get(step.id.toLowerCase()) : undefined;
      const isSend = step.type === 'send';
      const delivered = f?.delivered ?? 0;
      const report: DripStepReport & { retired: boolean } = {
        id: step.id,
        type: step.type,
        summary: describeStep(step),
        entered: c.get('entered') ?? 0,
        current: retired ? 0 : currentAt(step.id),
        exited: Object.values(exitReasons).reduce((s, n) => s + n, 0),
        exitReasons,
        completed: c.get('completed') ?? 0,
        sent: isSend ? (f?.sent ?? 0) : null,
        delivered: isSend ? delivered : null,
        heldOut: isSend ? (f?.held_out ?? 0) : null,
        failed: isSend ? (f?.failed ?? 0) : null,
        opened: isSend ? (f?.opened ?? 0) : null,
        clicked: isSend ? (f?.clicked ?? 0) : null,
        converted: isSend ? (f?.converted ?? 0) : null,
        openRate: isSend && delivered ? Math.min(1, (f?.opened ?? 0) / delivered) : null,
        clickRate: isSend && delivered ? Math.min(1, (f?.clicked ?? 0) / delivered) : null,
        retired,
      };
      return report;
    };
    const listedIds = new Set(listed.definition.steps.map((s) => s.id.toLowerCase()));
    const steps = listed.definition.steps.map((s) => stepReport(s, false));
    // Steps of other versions that are not in the listed one but have figures (last definition wins).
    const retired = new Map<string, DripDefinition['steps'][number]>();
    for (const v of versions)
      for (const s of v.definition.steps) if (!listedIds.has(s.id.toLowerCase())) retired.set(s.id.toLowerCase(), s);
    for (const s of retired.values()) {
      const r = stepReport(s, true);
      if (r.entered || r.sent || r.exited || r.completed) steps.push(r);
    }

    const whole = counters.get('') ?? new Map<string, number>();
    const exitReasons: Record<string, number> = {};
    for (const [metric, value] of whole)
      if (metric.startsWith('exited:') && value) exitReasons[metric.slice(7)] = value;
    const enrolled = whole.get('enrolled') ?? 0;
    const completed = whole.get('completed') ?? 0;
    const exited = whole.get('exited') ?? 0;

    const mainCode = `drip:${drip.code}`.toLowerCase();
    const splits: DripSplitReport[] = [];
    let main: DripSplitReport | null = null;
    for (const p of programs) {
      const report = await this.reports.programReport(p.id, confidence);
      if (p.code.toLowerCase() === mainCode) {
        main = { step: 'main', program: p.code, report };
      } else {
        splits.push({ step: p.code.slice(mainCode.length + 1), program: p.code, report });
      }
    }
    return {
      drip: {
        id: drip.id,
        code: drip.code,
        name: drip.name,
        state: drip.state,
        version: listed.version,
        trigger: describeTrigger(listed.definition.trigger),
        channels: listed.channels,
        activatedAt: drip.activated_at ? new Date(drip.activated_at).toISOString() : null,
      },
      confidence,
      generatedAt: new Date().toISOString(),
      enrollments: { total: enrolled, active: enrolled - completed - exited, completed, exited, exitReasons },
      steps,
      splits,
      main,
    };
  }

  /** drip_counter by lower-cased step id ('' for the drip as a whole). */
  private async counters(dripId: string): Promise<Map<string, Map<string, number>>> {
    const rows: { step_id: string; metric: string; value: string }[] = await this.dataSource.query(
      `SELECT step_id, metric, value FROM drip_counter WHERE drip_id = $1`,
      [dripId],
    );
    const out = new Map<string, Map<string, number>>();
    for (const r of rows) {
      const key = r.step_id.toLowerCase();
      const m = out.get(key) ?? new Map<string, number>();
      m.set(r.metric, (m.get(r.metric) ?? 0) + Number(r.value));
      out.set(key, m);
    }
    return out;
  }

  /**
   * Per send step of the drip's programs, from history: sends by outcome, sends opened or clicked by a
   * person at least once, and customers with a conversion credited to one of the step's sends.
   */
  private async sendFigures(programIds: string[]): Promise<Map<string, StepFigures>> {
    const out = new Map<string, StepFigures>();
    if (!programIds.length) return out;
    const sends: { step_id: string; sent: number; delivered: number; held_out: number; failed: number }[] =
      await this.dataSource.query(
        `SELECT lower(step_id) AS step_id,
                count(*) FILTER (WHERE state = ANY($2))::int AS sent,
                count(*) FILTER (WHERE state IN ('sent', 'delivered'))::int AS delivered,
                count(*) FILTER (WHERE state = 'held_out')::int AS held_out,
                count(*) FILTER (WHERE state IN ('failed', 'bounced', 'suppressed'))::int AS failed
           FROM send WHERE program_id = ANY($1::uuid[]) AND origin_id IS NOT NULL
          GROUP BY lower(step_id)`,
        [programIds, CONTACTED],
      );
    const responses: { step_id: string; opened: number; clicked: number; converted: number }[] =
      await this.dataSource.query(
        `SELECT lower(s.step_id) AS step_id,
                count(DISTINCT s.id) FILTER (WHERE r.type = 'open' AND NOT r.machine)::int AS opened,
                count(DISTINCT s.id) FILTER (WHERE r.type = 'click' AND NOT r.machine)::int AS clicked,
                count(DISTINCT r.customer_id) FILTER (WHERE r.type = 'conversion')::int AS converted
           FROM response r JOIN send s ON s.id = r.send_id
          WHERE r.program_id = ANY($1::uuid[]) AND r.type IN ('open', 'click', 'conversion') AND s.origin_id IS NOT NULL
          GROUP BY lower(s.step_id)`,
        [programIds],
      );
    for (const s of sends) out.set(s.step_id, { ...s, opened: 0, clicked: 0, converted: 0 });
    for (const r of responses) {
      const f = out.get(r.step_id) ?? {
        sent: 0,
        delivered: 0,
        held_out: 0,
        failed: 0,
        opened: 0,
        clicked: 0,
        converted: 0,
      };
      out.set(r.step_id, { ...f, opened: r.opened, clicked: r.clicked, converted: r.converted });
    }
    return out;
  }
}
