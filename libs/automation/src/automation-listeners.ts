import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DripDefinition, ReentryPolicy, RuleDefinition } from '@closeloop/core';
import { DataSource, EntityManager } from 'typeorm';

export interface RuleListener {
  id: string;
  code: string;
  definition: RuleDefinition;
  /** The program measuring the rule's sends, and its cells (treatment, and the holdout when any). */
  programId: string | null;
  cells: { id: string; code: string; isControl: boolean; weight: number }[];
}

export interface DripListener {
  dripId: string;
  code: string;
  version: number;
  reentry: ReentryPolicy;
  condition: DripDefinition['trigger'] & { type: 'event' };
}

/** Who listens to which event types: active rules, event-triggered drips, and drips' exit rules. */
export interface Listeners {
  rules: Map<string, RuleListener[]>;
  drips: Map<string, DripListener[]>;
  /** type -> drips (and versions) whose enrollments an event of that type ends, with the reason. */
  exits: Map<string, { dripId: string; versions: number[]; reason: string }[]>;
  /** Whether an active drip is triggered by a segment (events may move customers in or out of it). */
  segmentDrips: boolean;
  types: Set<string>;
}

/** The `setting` row whose value every rule or drip write bumps in its own transaction. */
const STAMP = 'automation-listeners';

/**
 * The event listeners, loaded again only when a rule or a drip changed: every such write bumps a
 * stamp in its transaction, and each read compares the stamp (one primary-key lookup), so a rule
 * saved in one process applies to the next event in every other, with no delay and no polling.
 */
@Injectable()
export class AutomationListeners {
  private cached: { stamp: string; value: Promise<Listeners> } | null = null;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Marks the listeners changed, in the transaction of the write that changes them. */
  async bump(m: EntityManager, actor: string): Promise<void> {
    await m.query(
      `INSERT INTO setting (key, value, updated_by) VALUES ($1, '1'::jsonb, $2)
       ON CONFLICT (key) DO UPDATE SET value = to_jsonb((setting.value #>> '{}')::bigint + 1), updated_by = $2,
              updated_at = now()`,
      [STAMP, actor],
    );
    this.cached = null;
  }

  /** Inside a transaction, pass its manager: a second pool connection per request could exhaust the pool. */
  async get(m: EntityManager = this.dataSource.manager): Promise<Listeners> {
    const rows: { stamp: string }[] = await m.query(`SELECT value #>> '{}' AS stamp FROM setting WHERE key = $1`, [
      STAMP,
    ]);
    const stamp = rows[0]?.stamp ?? '0';
    if (!this.cached || this.cached.stamp !== stamp) {
      const value = this.load(m);
      this.cached = { stamp, value };
      value.catch(() => (this.cached = null));
    }
    return this.cached.value;
  }

  private async load(m: EntityManager): Promise<Listeners> {
    const rules: { id: string; code: string; event: string; definition: RuleDefinition; program_id: string | null }[] =
      await m.query(
        `SELECT id, code, event, definition, program_id FROM rule WHERE state = 'active' ORDER BY created_at, id`,
      );
    const programIds = rules.map((r) => r.program_id).filter((id): id is string => !!id);
    const cells: { program_id: string; id: string; code: string; is_control: boolean; weight: string }[] =
      programIds.length
        ? await m.query(
            `SELECT program_id, id, code, is_control, weight FROM cell WHERE program_id = ANY($1) ORDER BY position`,
            [programIds],
          )
        : [];
    const versions: {
      id: string;
      code: string;
      state: string;
      current: number;
      version: number;
      definition: DripDefinition;
    }[] = await m.query(
      `SELECT d.id, d.code, d.state, d.version AS current, v.version, v.definition
         FROM drip d JOIN drip_version v ON v.drip_id = d.id
        WHERE d.state IN ('active', 'paused') AND v.activated_at IS NOT NULL
        ORDER BY d.created_at, d.id, v.version`,
    );
    const out: Listeners = {
      rules: new Map(),
      drips: new Map(),
      exits: new Map(),
      segmentDrips: false,
      types: new Set(),
    };
    const push = <T>(map: Map<string, T[]>, key: string, value: T) => map.set(key, [...(map.get(key) ?? []), value]);
    for (const r of rules) {
      push(out.rules, r.event, {
        id: r.id,
        code: r.code,
        definition: r.definition,
        programId: r.program_id,
        cells: cells
          .filter((c) => c.program_id === r.program_id)
          .map((c) => ({ id: c.id, code: c.code, isControl: c.is_control, weight: Number(c.weight) })),
      });
    }
    const exits = new Map<string, { dripId: string; versions: number[]; reason: string }>();
    for (const v of versions) {
      const { trigger, exit, reentry } = v.definition;
      if (v.state === 'active' && v.version === v.current) {
        if (trigger.type === 'event') {
          push(out.drips, trigger.event, {
            dripId: v.id,
            code: v.code,
            version: v.version,
            reentry,
            condition: trigger,
          });
        }
        if (trigger.type === 'segment') out.segmentDrips = true;
      }
      const reasons: [string, string][] = exit.events.map((type) => [type, 'exit event']);
      if (exit.converted) reasons.push(['purchase', 'converted']);
      for (const [type, reason] of reasons) {
        const key = `${type}\u0000${v.id}\u0000${reason}`;
        const entry = exits.get(key) ?? { dripId: v.id, versions: [], reason };
        entry.versions.push(v.version);
        exits.set(key, entry);
      }
    }
    for (const [key, entry] of exits) push(out.exits, key.split('\u0000')[0], entry);
    for (const map of [out.rules, out.drips, out.exits]) for (const type of map.keys()) out.types.add(type);
    return out;
  }
}
