import { validateWeight, weightSum } from './cell-weights';
import { validateCode } from './codes';
import { formatIsoDuration, parseIsoDuration, parseWaitUntil, WaitUntil } from './drip-time';
import { HH_MM } from './local-time';
import { ConflictError, InvalidTransitionError, ValidationError } from './errors';
import { CriteriaNode, validateCriteria } from './segment-criteria';

/**
 * A drip (PRODUCT.md): a trigger, then steps run in array order unless a branch or a split jumps.
 * Jumps only go forward, so every enrollment visits a step at most once: a send step sends at most
 * one message per enrollment (the ledger's key is (enrollment, step)), and no loop can spin without a
 * wait. `validateDripDefinition` checks what a marketer wrote and returns it normalised (durations in
 * canonical ISO 8601, defaults filled in); every error names the step (`steps[2] (branch "b1")`).
 */
export const DRIP_STEP_TYPES = ['wait', 'send', 'branch', 'split', 'update', 'exit'] as const;
export type DripStepType = (typeof DRIP_STEP_TYPES)[number];

export const DRIP_STATES = ['draft', 'active', 'paused', 'archived'] as const;
export type DripState = (typeof DRIP_STATES)[number];
export const DRIP_ACTIONS = ['activate', 'pause', 'archive'] as const;
export type DripAction = (typeof DRIP_ACTIONS)[number];

/** draft -> active <-> paused; any of them -> archived (terminal: enrolled customers leave). */
export const DRIP_TRANSITIONS: Readonly<Record<DripState, Partial<Record<DripAction, DripState>>>> = {
  draft: { activate: 'active', archive: 'archived' },
  active: { pause: 'paused', archive: 'archived' },
  paused: { activate: 'active', archive: 'archived' },
  archived: {},
};

export function nextDripState(from: DripState, action: DripAction): DripState {
  const to = DRIP_TRANSITIONS[from]?.[action];
  if (!to) throw new InvalidTransitionError('drip', from, action);
  return to;
}

/**
 * never: a customer enters the drip at most once, ever. after-exit: again, once the earlier
 * enrollment has ended. always: every trigger enrolls, even while an earlier enrollment runs.
 * A date trigger enrolls at most once per occurrence whatever the policy.
 */
export const REENTRY_POLICIES = ['never', 'after-exit', 'always'] as const;
export type ReentryPolicy = (typeof REENTRY_POLICIES)[number];

export const DATE_RECURRENCES = ['yearly', 'once'] as const;

export type DripTrigger =
  /** An event posted to POST /v1/events (or raised by automation), optionally with a condition. */
  | { type: 'event'; event: string; if: CriteriaNode | null }
  /** A customer enters the segment (checked on a schedule and when events arrive). */
  | { type: 'segment'; segment: string; existing: boolean }
  /** A date of the customer, relative to today in the customer's time zone, at a local time. */
  | { type: 'date'; field: string; offsetDays: number; at: string; recurrence: 'yearly' | 'once' };

export interface DripExitRules {
  /** Unsubscribed or complained on a channel the drip sends on. */
  unsubscribed: boolean;
  /** The conversion goal: a purchase since entry (an order, a conversion response or a `purchase` event). */
  converted: boolean;
  /** Segment triggers: no longer in the segment. */
  leftSegment: boolean;
  /** Any of these events since entry. */
  events: string[];
}

export interface SplitArm {
  code: string;
  name: string;
  weight: number;
  isControl: boolean;
  /** A response code to use for the arm's cell (generated when absent). */
  responseCode: string | null;
  offer: string | null;
  /** The step the arm continues at; null: the step after the split. */
  next: string | null;
}

/** A leaf of a branch condition; composite nodes combine them. Durations are canonical ISO 8601. */
export type BranchLeaf =
  /** The message of an earlier send step was opened (by a person) within `within` of being sent (ever, when null). */
  | { opened: string; within: string | null }
  | { clicked: string; within: string | null }
  /** Purchased since entering the drip (within `within` of entry, when given). */
  | { purchased: { within: string | null } }
  /** Segment criteria over the customer (API.md's language). */
  | { criteria: CriteriaNode };

export type BranchCondition =
  { all: BranchCondition[] } | { any: BranchCondition[] } | { not: BranchCondition } | BranchLeaf;

