import { validateRuleDefinition } from './business-rule';
import { describeStep, nextDripState, validateDripDefinition } from './drip-definition';
import { ValidationError } from './errors';

const event = { type: 'event', event: 'signup' };

function errorOf(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ValidationError) return e;
    throw e;
  }
  throw new Error('no error');
}

describe('validateDripDefinition', () => {
  it('normalises a drip: canonical durations, defaults for exit and re-entry', () => {
    const d = validateDripDefinition({
      trigger: { type: 'date', field: 'birthDate' },
      steps: [
        { id: 'w', type: 'wait', duration: 'PT48H', until: { time: '09:30', weekdays: ['fri', 'mon'] } },
        { id: 's', type: 'send', template: 'HB' },
      ],
    });
    expect(d.trigger).toEqual({ type: 'date', field: 'birthDate', offsetDays: 0, at: '09:00', recurrence: 'yearly' });
    expect(d.steps[0]).toEqual({
      id: 'w',
      type: 'wait',
      duration: 'PT48H',
      until: { time: '09:30', weekdays: ['mon', 'fri'] },
    });
    expect(d.exit).toEqual({ unsubscribed: true, converted: false, leftSegment: false, events: [] });
    expect(d.reentry).toBe('after-exit');
    expect(
      validateDripDefinition({
        trigger: { type: 'date', field: 'attributes.renewal' },
        steps: [{ id: 'x', type: 'exit' }],
      }).trigger,
    ).toMatchObject({ recurrence: 'once' });
  });

  it.each<[string, unknown, string, string]>([
    ['no steps', [], 'steps', 'steps must be a non-empty array'],
    ['an unknown step type', [{ id: 'a', type: 'jump' }], 'steps[0].type', 'steps[0] (jump "a").type must be one of'],
    ['a bad id', [{ id: 'a b', type: 'exit' }], 'steps[0].id', 'steps[0].id must be 1 to 40 letters'],
    [
      'a repeated id',
      [
        { id: 'a', type: 'exit' },
        { id: 'A', type: 'exit' },
      ],
      'steps[1].id',
      'steps[1] (exit "A") repeats the id of steps[0]',
    ],
    [
      'a wait of negative length',
      [{ id: 'w', type: 'wait', duration: 'P-1D' }],
      'steps[0].duration',
      'must not be negative',
    ],
    ['a wait without length', [{ id: 'w', type: 'wait' }], 'steps[0].duration', 'steps[0] (wait "w") needs a duration'],
    [
      'a send without template',
      [{ id: 's', type: 'send' }],
      'steps[0].template',
      'steps[0] (send "s") needs a template',
    ],
    [
      'a branch with no path',
      [
        { id: 'b', type: 'branch', if: { purchased: true }, else: 'x' },
        { id: 'x', type: 'exit' },
      ],
      'steps[0].then',
      'steps[0] (branch "b") has no then path',
    ],
    [
      'a branch to nowhere',
      [{ id: 'b', type: 'branch', if: { purchased: true }, then: 'nope', else: 'nope' }],
      'steps[0].then',
      'steps[0] (branch "b").then "nope" is not a step of this drip',
    ],
    [
      'a branch on a later send',
      [
        { id: 'b', type: 'branch', if: { clicked: { step: 's' } }, then: 's', else: 's' },
        { id: 's', type: 'send', template: 'T' },
      ],
      'steps[0].if.clicked.step',
      'steps[0] (branch "b").if.clicked.step "s" is not a send step before this branch',
    ],
    [
      'a condition that is not one',
      [
        { id: 'b', type: 'branch', if: { all: [{ bought: true }] }, then: 'x', else: 'x' },
        { id: 'x', type: 'exit' },
      ],
      'steps[0].if.all[0].bought',
      'steps[0] (branch "b").if.all[0].bought is not a condition',
    ],
    [
      'split weights off 100',
      [
        {
          id: 'ab',
          type: 'split',
          cells: [
            { code: 'A', weight: 60 },
            { code: 'B', weight: 60 },
          ],
        },
      ],
      'steps[0].cells',
      'cell weights sum to 120, not 100',
    ],
    [
      'a split of controls only',
      [
        {
          id: 'ab',
          type: 'split',
          cells: [
            { code: 'A', weight: 50, isControl: true },
            { code: 'B', weight: 50, isControl: true },
          ],
        },
      ],
      'steps[0].cells',
      'every cell is a control',
    ],
    [
      'an arm code used twice in a drip',
      [
        {
          id: 'ab',
          type: 'split',
          cells: [
            { code: 'A', weight: 50 },
            { code: 'B', weight: 50 },
          ],
        },
        {
          id: 'cd',
          type: 'split',
          cells: [
            { code: 'a', weight: 50 },
            { code: 'C', weight: 50 },
          ],
        },
      ],
      'steps[1].cells[0].code',
      'steps[1] (split "cd").cells[0].code "a" is used by steps[0] (split "ab").cells[0] too',
    ],
    ['an update of nothing', [{ id: 'u', type: 'update', set: {} }], 'steps[0].set', 'must be an object of 1 to 50'],
    [
      'an unknown field on a step',
      [{ id: 'x', type: 'exit', after: 'P1D' }],
      'steps[0].after',
      '"after" is not allowed',
    ],
  ])('refuses %s, naming the step', (_, steps, field, message) => {
    const e = errorOf(() => validateDripDefinition({ trigger: event, steps }));
    expect(e.field).toBe(field);
    expect(e.message).toContain(message);
  });

  it.each<[string, unknown, string]>([
    ['no trigger type', { event: 'x' }, 'trigger.type'],
    ['an event name with spaces', { type: 'event', event: 'Sign Up' }, 'trigger.event'],
    [
      'a condition on an unknown field',
      { type: 'event', event: 'x', if: { field: 'shoeSize', op: 'eq', value: 1 } },
      'trigger.if.field',
    ],
    ['a date field we do not know', { type: 'date', field: 'anniversary' }, 'trigger.field'],
    ['a time that is not one', { type: 'date', field: 'birthDate', at: '25:00' }, 'trigger.at'],
    ['an offset past a year', { type: 'date', field: 'birthDate', offsetDays: 400 }, 'trigger.offsetDays'],
  ])('refuses a trigger with %s', (_, trigger, field) => {
    expect(errorOf(() => validateDripDefinition({ trigger, steps: [{ id: 'x', type: 'exit' }] })).field).toBe(field);
  });

  it('lets trigger conditions test event properties', () => {
    const d = validateDripDefinition({
      trigger: { type: 'event', event: 'purchase', if: { field: 'event.amount', op: 'gte', value: 100 } },
      steps: [{ id: 'x', type: 'exit' }],
    });
    expect(d.trigger).toEqual({
      type: 'event',
      event: 'purchase',
      if: { field: 'event.amount', op: 'gte', value: 100 },
    });
  });

  it('describes steps in a line', () => {
    const d = validateDripDefinition({
      trigger: event,
      steps: [
        { id: 'w', type: 'wait', duration: 'P1D', until: { time: '09:00', weekdays: ['mon'] } },
        {
          id: 's',
          type: 'split',
          cells: [
            { code: 'A', weight: 90 },
            { code: 'H', weight: 10, isControl: true },
          ],
        },
      ],
    });
    expect(d.steps.map(describeStep)).toEqual(['wait P1D until 09:00 mon', 'split A 90%, H 10% (holdout)']);
  });
});

