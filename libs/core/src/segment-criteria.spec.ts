import fc from 'fast-check';
import { ValidationError } from './errors';
import { compileCriteria, CriteriaNode, validateCriteria } from './segment-criteria';

const now = new Date('2026-06-01T00:00:00.000Z');
const noSegments = { now, segment: () => null };

function errorOf(input: unknown): ValidationError {
  try {
    validateCriteria(input);
  } catch (e) {
    return e as ValidationError;
  }
  throw new Error('expected a ValidationError');
}

describe('segment criteria: validation', () => {
  it('accepts the language of API.md', () => {
    const tree = {
      all: [
        { field: 'country', op: 'in', value: ['DE', 'AT'] },
        { not: { field: 'email', op: 'notExists' } },
        {
          any: [
            { field: 'orders.count', op: 'gte', value: 2 },
            { field: 'attributes.vip', op: 'eq', value: true },
          ],
        },
        { field: 'orders.lastAt', op: 'beforeDays', value: 90 },
        { field: 'responses.click.count', op: 'gt', value: 0, program: 'LOY26-A' },
        { op: 'inSegment', value: 'lapsed' },
      ],
    };
    expect(validateCriteria(tree)).toEqual(tree);
  });

  it.each([
    [
      {
        all: [
          { field: 'country', op: 'eq', value: 'DE' },
          { field: 'country', op: 'eq', value: 'DE' },
          { field: 'x', op: 'eq', value: 1 },
        ],
      },
      'criteria.all[2].field',
    ],
    [
      {
        all: [
          { field: 'country', op: 'eq', value: 'DE' },
          { field: 'country', op: 'bigger', value: 'DE' },
        ],
      },
      'criteria.all[1].op',
    ],
    [{ any: [{ field: 'orders.count', op: 'gt', value: 'two' }] }, 'criteria.any[0].value'],
    [{ not: { field: 'createdAt', op: 'gt', value: 'yesterday' } }, 'criteria.not.value'],
    [{ field: 'country', op: 'lt', value: 'DE' }, 'criteria.op'],
    [{ field: 'country', op: 'in', value: [] }, 'criteria.value'],
    [{ field: 'createdAt', op: 'withinDays', value: -1 }, 'criteria.value'],
    [{ field: 'email', op: 'exists', value: true }, 'criteria.value'],
    [{ field: 'country', op: 'eq', value: 'DE', extra: 1 }, 'criteria.extra'],
    [{ field: 'country', op: 'eq', value: 'DE', program: 'P' }, 'criteria.program'],
    [{ all: [] }, 'criteria.all'],
    [{ all: [{ field: 'country', op: 'eq', value: 'DE' }], any: [] }, 'criteria'],
    [{ op: 'inSegment', value: 42 }, 'criteria.value'],
    [{ field: 'attributes.bad-name', op: 'eq', value: 1 }, 'criteria.field'],
    ['DE', 'criteria'],
  ])('refuses %j naming %s', (input, path) => {
    const e = errorOf(input);
    expect(e).toBeInstanceOf(ValidationError);
    expect(e.field).toBe(path);
    expect(e.message.startsWith(path)).toBe(true);
  });

  it('limits depth and size', () => {
    let deep: unknown = { field: 'country', op: 'eq', value: 'DE' };
    for (let i = 0; i < 20; i++) deep = { not: deep };
    expect(errorOf(deep).message).toContain('deeper');
    const wide = { any: Array.from({ length: 201 }, () => ({ field: 'country', op: 'eq', value: 'DE' })) };
    expect(errorOf(wide).message).toContain('more than 200 conditions');
  });

  it('throws only ValidationError on any input', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 5 }), (input) => {
        try {
          validateCriteria(input);
        } catch (e) {
          expect(e).toBeInstanceOf(ValidationError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('segment criteria: compilation', () => {
  it('keeps every value in parameters', () => {
    const evil = "DE'; DROP TABLE customer; --";
    const { sql, params } = compileCriteria(validateCriteria({ field: 'country', op: 'eq', value: evil }), noSegments);
    expect(sql).toBe('(c.country = $1)');
    expect(params).toEqual([evil]);
  });

  it('compiles groups, negation, orders, responses and attributes', () => {
    const tree = validateCriteria({
      all: [
        { field: 'country', op: 'neq', value: 'DE' },
        { not: { field: 'attributes.vip', op: 'gte', value: 2 } },
        { field: 'orders.total', op: 'gt', value: 10_000 },
        { field: 'responses.click.count', op: 'gte', value: 1, program: 'P1' },
        { field: 'createdAt', op: 'withinDays', value: 30 },
        { field: 'email', op: 'contains', value: '50%_off' },
      ],
    });
    const { sql, params } = compileCriteria(tree, { ...noSegments, paramOffset: 2 });
    expect(sql).toBe(
      '((c.country IS DISTINCT FROM $3)' +
        " AND (NOT coalesce((jsonb_typeof(c.attributes -> $4::text) = 'number' AND ((c.attributes ->> $5::text))::numeric >= $6), false))" +
        ' AND ((SELECT coalesce(sum(o.amount), 0) FROM customer_order o WHERE o.customer_id = c.id) > $7)' +
        ' AND ((SELECT count(*) FROM response r WHERE r.customer_id = c.id AND r.type = $8 AND r.program_id = (SELECT pr.id FROM program pr WHERE lower(pr.code) = lower($9))) >= $10)' +
        ' AND (c.created_at >= $11::timestamptz - make_interval(days => $12::int))' +
        " AND (c.email ILIKE '%' || $13 || '%'))",
    );
    expect(params).toEqual(['DE', 'vip', 'vip', 2, 10_000, 'click', 'P1', 1, now.toISOString(), 30, '50\\%\\_off']);
  });

  it('inlines saved segments and refuses cycles and unknown ones', () => {
    const saved: Record<string, CriteriaNode> = {
      lapsed: { field: 'orders.lastAt', op: 'beforeDays', value: 180 },
      a: { op: 'inSegment', value: 'b' },
      b: {
        all: [
          { field: 'country', op: 'eq', value: 'DE' },
          { op: 'inSegment', value: 'A' },
        ],
      },
    };
    const ctx = { now, segment: (code: string) => saved[code.toLowerCase()] ?? null };
    const { sql } = compileCriteria(validateCriteria({ op: 'inSegment', value: 'lapsed' }), ctx);
    expect(sql).toBe(
      '((SELECT max(o.ordered_at) FROM customer_order o WHERE o.customer_id = c.id) < $1::timestamptz - make_interval(days => $2::int))',
    );
    expect(() => compileCriteria({ op: 'inSegment', value: 'a' }, ctx)).toThrow(
      'segment "A" refers to itself: a -> b -> a',
    );
    expect(() => compileCriteria({ op: 'inSegment', value: 'nope' }, ctx)).toThrow('segment "nope" does not exist');
  });
});
