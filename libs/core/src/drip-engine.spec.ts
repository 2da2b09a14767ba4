import { DripDefinition, validateDripDefinition } from './drip-definition';
import { AdvanceContext, advanceEnrollment, allocateArm, emptyFacts, EnrollmentFacts, positionOf } from './drip-engine';

const NOW = new Date('2026-03-10T10:00:00.000Z'); // a Tuesday

const drip = (steps: unknown[], extra: object = {}): DripDefinition =>
  validateDripDefinition({ trigger: { type: 'event', event: 'signup' }, steps, ...extra });

function context(facts: EnrollmentFacts = emptyFacts(), over: Partial<AdvanceContext> = {}): AdvanceContext {
  return {
    now: NOW,
    customerId: 'c-1',
    timeZone: 'Europe/Berlin',
    enteredAt: new Date('2026-03-09T10:00:00.000Z'),
    facts,
    splitKey: (step) => `program-of-${step}`,
    ...over,
  };
}

describe('advanceEnrollment', () => {
  const welcome = drip([
    { id: 'hello', type: 'send', template: 'HELLO' },
    { id: 'wait', type: 'wait', duration: 'P2D', until: { time: '09:00' } },
    { id: 'b', type: 'branch', if: { opened: { step: 'hello', within: 'P2D' } }, then: 'done', else: 'nudge' },
    { id: 'nudge', type: 'send', template: 'NUDGE' },
    { id: 'tag', type: 'update', set: { nudged: true } },
    { id: 'done', type: 'exit', reason: 'finished' },
  ]);

  it('sends, then stops at a wait with its end in the customer’s zone', () => {
    const r = advanceEnrollment(welcome, positionOf(welcome, null, false), context());
    expect(r.effects).toEqual([{ kind: 'send', step: 'hello', template: 'HELLO' }]);
    expect(r.entered).toEqual(['hello', 'wait']);
    // 2 days after 11:00 Berlin time, then the next 09:00 Berlin (08:00 UTC in winter).
    expect(r.end).toEqual({ kind: 'wait', dueAt: new Date('2026-03-13T08:00:00.000Z') });
    expect(r.position).toEqual({ index: 1, waiting: true });
  });

  it('asks for the facts a branch needs instead of guessing, then follows them', () => {
    const facts = emptyFacts();
    const first = advanceEnrollment(welcome, { index: 1, waiting: true }, context(facts));
    expect(first.end).toEqual({ kind: 'needs', requests: [{ kind: 'engagement', step: 'hello', type: 'open' }] });
    expect(first.entered).toEqual([]);
    expect(first.position).toEqual({ index: 2, waiting: false });

    facts.engagement.set('open:hello', {
      sentAt: new Date('2026-03-08T10:00:00.000Z'),
      firstAt: new Date('2026-03-09T10:00:00.000Z'),
    });
    const opened = advanceEnrollment(welcome, first.position, context(facts));
    expect(opened.entered).toEqual(['b', 'done']);
    expect(opened.effects).toEqual([]);
    expect(opened.end).toEqual({ kind: 'exited', step: 'done', reason: 'finished' });

    // Opened, but after the 2 days the condition allows: the else path.
    facts.engagement.set('open:hello', {
      sentAt: new Date('2026-03-08T10:00:00.000Z'),
      firstAt: new Date('2026-03-10T10:00:00.001Z'),
    });
    const late = advanceEnrollment(welcome, first.position, context(facts));
    expect(late.entered).toEqual(['b', 'nudge', 'tag', 'done']);
    expect(late.effects).toEqual([
      { kind: 'send', step: 'nudge', template: 'NUDGE' },
      { kind: 'update', step: 'tag', set: { nudged: true } },
    ]);

    // Never sent (or no open): the else path too.
    facts.engagement.set('open:hello', null);
    expect(advanceEnrollment(welcome, first.position, context(facts)).entered).toEqual(['b', 'nudge', 'tag', 'done']);
  });

  it('completes past the last step, and goes straight through a wait already over', () => {
    const short = drip([
      { id: 'w', type: 'wait', until: { time: '11:00' } },
      { id: 's', type: 'send', template: 'T' },
    ]);
    // 11:00 Berlin is 10:00 UTC: now.
    const r = advanceEnrollment(short, { index: 0, waiting: false }, context());
    expect(r.end).toEqual({ kind: 'completed', step: 's' });
    expect(r.entered).toEqual(['w', 's']);
  });

  it('combines conditions and asks for every missing fact at once', () => {
    const d = drip([
      { id: 's1', type: 'send', template: 'T' },
      {
        id: 'b',
        type: 'branch',
        if: {
          any: [
            { clicked: { step: 's1' } },
            { purchased: { within: 'P1D' } },
            { not: { criteria: { field: 'attributes.vip', op: 'eq', value: true } } },
          ],
        },
        then: 'yes',
        else: 'no',
      },
      { id: 'no', type: 'exit', reason: 'no' },
      { id: 'yes', type: 'exit', reason: 'yes' },
    ]);
    const facts = emptyFacts();
    const first = advanceEnrollment(d, { index: 1, waiting: false }, context(facts));
    expect(first.end).toMatchObject({
      kind: 'needs',
      requests: [
        { kind: 'engagement', step: 's1', type: 'click' },
        { kind: 'purchase' },
        { kind: 'criteria', key: 'b.if.any[2].not' },
      ],
    });
    facts.engagement.set('click:s1', { sentAt: NOW, firstAt: null });
    facts.purchase = new Date('2026-03-10T09:00:00.000Z'); // 23 h after entry: within P1D
    facts.criteria.set('b.if.any[2].not', true);
    expect(advanceEnrollment(d, first.position, context(facts)).end).toEqual({
      kind: 'exited',
      step: 'yes',
      reason: 'yes',
    });
    facts.purchase = new Date('2026-03-10T10:00:00.001Z'); // a day and a millisecond: too late
    expect(advanceEnrollment(d, first.position, context(facts)).end).toEqual({
      kind: 'exited',
      step: 'no',
      reason: 'no',
    });
  });

  it('assigns a split arm once, keeps an arm already given, and jumps where the arm says', () => {
    const d = drip([
      {
        id: 'ab',
        type: 'split',
        cells: [
          { code: 'A', weight: 50, next: 'sa' },
          { code: 'B', weight: 50 },
        ],
      },
      { id: 'sb', type: 'send', template: 'TB' },
      { id: 'xb', type: 'exit' },
      { id: 'sa', type: 'send', template: 'TA' },
    ]);
    const facts = emptyFacts();
    const first = advanceEnrollment(d, { index: 0, waiting: false }, context(facts));
    expect(first.end).toEqual({ kind: 'needs', requests: [{ kind: 'arm', split: 'ab' }] });
    facts.arms.set('ab', 'A');
    const kept = advanceEnrollment(d, first.position, context(facts));
    expect(
      kept.effects.map((e) => e.kind + ':' + ('arm' in e ? e.arm.code : 'template' in e ? e.template : '')),
    ).toEqual(['assign:A', 'send:TA']);
    expect(kept.end).toEqual({ kind: 'completed', step: 'sa' });
    facts.arms.set('ab', 'B');
    const b = advanceEnrollment(d, first.position, context(facts));
    expect(b.entered).toEqual(['ab', 'sb', 'xb']);
  });
});

