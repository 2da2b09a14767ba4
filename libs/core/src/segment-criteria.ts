import { ValidationError } from './errors';

/**
 * The segment criteria language of API.md: a tree of all / any / not nodes over conditions.
 * `validateCriteria` checks a tree users wrote (errors name the path, e.g. `criteria.all[2].op`);
 * `compileCriteria` turns a valid tree into one parameterised SQL boolean over the customer row
 * aliased `c`. Values only ever travel as parameters; field names come from the whitelist below.
 */
export type CriteriaNode = { all: CriteriaNode[] } | { any: CriteriaNode[] } | { not: CriteriaNode } | Condition;

export interface Condition {
  field?: string;
  op: Op;
  value?: unknown;
  /** Scopes `responses.<type>.count` to one program (its code). */
  program?: string;
}

export const OPS = [
  'eq',
  'neq',
  'lt',
  'lte',
  'gt',
  'gte',
  'in',
  'notIn',
  'contains',
  'startsWith',
  'exists',
  'notExists',
  'withinDays',
  'beforeDays',
  'inSegment',
] as const;
export type Op = (typeof OPS)[number];

type FieldType = 'string' | 'number' | 'date' | 'attribute';

/** Where a criteria tree may look besides the customer: business rules also test the event's properties. */
export interface CriteriaOptions {
  /** Allow `event.<property>` fields (compiled against CompileContext.eventAlias). */
  eventFields?: boolean;
}

const OPS_BY_TYPE: Record<FieldType, readonly Op[]> = {
  string: ['eq', 'neq', 'in', 'notIn', 'contains', 'startsWith', 'exists', 'notExists'],
  number: ['eq', 'neq', 'lt', 'lte', 'gt', 'gte', 'in', 'notIn'],
  date: ['lt', 'lte', 'gt', 'gte', 'withinDays', 'beforeDays', 'exists', 'notExists'],
  attribute: ['eq', 'neq', 'lt', 'lte', 'gt', 'gte', 'in', 'notIn', 'contains', 'startsWith', 'exists', 'notExists'],
};

/** Customer columns (alias c) a criteria field may name. */
const CUSTOMER_FIELDS: Record<string, { column: string; type: FieldType }> = {
  email: { column: 'c.email', type: 'string' },
  phone: { column: 'c.phone', type: 'string' },
  country: { column: 'c.country', type: 'string' },
  locale: { column: 'c.locale', type: 'string' },
  timeZone: { column: 'c.time_zone', type: 'string' },
  lifecycleStage: { column: 'c.lifecycle_stage', type: 'string' },
  createdAt: { column: 'c.created_at', type: 'date' },
};

const ORDER_FIELDS: Record<string, { expression: string; type: FieldType }> = {
  'orders.count': { expression: 'SELECT count(*) FROM customer_order o WHERE o.customer_id = c.id', type: 'number' },
  'orders.total': {
    expression: 'SELECT coalesce(sum(o.amount), 0) FROM customer_order o WHERE o.customer_id = c.id',
    type: 'number',
  },
  'orders.lastAt': {
    expression: 'SELECT max(o.ordered_at) FROM customer_order o WHERE o.customer_id = c.id',
    type: 'date',
  },
};

const ATTRIBUTE = /^attributes\.([A-Za-z_][A-Za-z0-9_]{0,63})$/;
const EVENT_PROPERTY = /^event\.([A-Za-z_][A-Za-z0-9_]{0,63})$/;
const RESPONSE_COUNT = /^responses\.([a-z][a-z0-9_]{0,31})\.count$/;
const MAX_DEPTH = 16;
const MAX_CONDITIONS = 200;
const MAX_LIST = 1000;

