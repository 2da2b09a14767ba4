import { createHash } from 'node:crypto';
import { BranchCondition, BranchLeaf, DripDefinition, DripStep, SplitArm } from './drip-definition';
import { addDuration, nextLocalTime, parseIsoDuration, waitEnd } from './drip-time';

/**
 * How one enrollment moves through a drip: pure, so the worker, the tests and the benchmark run the
 * same rules. The worker claims due enrollments in batches; for each it calls `advanceEnrollment`,
 * which runs steps until the enrollment waits, ends, or needs a fact only the database knows (did it
 * open step s1's message? which arm is it in?). The worker fetches those facts for the whole batch
 * in one query per kind and calls again from where it stopped. Nothing here is written: the effects
 * (sends, arm assignments, attribute updates) are applied by the caller in the batch's transaction.
 */
export interface EnrollmentPosition {
  /** Index of the current step; steps.length once past the last one. */
  index: number;
  /** At a wait step whose end (the enrollment's due time) has been set. */
  waiting: boolean;
}

/** What the engine may ask of the database, per enrollment. */
export type FactRequest =
  | { kind: 'engagement'; step: string; type: 'open' | 'click' }
  | { kind: 'purchase' }
  | { kind: 'criteria'; key: string; criteria: import('./segment-criteria').CriteriaNode }
  | { kind: 'arm'; split: string };

export interface EnrollmentFacts {
  /** The step's send: when it went out (null: not yet, or never) and the first open/click by a person. */
  engagement: Map<string, { sentAt: Date | null; firstAt: Date | null } | null>;
  /** The first purchase at or after entry; null: none. Undefined until fetched. */
  purchase?: Date | null;
  criteria: Map<string, boolean>;
  /** The arm (cell code) this customer already has in a split; null: none yet. */
  arms: Map<string, string | null>;
}

export const emptyFacts = (): EnrollmentFacts => ({
  engagement: new Map(),
  criteria: new Map(),
  arms: new Map(),
});

export type StepEffect =
  | { kind: 'send'; step: string; template: string }
  | { kind: 'assign'; step: string; arm: SplitArm }
  | { kind: 'update'; step: string; set: Record<string, string | number | boolean | null> };

export type AdvanceEnd =
  | { kind: 'wait'; dueAt: Date }
  | { kind: 'needs'; requests: FactRequest[] }
  | { kind: 'exited'; step: string; reason: string }
  | { kind: 'completed'; step: string | null };

export interface Advance {
  position: EnrollmentPosition;
  effects: StepEffect[];
  /** Steps entered during this call, in order (for the per-step counters). */
  entered: string[];
  end: AdvanceEnd;
}

export interface AdvanceContext {
  now: Date;
  customerId: string;
  timeZone: string | null;
  enteredAt: Date;
  facts: EnrollmentFacts;
  /** Per split: the key its arm allocation is hashed with (stable across versions: the split's program id). */
  splitKey(step: string): string;
  /** In a holdout already (an earlier split put it in a control cell): later splits leave it there. */
  heldOut?: boolean;
  /** When the current wait was due (the enrollment's due time), if it is waiting. */
  dueAt?: Date | null;
}

/** How engagement facts are keyed: `open:<step id, lower-cased>`. */
export const engagementKey = (step: string, type: 'open' | 'click') => `${type}:${step.toLowerCase()}`;

/** A condition leaf's key for criteria facts: the branch id and the leaf's position in its tree. */
export function criteriaLeaves(step: DripStep): { key: string; criteria: import('./segment-criteria').CriteriaNode }[] {
  if (step.type !== 'branch') return [];
  const out: { key: string; criteria: import('./segment-criteria').CriteriaNode }[] = [];
  const walk = (c: BranchCondition, path: string) => {
    if ('all' in c) c.all.forEach((n, i) => walk(n, `${path}.all[${i}]`));
    else if ('any' in c) c.any.forEach((n, i) => walk(n, `${path}.any[${i}]`));
    else if ('not' in c) walk(c.not, `${path}.not`);
    else if ('criteria' in c) out.push({ key: path, criteria: c.criteria });
  };
  walk(step.if, `${step.id}.if`);
  return out;
}

