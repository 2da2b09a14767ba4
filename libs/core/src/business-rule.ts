import { validateCode } from './codes';
import { assertNoNul, isObject, validateAttributeSet, validateEventType } from './drip-definition';
import { ValidationError } from './errors';
import { CriteriaNode, validateCriteria } from './segment-criteria';

/**
 * Business rules (seed 004, practice 7: "if the customer does X, we do Y"): when event `event`
 * arrives and condition `if` holds for the customer and the event, do the actions in order. The
 * condition is the segment criteria language, plus `event.<property>` fields.
 *
 * Loops: an action can raise an event (setting an attribute raises `attribute-changed`; a webhook's
 * receiver may post an event back naming the firing as its `cause`), and that event may fire rules
 * again. Every event carries a depth: 0 when it comes from outside, one more than the firing that
 * caused it otherwise. Rules do not fire on an event at or past the depth limit: the firing is
 * recorded as `skipped` (reason `depth limit`), so a rule that triggers itself stops after `limit`
 * rounds and says so.
 */
export const RULE_ACTION_TYPES = ['send', 'enroll', 'update', 'suppress', 'unsuppress', 'webhook'] as const;
export type RuleActionType = (typeof RULE_ACTION_TYPES)[number];

export type RuleAction =
  /** Send a template to the customer (through the executor, measured in the rule's cell). */
  | { type: 'send'; template: string }
  /** Enroll the customer in a drip (its re-entry policy applies). */
  | { type: 'enroll'; drip: string }
  | { type: 'update'; set: Record<string, string | number | boolean | null> }
  /** Suppress the customer's address on a channel (or both), reason `manual`. */
  | { type: 'suppress'; channel: 'email' | 'sms' | 'all' }
  /** Lift a manual suppression of the customer's address (never an unsubscribe, bounce or complaint). */
  | { type: 'unsuppress'; channel: 'email' | 'sms' | 'all' }
  /** POST the event, the customer and the firing to an https URL on the allow-list, signed. */
  | { type: 'webhook'; url: string };

export interface RuleDefinition {
  event: string;
  if: CriteriaNode | null;
  actions: RuleAction[];
  /** Percent of firings held out (actions not run) to measure the rule against; 0: none. */
  holdoutPercent: number;
}

/** The event automation raises when an update (a rule action or a drip step) changes attributes. */
export const ATTRIBUTE_CHANGED = 'attribute-changed';
export const DEFAULT_RULE_DEPTH_LIMIT = 5;
const MAX_ACTIONS = 10;
const CHANNELS = ['email', 'sms', 'all'];

/** Checks a rule someone wrote; returns it normalised. Errors name the action (`actions[2].url`). */
export function validateRuleDefinition(input: {
  event?: unknown;
  if?: unknown;
  actions?: unknown;
  holdoutPercent?: unknown;
}): RuleDefinition {
  assertNoNul(input.if, 'if');
  assertNoNul(input.actions, 'actions');
  const event = validateEventType(input.event, 'event');
  const condition =
    input.if === undefined || input.if === null ? null : validateCriteria(input.if, 'if', { eventFields: true });
  if (!Array.isArray(input.actions) || input.actions.length === 0 || input.actions.length > MAX_ACTIONS) {
    throw new ValidationError(`actions must be an array of 1 to ${MAX_ACTIONS} actions`, 'actions');
  }
  const actions = input.actions.map((raw: unknown, i): RuleAction => validateAction(raw, `actions[${i}]`));
  const holdout = input.holdoutPercent ?? 0;
  if (typeof holdout !== 'number' || !Number.isFinite(holdout) || holdout < 0 || holdout > 50) {
    throw new ValidationError('holdoutPercent must be a number from 0 to 50', 'holdoutPercent');
  }
  if (holdout > 0 && !actions.some((a) => a.type === 'send')) {
    throw new ValidationError(
      'holdoutPercent needs a send action: a holdout is measured against the messages the rule sends',
      'holdoutPercent',
    );
  }
  return { event, if: condition, actions, holdoutPercent: holdout };
}

function validateAction(raw: unknown, at: string): RuleAction {
  if (!isObject(raw)) throw new ValidationError(`${at} must be an object with a type`, at);
  const keys = (allowed: string[]) => {
    for (const key of Object.keys(raw)) {
      if (!allowed.includes(key)) {
        throw new ValidationError(`${at} (${String(raw.type)}): "${key}" is not allowed`, `${at}.${key}`);
      }
    }
  };
  const channel = () => {
    const c = raw.channel ?? 'all';
    if (typeof c !== 'string' || !CHANNELS.includes(c)) {
      throw new ValidationError(`${at}.channel must be email, sms or all`, `${at}.channel`);
    }
    return c as 'email' | 'sms' | 'all';
  };
  switch (raw.type) {
    case 'send':
      keys(['type', 'template']);
      return { type: 'send', template: validateCode(raw.template, `${at}.template`) };
    case 'enroll':
      keys(['type', 'drip']);
      return { type: 'enroll', drip: validateCode(raw.drip, `${at}.drip`) };
    case 'update':
      keys(['type', 'set']);
      if (!isObject(raw.set) || Object.keys(raw.set).length === 0 || Object.keys(raw.set).length > 50) {
        throw new ValidationError(`${at}.set must be an object of 1 to 50 attributes (null removes one)`, `${at}.set`);
      }
      return { type: 'update', set: validateAttributeSet(raw.set, `${at}.set`) };
    case 'suppress':
    case 'unsuppress':
      keys(['type', 'channel']);
      return { type: raw.type, channel: channel() };
    case 'webhook':
      keys(['type', 'url']);
      if (typeof raw.url !== 'string' || raw.url.length > 2000) {
        throw new ValidationError(`${at}.url must be an https URL`, `${at}.url`);
      }
      return { type: 'webhook', url: raw.url };
    default:
      throw new ValidationError(`${at}.type must be one of ${RULE_ACTION_TYPES.join(', ')}`, `${at}.type`);
  }
}

/** Whether rules may fire on an event of this depth (see the loop rule above). */
export const mayFireAt = (depth: number, limit: number): boolean => depth < limit;
