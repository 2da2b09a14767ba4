import { InvalidTransitionError } from './errors';
import {
  assertEditable,
  isTerminal,
  nextProgramState,
  PROGRAM_ACTIONS,
  PROGRAM_STATES,
  programEditPolicy,
  ProgramAction,
  ProgramState,
} from './program-state';

// The legal moves, written out independently of PROGRAM_TRANSITIONS.
const LEGAL: Record<string, ProgramState> = {
  'draft schedule': 'scheduled',
  'draft launch': 'running',
  'draft cancel': 'cancelled',
  'scheduled unschedule': 'draft',
  'scheduled launch': 'running',
  'scheduled cancel': 'cancelled',
  'running pause': 'paused',
  'running complete': 'completed',
  'running cancel': 'cancelled',
  'paused resume': 'running',
  'paused cancel': 'cancelled',
};

describe('program state machine', () => {
  const pairs = PROGRAM_STATES.flatMap((from) => PROGRAM_ACTIONS.map((action) => [from, action] as const));

  it('covers all 42 (state, action) pairs', () => {
    expect(pairs).toHaveLength(42);
  });

  it.each(pairs.filter(([f, a]) => LEGAL[`${f} ${a}`]))('%s -%s-> legal', (from, action) => {
    expect(nextProgramState(from, action)).toBe(LEGAL[`${from} ${action}`]);
  });

  it.each(pairs.filter(([f, a]) => !LEGAL[`${f} ${a}`]))('%s -%s-> refused naming both', (from, action) => {
    let error: unknown;
    try {
      nextProgramState(from as ProgramState, action as ProgramAction);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidTransitionError);
    const e = error as InvalidTransitionError;
    expect(e.kind).toBe('conflict');
    expect(e.message).toBe(`program cannot ${action} from state ${from}`);
    expect([e.from, e.action]).toEqual([from, action]);
  });

  it('knows the terminal states', () => {
    expect(PROGRAM_STATES.filter(isTerminal)).toEqual(['completed', 'cancelled']);
  });
});

describe('program edit policy', () => {
  it('lets a draft change everything and be deleted', () => {
    expect(programEditPolicy('draft')).toEqual({
      details: true,
      targeting: true,
      cells: true,
      schedule: true,
      deletable: true,
    });
  });

  it('freezes cells and targeting once the program leaves draft', () => {
    for (const state of ['scheduled', 'running', 'paused', 'completed', 'cancelled'] as const) {
      expect(programEditPolicy(state)).toMatchObject({ cells: false, targeting: false, deletable: false });
    }
    expect(programEditPolicy('scheduled').schedule).toBe(true);
    expect(programEditPolicy('running').schedule).toBe(false);
    expect(programEditPolicy('paused').details).toBe(true);
    expect(programEditPolicy('completed').details).toBe(false);
  });

  it('explains a refused edit with the field, the state and where it is allowed', () => {
    expect(() => assertEditable('scheduled', 'cells', 'cells')).toThrow(
      'cells cannot change while the program is scheduled (only in draft)',
    );
    expect(() => assertEditable('cancelled', 'details', 'name')).toThrow(
      'name cannot change while the program is cancelled (only in draft or scheduled or running or paused)',
    );
    expect(() => assertEditable('draft', 'cells', 'cells')).not.toThrow();
  });
});
