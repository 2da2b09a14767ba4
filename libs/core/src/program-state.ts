import { ConflictError, InvalidTransitionError } from './errors';

export const PROGRAM_STATES = ['draft', 'scheduled', 'running', 'paused', 'completed', 'cancelled'] as const;
export type ProgramState = (typeof PROGRAM_STATES)[number];

export const PROGRAM_ACTIONS = ['schedule', 'unschedule', 'launch', 'pause', 'resume', 'complete', 'cancel'] as const;
export type ProgramAction = (typeof PROGRAM_ACTIONS)[number];

/**
 * The program state machine. `launch` from `scheduled` is what the scheduler does at scheduledAt
 * (a marketer may also launch early). `complete` is reserved for the executor (delivery) once
 * every send is settled. `completed` and `cancelled` are terminal.
 */
export const PROGRAM_TRANSITIONS: Readonly<Record<ProgramState, Partial<Record<ProgramAction, ProgramState>>>> = {
  draft: { schedule: 'scheduled', launch: 'running', cancel: 'cancelled' },
  scheduled: { unschedule: 'draft', launch: 'running', cancel: 'cancelled' },
  running: { pause: 'paused', complete: 'completed', cancel: 'cancelled' },
  paused: { resume: 'running', cancel: 'cancelled' },
  completed: {},
  cancelled: {},
};

export function nextProgramState(from: ProgramState, action: ProgramAction): ProgramState {
  const to = PROGRAM_TRANSITIONS[from]?.[action];
  if (!to) throw new InvalidTransitionError('program', from, action);
  return to;
}

export const isTerminal = (state: ProgramState): boolean => Object.keys(PROGRAM_TRANSITIONS[state]).length === 0;

export interface ProgramEditPolicy {
  /** name, description, attributionWindowDays */
  details: boolean;
  /** channel, segment, template, offer, sample, seed */
  targeting: boolean;
  /** adding, changing or removing cells */
  cells: boolean;
  /** scheduledAt */
  schedule: boolean;
  deletable: boolean;
}

/**
 * The one place deciding what may change in which state. Cells and targeting freeze when the
 * program leaves draft: a scheduled program was checked at `schedule` and must launch as checked.
 */
export function programEditPolicy(state: ProgramState): ProgramEditPolicy {
  switch (state) {
    case 'draft':
      return { details: true, targeting: true, cells: true, schedule: true, deletable: true };
    case 'scheduled':
      return { details: true, targeting: false, cells: false, schedule: true, deletable: false };
    case 'running':
    case 'paused':
      return { details: true, targeting: false, cells: false, schedule: false, deletable: false };
    case 'completed':
    case 'cancelled':
      return { details: false, targeting: false, cells: false, schedule: false, deletable: false };
  }
}

export function assertEditable(
  state: ProgramState,
  what: Exclude<keyof ProgramEditPolicy, 'deletable'>,
  field: string,
): void {
  if (programEditPolicy(state)[what]) return;
  const where = PROGRAM_STATES.filter((s) => programEditPolicy(s)[what]);
  throw new ConflictError(
    `${field} cannot change while the program is ${state}` + (where.length ? ` (only in ${where.join(' or ')})` : ''),
  );
}