export type DripStep =
  | { id: string; type: 'wait'; duration: string | null; until: WaitUntil | null }
  | { id: string; type: 'send'; template: string }
  | { id: string; type: 'branch'; if: BranchCondition; then: string; else: string }
  | { id: string; type: 'split'; cells: SplitArm[]; seed: number | null }
  | { id: string; type: 'update'; set: Record<string, string | number | boolean | null> }
  | { id: string; type: 'exit'; reason: string | null };

export interface DripDefinition {
  trigger: DripTrigger;
  steps: DripStep[];
  exit: DripExitRules;
  reentry: ReentryPolicy;
}

export const MAX_DRIP_STEPS = 100;
const MAX_SPLIT_ARMS = 26;
const MAX_UPDATE_KEYS = 50;
const MAX_CONDITION_LEAVES = 50;
const STEP_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$/;
export const EVENT_TYPE = /^[a-z][a-z0-9_-]{0,39}$/;
export const ATTRIBUTE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const DATE_FIELD = /^(birthDate|createdAt|attributes\.[A-Za-z_][A-Za-z0-9_]{0,63})$/;

/** Objects (not arrays, not null) as JSON gives them. */
export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Refuses keys outside `allowed`, naming the first one (`${at}.${key}`). */
export function onlyKeys(input: Record<string, unknown>, allowed: readonly string[], at: string, what: string): void {
  for (const key of Object.keys(input)) {
    if (!allowed.includes(key)) {
      throw new ValidationError(`${what}: "${key}" is not allowed (expected ${allowed.join(', ')})`, `${at}.${key}`);
    }
  }
}

/** PostgreSQL's jsonb cannot hold a NUL character: refused up front, naming the field, instead of failing the write. */
export function assertNoNul(value: unknown, field: string): void {
  if (JSON.stringify(value ?? null).includes('\\u0000')) {
    throw new ValidationError(`${field} must not contain the NUL character (\\u0000)`, field);
  }
}

export function validateEventType(input: unknown, field: string): string {
  if (typeof input !== 'string' || !EVENT_TYPE.test(input)) {
    throw new ValidationError(
      `${field} must be an event name: lower-case letters, digits, '-' and '_', starting with a letter (at most 40)`,
      field,
    );
  }
  return input;
}

function durationText(input: unknown, field: string): string {
  return formatIsoDuration(parseIsoDuration(input, field));
}

/** Checks a drip someone wrote; returns it normalised. `at` prefixes error paths (e.g. `body`). */
export function validateDripDefinition(input: {
  trigger?: unknown;
  steps?: unknown;
  exit?: unknown;
  reentry?: unknown;
}): DripDefinition {
  for (const field of ['trigger', 'steps', 'exit'] as const) assertNoNul(input[field], field);
  const trigger = validateTrigger(input.trigger);
  const steps = validateSteps(input.steps);
  const exit = validateExit(input.exit, trigger);
  const reentry = input.reentry ?? 'after-exit';
  if (typeof reentry !== 'string' || !(REENTRY_POLICIES as readonly string[]).includes(reentry)) {
    throw new ValidationError(`reentry must be one of ${REENTRY_POLICIES.join(', ')}`, 'reentry');
  }
  return { trigger, steps, exit, reentry: reentry as ReentryPolicy };
}

function validateTrigger(input: unknown): DripTrigger {
  const at = 'trigger';
  if (!isObject(input)) throw new ValidationError(`${at} must be an object with a type (event, segment or date)`, at);
  switch (input.type) {
    case 'event': {
      onlyKeys(input, ['type', 'event', 'if'], at, 'an event trigger');
      const condition =
        input.if === undefined || input.if === null
          ? null
          : validateCriteria(input.if, `${at}.if`, { eventFields: true });
      return { type: 'event', event: validateEventType(input.event, `${at}.event`), if: condition };
    }
    case 'segment': {
      onlyKeys(input, ['type', 'segment', 'existing'], at, 'a segment trigger');
      const segment = validateCode(input.segment, `${at}.segment`);
      if (input.existing !== undefined && typeof input.existing !== 'boolean') {
        throw new ValidationError(`${at}.existing must be true or false`, `${at}.existing`);
      }
      return { type: 'segment', segment, existing: input.existing === true };
    }
    case 'date': {
      onlyKeys(input, ['type', 'field', 'offsetDays', 'at', 'recurrence'], at, 'a date trigger');
      if (typeof input.field !== 'string' || !DATE_FIELD.test(input.field)) {
        throw new ValidationError(`${at}.field must be birthDate, createdAt or attributes.<name>`, `${at}.field`);
      }
      const offsetDays = input.offsetDays ?? 0;
      if (typeof offsetDays !== 'number' || !Number.isInteger(offsetDays) || Math.abs(offsetDays) > 366) {
        throw new ValidationError(`${at}.offsetDays must be a whole number from -366 to 366`, `${at}.offsetDays`);
      }
      const time = input.at ?? '09:00';
      if (typeof time !== 'string' || !HH_MM.test(time)) {
        throw new ValidationError(`${at}.at must be a local time HH:MM (00:00 to 23:59)`, `${at}.at`);
      }
      const recurrence = input.recurrence ?? (input.field.startsWith('attributes.') ? 'once' : 'yearly');
      if (typeof recurrence !== 'string' || !(DATE_RECURRENCES as readonly string[]).includes(recurrence)) {
        throw new ValidationError(`${at}.recurrence must be yearly or once`, `${at}.recurrence`);
      }
      return {
        type: 'date',
        field: input.field,
        offsetDays,
        at: time,
        recurrence: recurrence as 'yearly' | 'once',
      };
    }
    default:
      throw new ValidationError(`${at}.type must be event, segment or date`, `${at}.type`);
  }
}

