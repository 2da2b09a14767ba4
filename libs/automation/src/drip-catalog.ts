import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DripDefinition, DripState, NotFoundError } from '@closeloop/core';
import { DataSource, EntityManager } from 'typeorm';

/** A template a version sends, as pinned when the version was activated. */
export interface PinnedTemplate {
  version: number;
  channel: 'email' | 'sms';
}

export interface MeasuredCell {
  id: string;
  code: string;
  responseCode: string;
  isControl: boolean;
}

/** What the engine needs of one activated drip version: frozen, so it is cached for good. */
export interface RunnableVersion {
  dripId: string;
  code: string;
  version: number;
  definition: DripDefinition;
  /** By lower-cased template code. */
  pins: Record<string, PinnedTemplate>;
  channels: ('email' | 'sms')[];
  /** The drip's own program and cell: what is sent before any split is measured here. */
  main: { programId: string; cell: MeasuredCell };
  /** By lower-cased split step id: the split's program and its arms by lower-cased code. */
  splits: Map<string, { programId: string; arms: Map<string, MeasuredCell> }>;
}

/** The measurement program codes automation keeps for a drip (codes with ':' can never be a user's). */
export const mainProgramCode = (dripCode: string) => `drip:${dripCode}`;
export const splitProgramCode = (dripCode: string, stepId: string) => `drip:${dripCode}:${stepId}`;

/**
 * Activated drip versions, loaded once per process: a version never changes after its first
 * activation (edits make a new version), so the cache needs no invalidation.
 */
@Injectable()
export class DripCatalog {
  private readonly versions = new Map<string, Promise<RunnableVersion>>();

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Inside a transaction, pass its manager (no second pool connection while it is open). */
  version(dripId: string, version: number, m: EntityManager = this.dataSource.manager): Promise<RunnableVersion> {
    const key = `${dripId}:${version}`;
    let found = this.versions.get(key);
    if (!found) {
      found = this.load(m, dripId, version);
      this.versions.set(key, found);
      found.catch(() => this.versions.delete(key));
    }
    return found;
  }

  /** The drips whose enrollments may advance now. */
  async activeDrips(): Promise<{ id: string; code: string; version: number; state: DripState }[]> {
    return this.dataSource.query(`SELECT id, code, version, state FROM drip WHERE state = 'active' ORDER BY id`);
  }

  private async load(m: EntityManager, dripId: string, version: number): Promise<RunnableVersion> {
    const rows: {
      code: string;
      definition: DripDefinition;
      template_pins: Record<string, PinnedTemplate> | null;
      channels: ('email' | 'sms')[];
      activated_at: Date | null;
    }[] = await m.query(
      `SELECT d.code, v.definition, v.template_pins, v.channels, v.activated_at
         FROM drip d JOIN drip_version v ON v.drip_id = d.id WHERE d.id = $1 AND v.version = $2`,
      [dripId, version],
    );
    if (!rows.length) throw new NotFoundError('drip version', `${dripId} v${version}`);
    const row = rows[0];
    if (!row.activated_at) throw new Error(`drip ${row.code} version ${version} was never activated`);
    const cells: {
      program_id: string;
      program_code: string;
      id: string;
      code: string;
      response_code: string;
      is_control: boolean;
    }[] = await m.query(
      `SELECT p.id AS program_id, p.code AS program_code, c.id, c.code, c.response_code, c.is_control
         FROM program p JOIN cell c ON c.program_id = p.id
        WHERE p.managed_by = 'drip' AND p.managed_id = $1 ORDER BY c.position`,
      [dripId],
    );
    const byProgram = new Map<string, { programId: string; arms: Map<string, MeasuredCell> }>();
    for (const c of cells) {
      const key = c.program_code.toLowerCase();
      const entry = byProgram.get(key) ?? { programId: c.program_id, arms: new Map<string, MeasuredCell>() };
      entry.arms.set(c.code.toLowerCase(), {
        id: c.id,
        code: c.code,
        responseCode: c.response_code,
        isControl: c.is_control,
      });
      byProgram.set(key, entry);
    }
    const main = byProgram.get(mainProgramCode(row.code).toLowerCase());
    if (!main || main.arms.size !== 1) throw new Error(`drip ${row.code} has no measurement program`);
    const splits = new Map<string, { programId: string; arms: Map<string, MeasuredCell> }>();
    for (const step of row.definition.steps) {
      if (step.type !== 'split') continue;
      const program = byProgram.get(splitProgramCode(row.code, step.id).toLowerCase());
      if (!program) throw new Error(`drip ${row.code} has no program for split ${step.id}`);
      splits.set(step.id.toLowerCase(), program);
    }
    return {
      dripId,
      code: row.code,
      version,
      definition: row.definition,
      pins: row.template_pins ?? {},
      channels: row.channels,
      main: { programId: main.programId, cell: [...main.arms.values()][0] },
      splits,
    };
  }
}
