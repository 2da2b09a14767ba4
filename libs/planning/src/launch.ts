import type { EntityManager } from 'typeorm';
import { Actor, ProgramAction } from '@closeloop/core';
import { ProgramView } from './dto/program.dto';

/** What a listener may check before a program is scheduled or launched. */
export interface LaunchCandidate {
  id: string;
  code: string;
  channel: string;
  segmentCode: string | null;
  templateCode: string | null;
}

/**
 * The seam between planning and what runs a program (the delivery lib registers one). Planning
 * changes the program's state and then tells every listener, after the change has committed;
 * `assertLaunchable` runs inside the schedule or launch transaction, so a listener can refuse a
 * program that could never be sent (no template, say) with a typed error before anything changes.
 */
export interface ProgramStateListener {
  assertLaunchable?(program: LaunchCandidate, cellTemplates: (string | null)[], manager: EntityManager): Promise<void>;
  onProgramStateChanged(program: ProgramView, action: ProgramAction, actor: Actor): Promise<void>;
}

export const PROGRAM_STATE_LISTENERS = Symbol('PROGRAM_STATE_LISTENERS');

export const CLOCK = Symbol('CLOCK');