function validateExit(input: unknown, trigger: DripTrigger): DripExitRules {
  const at = 'exit';
  const rules: DripExitRules = { unsubscribed: true, converted: false, leftSegment: false, events: [] };
  if (input === undefined || input === null) return rules;
  if (!isObject(input)) throw new ValidationError(`${at} must be an object`, at);
  onlyKeys(input, ['unsubscribed', 'converted', 'leftSegment', 'events'], at, 'exit');
  for (const key of ['unsubscribed', 'converted', 'leftSegment'] as const) {
    if (input[key] === undefined) continue;
    if (typeof input[key] !== 'boolean')
      throw new ValidationError(`${at}.${key} must be true or false`, `${at}.${key}`);
    rules[key] = input[key];
  }
  if (rules.leftSegment && trigger.type !== 'segment') {
    throw new ValidationError(`${at}.leftSegment applies only to a segment trigger`, `${at}.leftSegment`);
  }
  if (input.events !== undefined) {
    if (!Array.isArray(input.events) || input.events.length > 20) {
      throw new ValidationError(`${at}.events must be an array of at most 20 event names`, `${at}.events`);
    }
    rules.events = [...new Set(input.events.map((e, i) => validateEventType(e, `${at}.events[${i}]`)))];
  }
  return rules;
}

interface StepRef {
  index: number;
  type: DripStepType;
}

/** How errors name a step: its path and, once known, its id and type. */
const stepName = (i: number, raw: unknown): string => {
  if (isObject(raw) && typeof raw.id === 'string' && typeof raw.type === 'string') {
    return `steps[${i}] (${raw.type} "${raw.id}")`;
  }
  return `steps[${i}]`;
};

function validateSteps(input: unknown): DripStep[] {
  if (!Array.isArray(input) || input.length === 0) {
    throw new ValidationError('steps must be a non-empty array', 'steps');
  }
  if (input.length > MAX_DRIP_STEPS) throw new ValidationError(`a drip has at most ${MAX_DRIP_STEPS} steps`, 'steps');
  const ids = new Map<string, StepRef>();
  input.forEach((raw, i) => {
    const at = `steps[${i}]`;
    if (!isObject(raw)) throw new ValidationError(`${at} must be an object with an id and a type`, at);
    if (typeof raw.id !== 'string' || !STEP_ID.test(raw.id)) {
      throw new ValidationError(
        `${at}.id must be 1 to 40 letters, digits, '-' or '_', starting with a letter or digit`,
        `${at}.id`,
      );
    }
    if (typeof raw.type !== 'string' || !(DRIP_STEP_TYPES as readonly string[]).includes(raw.type)) {
      throw new ValidationError(`${stepName(i, raw)}.type must be one of ${DRIP_STEP_TYPES.join(', ')}`, `${at}.type`);
    }
    const seen = ids.get(raw.id.toLowerCase());
    if (seen) throw new ValidationError(`${stepName(i, raw)} repeats the id of steps[${seen.index}]`, `${at}.id`);
    ids.set(raw.id.toLowerCase(), { index: i, type: raw.type as DripStepType });
  });
  const arms = new Map<string, string>();
  return input.map((raw: Record<string, unknown>, i) => validateStep(raw, i, ids, arms));
}