function fieldType(field: string, options: CriteriaOptions): FieldType | null {
  if (CUSTOMER_FIELDS[field]) return CUSTOMER_FIELDS[field].type;
  if (ORDER_FIELDS[field]) return ORDER_FIELDS[field].type;
  if (ATTRIBUTE.test(field)) return 'attribute';
  // Event properties are free JSON like attributes, and compared the same way.
  if (options.eventFields && EVENT_PROPERTY.test(field)) return 'attribute';
  if (RESPONSE_COUNT.test(field)) return 'number';
  return null;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isScalar = (v: unknown) =>
  typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v)) || typeof v === 'boolean';
const isIsoDate = (v: unknown) =>
  typeof v === 'string' &&
  /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(v) &&
  !Number.isNaN(Date.parse(v));

/** Checks a criteria tree; returns it typed. Every error names the path of the offending node. */
export function validateCriteria(input: unknown, path = 'criteria', options: CriteriaOptions = {}): CriteriaNode {
  let conditions = 0;
  const visit = (node: unknown, at: string, depth: number): CriteriaNode => {
    if (depth > MAX_DEPTH) throw new ValidationError(`${at} nests deeper than ${MAX_DEPTH} levels`, at);
    if (!isObject(node)) throw new ValidationError(`${at} must be an object`, at);
    const keys = Object.keys(node);
    for (const group of ['all', 'any'] as const) {
      if (group in node) {
        if (keys.length !== 1) throw new ValidationError(`${at} must have "${group}" alone`, at);
        const list = node[group];
        if (!Array.isArray(list) || list.length === 0) {
          throw new ValidationError(`${at}.${group} must be a non-empty array`, `${at}.${group}`);
        }
        const children = list.map((child, i) => visit(child, `${at}.${group}[${i}]`, depth + 1));
        return group === 'all' ? { all: children } : { any: children };
      }
    }
    if ('not' in node) {
      if (keys.length !== 1) throw new ValidationError(`${at} must have "not" alone`, at);
      return { not: visit(node.not, `${at}.not`, depth + 1) };
    }
    if (++conditions > MAX_CONDITIONS)
      throw new ValidationError(`criteria has more than ${MAX_CONDITIONS} conditions`, path);
    return validateCondition(node, at, options);
  };
  return visit(input, path, 0);
}

function validateCondition(node: Record<string, unknown>, at: string, options: CriteriaOptions): Condition {
  for (const key of Object.keys(node)) {
    if (!['field', 'op', 'value', 'program'].includes(key)) {
      throw new ValidationError(
        `${at}.${key} is not allowed (a node is all, any, not, or field/op/value)`,
        `${at}.${key}`,
      );
    }
  }
  const { field, op, value, program } = node;
  if (typeof op !== 'string' || !(OPS as readonly string[]).includes(op)) {
    throw new ValidationError(`${at}.op must be one of ${OPS.join(', ')}`, `${at}.op`);
  }
  if (op === 'inSegment') {
    if (field !== undefined && field !== 'segment') {
      throw new ValidationError(`${at}.field must be absent or "segment" for inSegment`, `${at}.field`);
    }
    if (typeof value !== 'string' || !value.trim()) {
      throw new ValidationError(`${at}.value must be a segment code`, `${at}.value`);
    }
    return { op, value: value.trim() };
  }
  if (typeof field !== 'string') throw new ValidationError(`${at}.field must be a string`, `${at}.field`);
  const type = fieldType(field, options);
  if (!type) throw new ValidationError(`${at}.field "${field}" is not a known field`, `${at}.field`);
  if (program !== undefined) {
    if (!RESPONSE_COUNT.test(field)) {
      throw new ValidationError(`${at}.program only scopes responses.<type>.count`, `${at}.program`);
    }
    if (typeof program !== 'string' || !program.trim()) {
      throw new ValidationError(`${at}.program must be a program code`, `${at}.program`);
    }
  }
  if (!OPS_BY_TYPE[type].includes(op as Op)) {
    throw new ValidationError(
      `${at}.op "${op}" does not apply to ${field} (use ${OPS_BY_TYPE[type].join(', ')})`,
      `${at}.op`,
    );
  }
  const bad = (expected: string) =>
    new ValidationError(`${at}.value must be ${expected} for ${op} on ${field}`, `${at}.value`);
  switch (op) {
    case 'exists':
    case 'notExists':
      if (value !== undefined) throw bad('absent');
      break;
    case 'withinDays':
    case 'beforeDays':
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 36_500)
        throw bad('a whole number of days');
      break;
    case 'in':
    case 'notIn':
      if (!Array.isArray(value) || value.length === 0 || value.length > MAX_LIST || !value.every(isScalar)) {
        throw bad(`a non-empty array of at most ${MAX_LIST} strings or numbers`);
      }
      if (type === 'number' && !value.every((v) => typeof v === 'number')) throw bad('an array of numbers');
      break;
    case 'contains':
    case 'startsWith':
      if (typeof value !== 'string' || !value) throw bad('a non-empty string');
      break;
    default:
      if (type === 'number' && (typeof value !== 'number' || !Number.isFinite(value))) throw bad('a number');
      if (type === 'date' && !isIsoDate(value)) throw bad('an ISO 8601 date');
      if (type === 'string' && typeof value !== 'string') throw bad('a string');
      if (type === 'attribute' && !isScalar(value)) throw bad('a string, number or boolean');
      if (type === 'attribute' && ['lt', 'lte', 'gt', 'gte'].includes(op) && typeof value === 'boolean')
        throw bad('a string or number');
  }
  return { field, op: op as Op, value, ...(program !== undefined ? { program: (program as string).trim() } : {}) };
}

