import type { LifecycleStage } from '@closeloop/core';

/**
 * The customer scorecard (PRODUCT.md "scorecard"; `GET /v1/scorecard`). Counts are of customers
 * (people) or members, rates are fractions (0..1) or null when their denominator is 0, money is in
 * integer minor units, always next to its ISO 4217 currency (money figures are grouped by
 * currency, never added across currencies). See ScorecardService for every definition.
 */

/** Orders of a group of customers in the period, in one currency. */
export interface MoneyFigures {
  currency: string;
  orders: number;
  /** Distinct customers with an order in this currency. */
  buyers: number;
  /** Sum of order amounts. */
  revenue: number;
  /** Sum of the margins that are known; `ordersWithMargin` says how many orders had one. */
  margin: number;
  ordersWithMargin: number;
  /** revenue / orders, in minor units (fractional); null without orders. */
  averageOrderValue: number | null;
}

export interface StageFigures {
  stage: LifecycleStage;
  /** Customers at this stage now (erased customers left out). */
  customers: number;
  /** Orders in the period by customers at this stage now, per currency. */
  money: MoneyFigures[];
}

export interface SegmentFigures {
  code: string;
  name: string;
  /** Members now; null when the segment's criteria no longer compile (see `error`). */
  customers: number | null;
  /** Orders in the period by today's members, per currency. */
  money: MoneyFigures[];
  error: string | null;
}

/** Delivery and response figures of a program (or a channel's programs), from the report counters. */
export interface ContactFigures {
  /** Members of the target list, control included. */
  members: number;
  /** Messages handed to the channel: delivered, sent, bounced or of unknown fate. */
  contacted: number;
  delivered: number;
  bounced: number;
  /** Contacted members who clicked (people, not link scanners) or converted. */
  responders: number;
  /** Members who converted at least once (control included). */
  conversions: number;
  unsubscribes: number;
  complaints: number;
  /** responders / contacted. */
  responseRate: number | null;
  /** conversions / members (intention to treat, as in the program report). */
  conversionRate: number | null;
  /** unsubscribes / delivered. */
  unsubscribeRate: number | null;
  /** bounced / contacted. */
  bounceRate: number | null;
  /** complaints / delivered. */
  complaintRate: number | null;
}

export interface ProgramFigures extends ContactFigures {
  id: string;
  code: string;
  name: string;
  channel: 'email' | 'sms';
  state: string;
  launchedAt: string;
  /** Conversion value, in minor units of `currency` (the most frequent conversion currency). */
  revenue: number;
  currency: string | null;
}

export interface ChannelFigures extends ContactFigures {
  channel: 'email' | 'sms';
  programs: number;
}

export interface Scorecard {
  /** Half-open: from <= t < to. */
  period: { from: string; to: string };
  generatedAt: string;
  /** The lifecycle thresholds in force (core LIFECYCLE_THRESHOLDS), in days. */
  lifecycleThresholds: {
    newWithinDays: number;
    activeWithinDays: number;
    lapsedAfterDays: number;
    wonBackGapDays: number;
  };
  customers: {
    /** Customers now, erased ones left out. */
    total: number;
    /** First order ever in the period. */
    new: number;
    /** Crossed into lapsed in the period: last order before `to` fell in [from - 365 days, to - 365 days). */
    lost: number;
  };
  /** Every order in the period, per currency (erased customers' orders included: aggregates are kept). */
  money: MoneyFigures[];
  /** The six stages, in LIFECYCLE_STAGES order, each with its customers and orders. */
  lifecycleStages: StageFigures[];
  /** Saved segments by code, at most MAX_SCORECARD_SEGMENTS. */
  segments: SegmentFigures[];
  /** Saved segments beyond the limit, not computed. */
  segmentsOmitted: number;
  /** Programs launched in the period, by launch time; figures to date. At most MAX_SCORECARD_PROGRAMS. */
  programs: ProgramFigures[];
  programsOmitted: number;
  /** Per channel, over every program launched in the period (omitted ones included). */
  channels: ChannelFigures[];
  /** All programs launched in the period together. */
  contact: ContactFigures;
}