function validateStep(
  raw: Record<string, unknown>,
  i: number,
  ids: Map<string, StepRef>,
  arms: Map<string, string>,
): DripStep {
  const at = `steps[${i}]`;
  const name = stepName(i, raw);
  const id = raw.id as string;
  /** A later step's id, as written in the drip (a jump target). */
  const target = (value: unknown, field: string, what: string): string => {
    if (typeof value !== 'string' || !value) {
      throw new ValidationError(`${name} has no ${what}: ${field} must name a later step`, `${at}.${field}`);
    }
    const ref = ids.get(value.toLowerCase());
    if (!ref) throw new ValidationError(`${name}.${field} "${value}" is not a step of this drip`, `${at}.${field}`);
    if (ref.index <= i) {
      throw new ValidationError(
        `${name}.${field} "${value}" jumps back to steps[${ref.index}]: a drip only jumps forward`,
        `${at}.${field}`,
      );
    }
    return value;
  };
  switch (raw.type as DripStepType) {
    case 'wait': {
      onlyKeys(raw, ['id', 'type', 'duration', 'until'], at, name);
      if (raw.duration === undefined && raw.until === undefined) {
        throw new ValidationError(`${name} needs a duration (e.g. P2D), an until, or both`, `${at}.duration`);
      }
      return {
        id,
        type: 'wait',
        duration: raw.duration === undefined ? null : durationText(raw.duration, `${at}.duration`),
        until: raw.until === undefined ? null : parseWaitUntil(raw.until, `${at}.until`),
      };
    }
    case 'send': {
      onlyKeys(raw, ['id', 'type', 'template'], at, name);
      if (raw.template === undefined) throw new ValidationError(`${name} needs a template`, `${at}.template`);
      return { id, type: 'send', template: validateCode(raw.template, `${at}.template`) };
    }
    case 'branch': {
      onlyKeys(raw, ['id', 'type', 'if', 'then', 'else'], at, name);
      if (raw.if === undefined) throw new ValidationError(`${name} needs a condition (if)`, `${at}.if`);
      const leaves = { n: 0 };
      const condition = validateCondition(raw.if, 'if', at, name, i, ids, leaves, 0);
      return {
        id,
        type: 'branch',
        if: condition,
        then: target(raw.then, 'then', 'then path'),
        else: target(raw.else, 'else', 'else path'),
      };
    }
    case 'split': {
      onlyKeys(raw, ['id', 'type', 'cells', 'seed'], at, name);
      if (!Array.isArray(raw.cells) || raw.cells.length < 2 || raw.cells.length > MAX_SPLIT_ARMS) {
        throw new ValidationError(`${name}.cells must hold 2 to ${MAX_SPLIT_ARMS} cells`, `${at}.cells`);
      }
      const cells = raw.cells.map((cell: unknown, j): SplitArm => {
        const cat = `${at}.cells[${j}]`;
        if (!isObject(cell)) throw new ValidationError(`${name}.cells[${j}] must be an object`, cat);
        onlyKeys(cell, ['code', 'name', 'weight', 'isControl', 'responseCode', 'offer', 'next'], cat, name);
        const code = validateCode(cell.code, `${cat}.code`);
        const other = arms.get(code.toLowerCase());
        if (other)
          throw new ValidationError(`${name}.cells[${j}].code "${code}" is used by ${other} too`, `${cat}.code`);
        arms.set(code.toLowerCase(), `${name}.cells[${j}]`);
        if (cell.isControl !== undefined && typeof cell.isControl !== 'boolean') {
          throw new ValidationError(`${name}.cells[${j}].isControl must be true or false`, `${cat}.isControl`);
        }
        for (const key of ['name', 'responseCode', 'offer'] as const) {
          if (cell[key] !== undefined && cell[key] !== null && (typeof cell[key] !== 'string' || !cell[key])) {
            throw new ValidationError(`${name}.cells[${j}].${key} must be text`, `${cat}.${key}`);
          }
        }
        return {
          code,
          name: typeof cell.name === 'string' ? cell.name.trim().slice(0, 200) || code : code,
          weight: validateWeight(cell.weight, `${cat}.weight`),
          isControl: cell.isControl === true,
          responseCode: (cell.responseCode as string | undefined) ?? null,
          offer: (cell.offer as string | undefined) ?? null,
          next: cell.next === undefined || cell.next === null ? null : target(cell.next, `cells[${j}].next`, 'path'),
        };
      });
      const sum = weightSum(cells);
      if (sum !== 100) {
        throw new ValidationError(
          `${name}: cell weights sum to ${sum}, not 100 (${cells.map((c) => `${c.code} ${c.weight}`).join(', ')})`,
          `${at}.cells`,
        );
      }
      if (cells.every((c) => c.isControl)) {
        throw new ValidationError(`${name}: every cell is a control; at least one must be contacted`, `${at}.cells`);
      }
      if (cells.filter((c) => c.isControl).length > 1) {
        throw new ValidationError(`${name}: at most one cell is the control (holdout)`, `${at}.cells`);
      }
      const seed = raw.seed ?? null;
      if (seed !== null && (typeof seed !== 'number' || !Number.isSafeInteger(seed))) {
        throw new ValidationError(`${name}.seed must be a whole number`, `${at}.seed`);
      }
      return { id, type: 'split', cells, seed: seed as number | null };
    }
    case 'update': {
      onlyKeys(raw, ['id', 'type', 'set'], at, name);
      if (!isObject(raw.set) || Object.keys(raw.set).length === 0 || Object.keys(raw.set).length > MAX_UPDATE_KEYS) {
        throw new ValidationError(
          `${name}.set must be an object of 1 to ${MAX_UPDATE_KEYS} attributes to set (null removes one)`,
          `${at}.set`,
        );
      }
      return { id, type: 'update', set: validateAttributeSet(raw.set, `${at}.set`, name) };
    }
    case 'exit': {
      onlyKeys(raw, ['id', 'type', 'reason'], at, name);
      if (raw.reason !== undefined && (typeof raw.reason !== 'string' || raw.reason.length > 100 || !raw.reason)) {
        throw new ValidationError(`${name}.reason must be text of at most 100 characters`, `${at}.reason`);
      }
      return { id, type: 'exit', reason: (raw.reason as string | undefined) ?? null };
    }
  }
}