export interface CompileContext {
  /** "now" for withinDays / beforeDays: injected, so a compiled segment is reproducible. */
  now: Date;
  /** The (already validated) criteria of a saved segment, or null when there is none by that code. */
  segment(code: string): CriteriaNode | null;
  /** Placeholders start after this many parameters (to embed in a larger statement). */
  paramOffset?: number;
  /** The alias of a row with a jsonb `properties` column that `event.<property>` fields read (rules). */
  eventAlias?: string;
}

export interface CompiledCriteria {
  sql: string;
  params: unknown[];
}

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (ch) => `\\${ch}`);
const COMPARE: Partial<Record<Op, string>> = { eq: '=', lt: '<', lte: '<=', gt: '>', gte: '>=' };

/** Compiles a validated tree to a SQL boolean over customer `c`; `inSegment` is inlined, cycles refused. */
export function compileCriteria(root: CriteriaNode, ctx: CompileContext): CompiledCriteria {
  const params: unknown[] = [];
  const offset = ctx.paramOffset ?? 0;
  const p = (value: unknown) => {
    params.push(value);
    return `$${offset + params.length}`;
  };
  const compile = (node: CriteriaNode, stack: string[]): string => {
    if ('all' in node) return `(${node.all.map((n) => compile(n, stack)).join(' AND ')})`;
    if ('any' in node) return `(${node.any.map((n) => compile(n, stack)).join(' OR ')})`;
    if ('not' in node) return `(NOT coalesce(${compile(node.not, stack)}, false))`;
    if (node.op === 'inSegment') {
      const code = String(node.value);
      const key = code.toLowerCase();
      if (stack.includes(key)) {
        throw new ValidationError(`segment "${code}" refers to itself: ${[...stack, key].join(' -> ')}`, 'criteria');
      }
      const criteria = ctx.segment(code);
      if (!criteria) throw new ValidationError(`segment "${code}" does not exist`, 'criteria');
      return compile(criteria, [...stack, key]);
    }
    return compileCondition(node, p, ctx);
  };
  return { sql: compile(root, []), params };
}

