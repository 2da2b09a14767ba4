import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DripDefinition, ReentryPolicy, RuleDefinition } from '@closeloop/core';
import { DataSource } from 'typeorm';

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

/** How long a process trusts what it read: a rule saved in another process applies within this. */
const TTL_MS = 1_000;

/**
 * The event listeners, read once a second at most (events come in bursts; rules and drips rarely
 * change). A write in this process invalidates at once.
 */
@Injectable()
export class AutomationListeners {
  private cached: { at: number; value: Promise<Listeners> } | null = null;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  invalidate(): void {
    this.cached = null;
  }

  get(): Promise<Listeners> {
    if (!this.cached || Date.now() - this.cached.at > TTL_MS) {
      const value = this.load();
      this.cached = { at: Date.now(), value };
      value.catch(() => (this.cached = null));
    }
    return this.cached.value;
  }

  private async load(): Promise<Listeners> {
    const rules: { id: string; code: string; event: string; definition: RuleDefinition; program_id: string | null }[] =
      await this.dataSource.query(
        `SELECT id, code, event, definition, program_id FROM rule WHERE state = 'active' ORDER BY created_at, id`,
      );
    const programIds = rules.map((r) => r.program_id).filter((id): id is string => !!id);
    const cells: { program_id: string; id: string; code: string; is_control: boolean; weight: string }[] =
      programIds.length
        ? await this.dataSource.query(
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
    }[] = await this.dataSource.query(
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