/** Attributes to set (a value) or remove (null): scalar JSON values under attribute names. */
export function validateAttributeSet(
  input: Record<string, unknown>,
  at: string,
  name = at,
): Record<string, string | number | boolean | null> {
  const out: Record<string, string | number | boolean | null> = {};
  for (const [key, value] of Object.entries(input)) {
    if (!ATTRIBUTE_NAME.test(key)) {
      throw new ValidationError(`${name}: "${key}" is not an attribute name`, `${at}.${key}`);
    }
    const ok =
      value === null ||
      typeof value === 'boolean' ||
      (typeof value === 'number' && Number.isFinite(value)) ||
      (typeof value === 'string' && value.length <= 1000);
    if (!ok) {
      throw new ValidationError(
        `${name}: ${key} must be text (at most 1,000 characters), a number, true, false or null`,
        `${at}.${key}`,
      );
    }
    out[key] = value as string | number | boolean | null;
  }
  return out;
}

/**
 * `rel` is the path inside the step (`if.all[1].opened`): messages read `steps[2] (branch "b1").if...`,
 * the error's field is the full path.
 */
function validateCondition(
  input: unknown,
  rel: string,
  stepAt: string,
  name: string,
  index: number,
  ids: Map<string, StepRef>,
  leaves: { n: number },
  depth: number,
): BranchCondition {
  const at = `${stepAt}.${rel}`;
  const fail = (path: string, message: string) =>
    new ValidationError(`${name}.${path} ${message}`, `${stepAt}.${path}`);
  if (depth > 8) throw fail(rel, 'nests deeper than 8 levels');
  if (!isObject(input) || Object.keys(input).length !== 1) {
    throw fail(rel, 'must be one of all, any, not, opened, clicked, purchased or criteria');
  }
  const [key] = Object.keys(input);
  const value = input[key];
  const sub = (v: unknown, p: string) => validateCondition(v, p, stepAt, name, index, ids, leaves, depth + 1);
  if (key === 'all' || key === 'any') {
    if (!Array.isArray(value) || value.length === 0) throw fail(`${rel}.${key}`, 'must be a non-empty array');
    const list = value.map((v, i) => sub(v, `${rel}.${key}[${i}]`));
    return key === 'all' ? { all: list } : { any: list };
  }
  if (key === 'not') return { not: sub(value, `${rel}.not`) };
  if (++leaves.n > MAX_CONDITION_LEAVES) throw fail(rel, `has more than ${MAX_CONDITION_LEAVES} tests`);
  const within = (v: unknown, p: string) => (v === undefined || v === null ? null : durationText(v, `${stepAt}.${p}`));
  switch (key) {
    case 'opened':
    case 'clicked': {
      const spec = typeof value === 'string' ? { step: value } : value;
      if (!isObject(spec) || typeof spec.step !== 'string') {
        throw fail(`${rel}.${key}`, 'must name an earlier send step, e.g. { "step": "s1", "within": "P2D" }');
      }
      onlyKeys(spec, ['step', 'within'], `${at}.${key}`, name);
      const ref = ids.get(spec.step.toLowerCase());
      if (!ref || ref.type !== 'send' || ref.index >= index) {
        throw fail(`${rel}.${key}.step`, `"${spec.step}" is not a send step before this branch`);
      }
      const w = within(spec.within, `${rel}.${key}.within`);
      return key === 'opened' ? { opened: spec.step, within: w } : { clicked: spec.step, within: w };
    }
    case 'purchased': {
      if (value === true) return { purchased: { within: null } };
      if (!isObject(value)) throw fail(`${rel}.purchased`, 'must be true or { "within": "P7D" }');
      onlyKeys(value, ['within'], `${at}.purchased`, name);
      return { purchased: { within: within(value.within, `${rel}.purchased.within`) } };
    }
    case 'criteria':
      return { criteria: validateCriteria(value, `${at}.criteria`) };
    default:
      throw fail(`${rel}.${key}`, 'is not a condition (use all, any, not, opened, clicked, purchased or criteria)');
  }
}

