import { randomBytes } from 'node:crypto';

/** Small factories for request bodies (STYLE.md "Tests"): unique codes, overridable fields. */
let seq = 0;
export const uniqueCode = (prefix: string): string =>
  `${prefix}-${(++seq).toString(36)}${randomBytes(3).toString('hex')}`.toUpperCase();

export const aCampaign = (over: Record<string, unknown> = {}) => ({
  code: uniqueCode('CMP'),
  name: '2026 loyalty drive',
  objective: 'win back lapsed buyers',
  startsAt: '2026-01-01T00:00:00.000Z',
  endsAt: '2026-12-31T23:59:59.000Z',
  budget: { amount: 5_000_000, currency: 'EUR' },
  ...over,
});

export const anOffer = (over: Record<string, unknown> = {}) => ({
  code: uniqueCode('OFF'),
  name: '10% off',
  type: 'percent_off',
  value: 10,
  ...over,
});

export const abControlCells = (prefix = uniqueCode('CELL')) => [
  { code: `${prefix}-A`, name: 'Treatment A', weight: 45 },
  { code: `${prefix}-B`, name: 'Treatment B', weight: 45 },
  { code: `${prefix}-CTL`, name: 'Control', weight: 10, isControl: true },
];

export const aProgram = (over: Record<string, unknown> = {}) => ({
  code: uniqueCode('PRG'),
  name: 'Coupon for lapsed buyers',
  channel: 'email',
  segment: 'lapsed-buyers',
  template: 'coupon-email',
  attributionWindowDays: 14,
  cells: abControlCells(),
  ...over,
});