describe('allocateArm', () => {
  const arms = validateDripDefinition({
    trigger: { type: 'event', event: 'x' },
    steps: [
      {
        id: 's',
        type: 'split',
        cells: [
          { code: 'A', weight: 45 },
          { code: 'B', weight: 45 },
          { code: 'H', weight: 10, isControl: true },
        ],
      },
    ],
  }).steps[0] as { cells: Parameters<typeof allocateArm>[0] };

  it('is stable for a customer, and fills arms in proportion to their weights', () => {
    expect(allocateArm(arms.cells, 'k', 1, 'customer-42').code).toBe(
      allocateArm(arms.cells, 'k', 1, 'customer-42').code,
    );
    const counts = new Map<string, number>();
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      const code = allocateArm(arms.cells, 'split-program', 7, `c-${i}`).code;
      counts.set(code, (counts.get(code) ?? 0) + 1);
    }
    // Binomial standard deviations at n = 20,000: about 70 for 45%, 42 for 10%; 5 of them is generous.
    expect(Math.abs(counts.get('A')! - 9000)).toBeLessThan(352);
    expect(Math.abs(counts.get('B')! - 9000)).toBeLessThan(352);
    expect(Math.abs(counts.get('H')! - 2000)).toBeLessThan(212);
  });

  it('depends on the key and the seed: another split or seed reshuffles', () => {
    const same = Array.from({ length: 200 }, (_, i) => allocateArm(arms.cells, 'k', 1, `c-${i}`).code);
    const reseeded = Array.from({ length: 200 }, (_, i) => allocateArm(arms.cells, 'k', 2, `c-${i}`).code);
    const rekeyed = Array.from({ length: 200 }, (_, i) => allocateArm(arms.cells, 'other', 1, `c-${i}`).code);
    const differ = (a: string[], b: string[]) => a.filter((x, i) => x !== b[i]).length;
    expect(differ(same, reseeded)).toBeGreaterThan(50);
    expect(differ(same, rekeyed)).toBeGreaterThan(50);
  });
});