/** The channels a drip sends on, given each send step's template channel. */
export function dripChannels(steps: DripStep[], channelOf: (template: string) => 'email' | 'sms'): ('email' | 'sms')[] {
  const channels = new Set(steps.flatMap((s) => (s.type === 'send' ? [channelOf(s.template)] : [])));
  return (['email', 'sms'] as const).filter((c) => channels.has(c));
}

/** Split arms of every version of a drip keep their control flag: a cell's role cannot change under it. */
export function assertArmsCompatible(
  previous: { code: string; isControl: boolean }[],
  next: { code: string; isControl: boolean; step: string }[],
): void {
  const before = new Map(previous.map((a) => [a.code.toLowerCase(), a.isControl]));
  for (const arm of next) {
    const was = before.get(arm.code.toLowerCase());
    if (was !== undefined && was !== arm.isControl) {
      throw new ConflictError(
        `split "${arm.step}": cell ${arm.code} was ${was ? 'the control' : 'a treatment'} in an earlier version; ` +
          'give the changed cell a new code',
      );
    }
  }
}

/** One line saying what a step does, for reports and logs. */
export function describeStep(step: DripStep): string {
  switch (step.type) {
    case 'wait':
      return ['wait', step.duration, step.until ? `until ${step.until.time}` : null, step.until?.weekdays?.join('/')]
        .filter(Boolean)
        .join(' ');
    case 'send':
      return `send ${step.template}`;
    case 'branch':
      return `branch: ${describeCondition(step.if)} ? ${step.then} : ${step.else}`;
    case 'split':
      return `split ${step.cells.map((c) => `${c.code} ${c.weight}%${c.isControl ? ' (holdout)' : ''}`).join(', ')}`;
    case 'update':
      return `update ${Object.entries(step.set)
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(', ')}`;
    case 'exit':
      return `exit${step.reason ? `: ${step.reason}` : ''}`;
  }
}

function describeCondition(c: BranchCondition): string {
  if ('all' in c) return `(${c.all.map(describeCondition).join(' and ')})`;
  if ('any' in c) return `(${c.any.map(describeCondition).join(' or ')})`;
  if ('not' in c) return `not ${describeCondition(c.not)}`;
  if ('opened' in c) return `opened ${c.opened}${c.within ? ` within ${c.within}` : ''}`;
  if ('clicked' in c) return `clicked ${c.clicked}${c.within ? ` within ${c.within}` : ''}`;
  if ('purchased' in c) return `purchased${c.purchased.within ? ` within ${c.purchased.within}` : ''}`;
  return 'criteria';
}

/** The trigger in words, for reports. */
export function describeTrigger(t: DripTrigger): string {
  if (t.type === 'event') return `event ${t.event}${t.if ? ' (with a condition)' : ''}`;
  if (t.type === 'segment') return `enters segment ${t.segment}${t.existing ? ' (members at activation too)' : ''}`;
  const offset = t.offsetDays ? ` ${t.offsetDays > 0 ? '+' : ''}${t.offsetDays} days` : '';
  return `${t.field}${offset} at ${t.at} local, ${t.recurrence}`;
}