/**
 * Evaluates a branch condition. Returns the requests for facts not fetched yet instead of a guess:
 * every leaf is asked for at once, so one round of queries answers the whole condition.
 */
export function evaluateCondition(
  condition: BranchCondition,
  path: string,
  ctx: AdvanceContext,
): { value: boolean } | { needs: FactRequest[] } {
  const needs: FactRequest[] = [];
  const visit = (c: BranchCondition, at: string): boolean => {
    if ('all' in c) return c.all.map((n, i) => visit(n, `${at}.all[${i}]`)).every(Boolean);
    if ('any' in c) return c.any.map((n, i) => visit(n, `${at}.any[${i}]`)).some(Boolean);
    if ('not' in c) return !visit(c.not, `${at}.not`);
    return leaf(c, at);
  };
  const leaf = (c: BranchLeaf, at: string): boolean => {
    if ('opened' in c || 'clicked' in c) {
      const type = 'opened' in c ? 'open' : 'click';
      const step = 'opened' in c ? c.opened : c.clicked;
      const within = c.within;
      const key = engagementKey(step, type);
      if (!ctx.facts.engagement.has(key)) {
        needs.push({ kind: 'engagement', step, type });
        return false;
      }
      const e = ctx.facts.engagement.get(key);
      if (!e?.firstAt) return false;
      if (!within || !e.sentAt) return true;
      return e.firstAt.getTime() <= addDuration(e.sentAt, parseIsoDuration(within, 'within'), ctx.timeZone).getTime();
    }
    if ('purchased' in c) {
      if (ctx.facts.purchase === undefined) {
        needs.push({ kind: 'purchase' });
        return false;
      }
      const at = ctx.facts.purchase;
      if (!at) return false;
      const within = c.purchased.within;
      if (!within) return true;
      return at.getTime() <= addDuration(ctx.enteredAt, parseIsoDuration(within, 'within'), ctx.timeZone).getTime();
    }
    const known = ctx.facts.criteria.get(at);
    if (known === undefined) {
      needs.push({ kind: 'criteria', key: at, criteria: c.criteria });
      return false;
    }
    return known;
  };
  const value = visit(condition, path);
  return needs.length ? { needs: dedupe(needs) } : { value };
}

