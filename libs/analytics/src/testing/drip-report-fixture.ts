import type { DripReport, DripStepReport } from '../drip-report-types';
import { reportFixture } from './report-fixture';

type Step = DripStepReport & { retired: boolean };

/** A step that sends nothing: its send figures are null. */
function aStep(id: string, type: Step['type'], summary: string, figures: Partial<Step>): Step {
  return {
    id,
    type,
    summary,
    entered: 0,
    current: 0,
    exited: 0,
    exitReasons: {},
    completed: 0,
    sent: null,
    delivered: null,
    heldOut: null,
    failed: null,
    opened: null,
    clicked: null,
    converted: null,
    openRate: null,
    clickRate: null,
    retired: false,
    ...figures,
  };
}

/** A send step: `opened` and `clicked` per delivered message give its rates. */
function aSendStep(id: string, template: string, figures: Partial<Step> & { delivered: number }): Step {
  const opened = figures.opened ?? 0;
  const clicked = figures.clicked ?? 0;
  return aStep(id, 'send', `send ${template} (email)`, {
    heldOut: 0,
    failed: 0,
    converted: 0,
    ...figures,
    opened,
    clicked,
    openRate: figures.delivered ? opened / figures.delivered : null,
    clickRate: figures.delivered ? clicked / figures.delivered : null,
  });
}

/**
 * A hand-made drip report for the renderers' specs: a welcome drip (version 3) whose steps are one of
 * each type, an A/B split with a holdout, and a send step retired with version 2. The enrollment
 * totals are the steps' sums (current, completed, exits by reason). The split and the drip's own
 * program are measured by the program report fixture. A fresh copy on every call, so a spec can change it.
 */
export function dripReportFixture(): DripReport {
  const split = reportFixture();
  split.program = { ...split.program, code: 'drip:WELCOME:ab', name: 'WELCOME split ab', state: 'running' };
  split.waterfall = [];
  const main = reportFixture();
  main.program = { ...main.program, code: 'drip:WELCOME', name: 'WELCOME', state: 'running' };
  main.waterfall = [];
  main.verdict = 'Not significant yet: about 12,000 more members per cell needed.';
  return {
    drip: {
      id: '7d2a9c4e-1b3f-4e5a-8c6d-0f1e2a3b4c5d',
      code: 'WELCOME',
      name: 'Welcome series',
      state: 'active',
      version: 3,
      trigger: 'event signup',
      channels: ['email', 'sms'],
      activatedAt: '2026-02-01T09:00:00.000Z',
    },
    confidence: 0.95,
    generatedAt: '2026-03-02T06:30:00.000Z',
    enrollments: {
      total: 1200,
      active: 60,
      completed: 410,
      exited: 730,
      exitReasons: { converted: 20, unsubscribed: 10, 'exit step': 700 },
    },
    steps: [
      aStep('start', 'wait', 'wait P1D', {
        entered: 1200,
        current: 50,
        exited: 30,
        exitReasons: { converted: 20, unsubscribed: 10 },
      }),
      aSendStep('welcome', 'WELCOME-1', {
        entered: 1120,
        sent: 1000,
        heldOut: 100,
        failed: 20,
        delivered: 980,
        opened: 392,
        clicked: 98,
        converted: 27,
      }),
      aStep('ab', 'split', 'split A 45% / B 45% / holdout 10%', { entered: 1120 }),
      aSendStep('offer-a', 'OFFER-A', {
        entered: 504,
        sent: 500,
        failed: 4,
        delivered: 480,
        opened: 192,
        clicked: 48,
        converted: 20,
      }),
      aSendStep('offer-b', 'OFFER-B', {
        entered: 504,
        sent: 504,
        delivered: 490,
        opened: 147,
        clicked: 49,
        converted: 15,
      }),
      aStep('clicked', 'branch', 'branch clicked OFFER-A or OFFER-B', { entered: 1120 }),
      aStep('tag', 'update', 'update lifecycle = engaged', { entered: 340, current: 10, completed: 330 }),
      aStep('bye', 'exit', 'exit', { entered: 700, exited: 700, exitReasons: { 'exit step': 700 } }),
      aSendStep('remind', 'REMIND-1', {
        entered: 80,
        sent: 80,
        delivered: 78,
        opened: 20,
        clicked: 4,
        converted: 1,
        completed: 80,
        retired: true,
      }),
    ],
    splits: [{ step: 'ab', program: 'drip:WELCOME:ab', report: split }],
    main: { step: 'main', program: 'drip:WELCOME', report: main },
  };
}