describe('drip states', () => {
  it('activates, pauses, resumes and archives; archived is the end', () => {
    expect(nextDripState('draft', 'activate')).toBe('active');
    expect(nextDripState('active', 'pause')).toBe('paused');
    expect(nextDripState('paused', 'activate')).toBe('active');
    expect(nextDripState('paused', 'archive')).toBe('archived');
    expect(() => nextDripState('draft', 'pause')).toThrow('drip cannot pause from state draft');
    expect(() => nextDripState('archived', 'activate')).toThrow('drip cannot activate from state archived');
  });
});

describe('validateRuleDefinition', () => {
  it('normalises a rule', () => {
    expect(
      validateRuleDefinition({
        event: 'purchase',
        if: { field: 'event.total', op: 'gt', value: 100 },
        actions: [{ type: 'suppress' }, { type: 'send', template: 'T' }],
        holdoutPercent: 10,
      }),
    ).toEqual({
      event: 'purchase',
      if: { field: 'event.total', op: 'gt', value: 100 },
      actions: [
        { type: 'suppress', channel: 'all' },
        { type: 'send', template: 'T' },
      ],
      holdoutPercent: 10,
    });
  });

  it.each<[string, object, string]>([
    ['no actions', { event: 'x', actions: [] }, 'actions'],
    ['an unknown action', { event: 'x', actions: [{ type: 'call' }] }, 'actions[0].type'],
    ['a bad attribute', { event: 'x', actions: [{ type: 'update', set: { 'a-b': 1 } }] }, 'actions[0].set.a-b'],
    ['a bad channel', { event: 'x', actions: [{ type: 'suppress', channel: 'fax' }] }, 'actions[0].channel'],
    [
      'a holdout over half',
      { event: 'x', actions: [{ type: 'send', template: 'T' }], holdoutPercent: 60 },
      'holdoutPercent',
    ],
    ['an extra field', { event: 'x', actions: [{ type: 'enroll', drip: 'D', now: true }] }, 'actions[0].now'],
  ])('refuses %s, naming the action', (_, input, field) => {
    expect(errorOf(() => validateRuleDefinition(input)).field).toBe(field);
  });
});
