import type { ContactFigures, MoneyFigures, Scorecard } from '../scorecard-types';

/**
 * A hand-made scorecard for the renderers' specs: March 2026, money in EUR and JPY, the six stages,
 * a segment and one whose criteria no longer compile, an email program with figures and an SMS
 * program that sent nothing yet. A fresh copy on every call, so a spec can change it.
 */
export function scorecardFixture(): Scorecard {
  const eur = (orders: number, buyers: number, revenue: number, margin: number, withMargin = orders) => ({
    currency: 'EUR',
    orders,
    buyers,
    revenue,
    margin,
    ordersWithMargin: withMargin,
    averageOrderValue: orders ? revenue / orders : null,
  });
  const jpy = (): MoneyFigures => ({
    currency: 'JPY',
    orders: 10,
    buyers: 8,
    revenue: 120_000,
    margin: -5_000,
    ordersWithMargin: 10,
    averageOrderValue: 12_000,
  });
  // The email program's figures: also the email channel's and all programs' together.
  const sent = (): ContactFigures => ({
    members: 10_000,
    contacted: 9_000,
    delivered: 8_800,
    bounced: 200,
    responders: 450,
    conversions: 310,
    unsubscribes: 44,
    complaints: 3,
    responseRate: 0.05,
    conversionRate: 0.031,
    unsubscribeRate: 0.005,
    bounceRate: 0.022222222222222223,
    complaintRate: 0.0003409090909090909,
  });
  // The SMS program's and channel's: nothing sent, so no rate has a denominator.
  const unsent = (): ContactFigures => ({
    members: 0,
    contacted: 0,
    delivered: 0,
    bounced: 0,
    responders: 0,
    conversions: 0,
    unsubscribes: 0,
    complaints: 0,
    responseRate: null,
    conversionRate: null,
    unsubscribeRate: null,
    bounceRate: null,
    complaintRate: null,
  });
  return {
    period: { from: '2026-03-01T00:00:00.000Z', to: '2026-04-01T00:00:00.000Z' },
    generatedAt: '2026-04-02T06:30:00.000Z',
    lifecycleThresholds: { newWithinDays: 90, activeWithinDays: 180, lapsedAfterDays: 365, wonBackGapDays: 365 },
    customers: { total: 1200, new: 45, lost: 30 },
    money: [eur(300, 210, 1_534_500, 420_000, 280), jpy()],
    lifecycleStages: [
      { stage: 'prospect', customers: 400, money: [] },
      { stage: 'new', customers: 100, money: [eur(60, 50, 300_000, 90_000)] },
      { stage: 'active', customers: 350, money: [eur(200, 130, 1_034_500, 300_000, 190), jpy()] },
      { stage: 'at-risk', customers: 150, money: [eur(10, 10, 50_000, 10_000, 0)] },
      { stage: 'lapsed', customers: 180, money: [] },
      { stage: 'won-back', customers: 20, money: [eur(30, 20, 150_000, 20_000)] },
    ],
    segments: [
      { code: 'VIP', name: 'Best customers', customers: 120, money: [eur(90, 60, 700_000, 200_000)], error: null },
      {
        code: 'GONE',
        name: 'Refers to a removed segment',
        customers: null,
        money: [],
        error: 'segment "old" does not exist',
      },
    ],
    segmentsOmitted: 3,
    programs: [
      {
        id: '0b7f1c2e-5d3a-4c1b-9e8f-2a6d4c3b1a00',
        code: 'SPRING25',
        name: 'Spring sale 2025',
        channel: 'email',
        state: 'completed',
        launchedAt: '2026-03-03T08:00:00.000Z',
        revenue: 1_534_500,
        currency: 'EUR',
        ...sent(),
      },
      {
        id: '1c8e2d3f-6e4b-4d2c-8f90-3b7e5d4c2b11',
        code: 'FLASH-SMS',
        name: 'Flash sale by text',
        channel: 'sms',
        state: 'running',
        launchedAt: '2026-03-20T10:00:00.000Z',
        revenue: 0,
        currency: null,
        ...unsent(),
      },
    ],
    programsOmitted: 0,
    channels: [
      { channel: 'email', programs: 1, ...sent() },
      { channel: 'sms', programs: 1, ...unsent() },
    ],
    contact: sent(),
  };
}
