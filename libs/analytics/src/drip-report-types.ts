import type { ProgramReport } from './report-types';

/**
 * The drip report (`GET /v1/drips/:id/report`): how many enrollments reached each step and what
 * they did there, and for each split the same statistics as a program report (its arms are the
 * cells of a program that automation keeps for it, its holdout the control).
 *
 * Counting rules: `entered`, `exited` and `completed` count enrollments (a customer who entered the
 * drip twice counts twice); `sent`, `delivered` and `heldOut` count the step's sends (one per
 * enrollment that reached it); `opened` and `clicked` count the step's sends with at least one
 * open or click by a person (machine activity left out); `converted` counts customers with a
 * conversion attributed to one of the step's sends (last touch).
 */
export interface DripStepReport {
  /** The step's id, as written in the drip. */
  id: string;
  type: 'wait' | 'send' | 'branch' | 'split' | 'update' | 'exit';
  /** One line saying what the step does (e.g. `wait P2D`, `send WELCOME-1 (email)`). */
  summary: string;
  /** Enrollments that reached the step (every version that has it). */
  entered: number;
  /** Active enrollments at the step now (waiting, or due). */
  current: number;
  /** Enrollments that left the drip at this step, by reason (`unsubscribed`, `converted`, `exit step`, ...). */
  exited: number;
  exitReasons: Record<string, number>;
  /** Enrollments that ran past the last step from here (ends the drip normally). */
  completed: number;
  /** Send steps only (null otherwise). */
  sent: number | null;
  delivered: number | null;
  heldOut: number | null;
  failed: number | null;
  opened: number | null;
  clicked: number | null;
  converted: number | null;
  /** Per delivered message, people only; null when nothing was delivered or not a send step. */
  openRate: number | null;
  clickRate: number | null;
}

export interface DripSplitReport {
  /** The split step's id. */
  step: string;
  /** The program automation keeps for the split (its code, e.g. `drip:WELCOME:split`). */
  program: string;
  report: ProgramReport;
}

export interface DripReport {
  drip: {
    id: string;
    code: string;
    name: string;
    state: string;
    /** The version whose steps are listed. */
    version: number;
    trigger: string;
    channels: ('email' | 'sms')[];
    activatedAt: string | null;
  };
  confidence: number;
  generatedAt: string;
  enrollments: {
    total: number;
    active: number;
    completed: number;
    exited: number;
    exitReasons: Record<string, number>;
  };
  /** The listed version's steps in order, then steps of earlier versions that still have figures. */
  steps: (DripStepReport & { retired: boolean })[];
  splits: DripSplitReport[];
  /** The measurement of everything sent outside any split (the drip's own program). */
  main: DripSplitReport | null;
}