function compileCondition(cond: Condition, p: (v: unknown) => string, ctx: CompileContext): string {
  const field = cond.field!;
  const { op, value } = cond;
  const now = ctx.now;
  const property = EVENT_PROPERTY.exec(field);
  if (property) {
    if (!ctx.eventAlias)
      throw new ValidationError(`${field}: event properties can only be tested on an event`, 'criteria');
    return compileAttribute(property[1], op, value, p, `${ctx.eventAlias}.properties`);
  }
  const attribute = ATTRIBUTE.exec(field);
  const response = RESPONSE_COUNT.exec(field);
  let expression: string;
  let type: FieldType;
  if (attribute) {
    return compileAttribute(attribute[1], op, value, p, 'c.attributes');
  } else if (response) {
    const responseType = p(response[1]);
    const scope = cond.program
      ? ` AND r.program_id = (SELECT pr.id FROM program pr WHERE lower(pr.code) = lower(${p(cond.program)}))`
      : '';
    expression = `(SELECT count(*) FROM response r WHERE r.customer_id = c.id AND r.type = ${responseType}${scope})`;
    type = 'number';
  } else if (ORDER_FIELDS[field]) {
    expression = `(${ORDER_FIELDS[field].expression})`;
    type = ORDER_FIELDS[field].type;
  } else {
    expression = CUSTOMER_FIELDS[field].column;
    type = CUSTOMER_FIELDS[field].type;
  }
  switch (op) {
    case 'exists':
      return `(${expression} IS NOT NULL)`;
    case 'notExists':
      return `(${expression} IS NULL)`;
    case 'neq':
      return `(${expression} IS DISTINCT FROM ${p(value)})`;
    case 'in':
      return `(${expression} = ANY(${p(value)}))`;
    case 'notIn':
      return `(${expression} IS NULL OR NOT (${expression} = ANY(${p(value)})))`;
    case 'contains':
      return `(${expression} ILIKE '%' || ${p(escapeLike(String(value)))} || '%')`;
    case 'startsWith':
      return `(${expression} ILIKE ${p(escapeLike(String(value)))} || '%')`;
    case 'withinDays':
      return `(${expression} >= ${p(now.toISOString())}::timestamptz - make_interval(days => ${p(value)}::int))`;
    case 'beforeDays':
      return `(${expression} < ${p(now.toISOString())}::timestamptz - make_interval(days => ${p(value)}::int))`;
    default: {
      const cast = type === 'date' ? '::timestamptz' : '';
      return `(${expression} ${COMPARE[op]} ${p(value)}${cast})`;
    }
  }
}

/**
 * Attributes are free JSON. A numeric comparison only holds where the attribute is a JSON number
 * (no cast can fail mid-query); text comparisons use its text form.
 */
function compileAttribute(name: string, op: Op, value: unknown, p: (v: unknown) => string, column: string): string {
  // Built on use: every placeholder must appear in the SQL, or PostgreSQL cannot type it.
  const json = () => `${column} -> ${p(name)}::text`;
  const text = () => `(${column} ->> ${p(name)}::text)`;
  switch (op) {
    case 'exists':
      return `(${column} ? ${p(name)}::text)`;
    case 'notExists':
      return `(NOT coalesce(${column} ? ${p(name)}::text, false))`;
    case 'in':
    case 'notIn': {
      const list = (value as unknown[]).map(String);
      const hit = `(${text()} = ANY(${p(list)}))`;
      return op === 'in' ? hit : `(NOT coalesce(${hit}, false))`;
    }
    case 'contains':
      return `(${text()} ILIKE '%' || ${p(escapeLike(String(value)))} || '%')`;
    case 'startsWith':
      return `(${text()} ILIKE ${p(escapeLike(String(value)))} || '%')`;
    case 'neq':
      return `(${text()} IS DISTINCT FROM ${p(String(value))})`;
    default:
      if (typeof value === 'number') {
        return `(jsonb_typeof(${json()}) = 'number' AND (${text()})::numeric ${COMPARE[op]} ${p(value)})`;
      }
      return `(${text()} ${COMPARE[op]} ${p(String(value))})`;
  }
}