function dedupe(requests: FactRequest[]): FactRequest[] {
  const seen = new Set<string>();
  return requests.filter((r) => {
    const key = JSON.stringify(r.kind === 'criteria' ? { kind: r.kind, key: r.key } : r);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * A customer's place in [0, 1) for a keyed draw: a keyed hash of (key, seed, customer id), so the same
 * customer draws the same on every worker and every rerun, and draws are uniform over customers.
 */
export function hashShare(key: string, seed: number | null, customerId: string): number {
  const digest = createHash('sha256')
    .update(`${key}:${seed ?? 0}:${customerId}`)
    .digest();
  // 48 bits: uniform enough, and exact in a double.
  return digest.readUIntBE(0, 6) / 2 ** 48;
}

/**
 * The arm of a split for a customer seen there for the first time: their hash share mapped onto the
 * cumulative weights, so arms fill in proportion to their weights.
 */
export function allocateArm(arms: readonly SplitArm[], key: string, seed: number | null, customerId: string): SplitArm {
  const u = hashShare(key, seed, customerId);
  const total = arms.reduce((s, a) => s + a.weight, 0);
  let running = 0;
  for (const arm of arms) {
    running += arm.weight / total;
    if (u < running) return arm;
  }
  return arms[arms.length - 1];
}

/**
 * A wait with an `until` that is claimed this late (the drip was paused, workers were down) waits for
 * its next window rather than sending at whatever hour it is now.
 */
export const LATE_WAIT_MS = 3_600_000;

/** Runs steps from `position` until the enrollment waits, ends, or needs facts. */
export function advanceEnrollment(def: DripDefinition, position: EnrollmentPosition, ctx: AdvanceContext): Advance {
  const steps = def.steps;
  const indexOf = new Map(steps.map((s, i) => [s.id.toLowerCase(), i]));
  const jump = (id: string) => indexOf.get(id.toLowerCase())!;
  const effects: StepEffect[] = [];
  const entered: string[] = [];
  let { index, waiting } = position;
  let heldOut = ctx.heldOut ?? false;
  // Jumps only go forward (checked when the drip is saved), so this ends within steps.length rounds.
  for (let guard = 0; guard <= steps.length; guard++) {
    if (index >= steps.length) {
      return { position: { index, waiting: false }, effects, entered, end: { kind: 'completed', step: last(steps) } };
    }
    const step = steps[index];
    if (step.type === 'wait') {
      if (waiting) {
        // Claimed because its end has come; claimed much later than that, an `until` waits for its next window.
        const late = ctx.dueAt ? ctx.now.getTime() - ctx.dueAt.getTime() : 0;
        if (step.until && late > LATE_WAIT_MS) {
          const dueAt = nextLocalTime(ctx.now, step.until, ctx.timeZone);
          if (dueAt.getTime() > ctx.now.getTime()) {
            return { position: { index, waiting: true }, effects, entered, end: { kind: 'wait', dueAt } };
          }
        }
        index++;
        waiting = false;
        continue;
      }
      entered.push(step.id);
      const dueAt = waitEnd(
        ctx.now,
        {
          duration: step.duration ? parseIsoDuration(step.duration, 'duration') : undefined,
          until: step.until ?? undefined,
        },
        ctx.timeZone,
      );
      if (dueAt.getTime() > ctx.now.getTime()) {
        return { position: { index, waiting: true }, effects, entered, end: { kind: 'wait', dueAt } };
      }
      index++;
      continue;
    }
    if (step.type === 'branch') {
      const result = evaluateCondition(step.if, `${step.id}.if`, ctx);
      if ('needs' in result) {
        return {
          position: { index, waiting: false },
          effects,
          entered,
          end: { kind: 'needs', requests: result.needs },
        };
      }
      entered.push(step.id);
      index = jump(result.value ? step.then : step.else);
      continue;
    }
    if (step.type === 'split') {
      if (heldOut) {
        // A holdout stays one for the rest of the drip: measured (and never contacted) where it was held out.
        entered.push(step.id);
        index++;
        continue;
      }
      if (!ctx.facts.arms.has(step.id)) {
        return {
          position: { index, waiting: false },
          effects,
          entered,
          end: { kind: 'needs', requests: [{ kind: 'arm', split: step.id }] },
        };
      }
      entered.push(step.id);
      const known = ctx.facts.arms.get(step.id);
      // A customer keeps their arm, even one this version no longer has (it goes on after the split).
      const arm = known
        ? (step.cells.find((c) => c.code.toLowerCase() === known.toLowerCase()) ?? removedArm(known))
        : allocateArm(step.cells, ctx.splitKey(step.id), step.seed, ctx.customerId);
      effects.push({ kind: 'assign', step: step.id, arm });
      if (arm.isControl) heldOut = true;
      index = arm.next ? jump(arm.next) : index + 1;
      continue;
    }
    entered.push(step.id);
    if (step.type === 'send') effects.push({ kind: 'send', step: step.id, template: step.template });
    else if (step.type === 'update') effects.push({ kind: 'update', step: step.id, set: step.set });
    else if (step.type === 'exit') {
      return {
        position: { index, waiting: false },
        effects,
        entered,
        end: { kind: 'exited', step: step.id, reason: step.reason ?? 'exit step' },
      };
    }
    index++;
  }
  throw new Error('a drip ran more steps than it has: a jump went backwards');
}

const last = (steps: DripStep[]): string | null => steps[steps.length - 1]?.id ?? null;

/** An arm an earlier version had: its cell (and whether it is a control) is known to the caller by code. */
const removedArm = (code: string): SplitArm => ({
  code,
  name: code,
  weight: 0,
  isControl: false,
  responseCode: null,
  offer: null,
  next: null,
});

/** The position of a step id in a definition (an enrollment stores the id, so versions can differ). */
export function positionOf(def: DripDefinition, stepId: string | null, waiting: boolean): EnrollmentPosition {
  if (stepId === null) return { index: 0, waiting: false };
  const index = def.steps.findIndex((s) => s.id.toLowerCase() === stepId.toLowerCase());
  return index < 0 ? { index: def.steps.length, waiting: false } : { index, waiting };
}
