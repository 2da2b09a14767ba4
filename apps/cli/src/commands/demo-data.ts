/**
 * The demo's synthetic world, reproducible from a seed: a customer base with orders that match
 * each customer's lifecycle stage, and how the customers behave once a campaign reaches them
 * (opens, clicks, unsubscribes and purchases, with known true conversion rates per cell).
 * Nothing here does I/O: the demo command sends it all through the API and the tracking links.
 */

/** mulberry32: a tiny, fast, seeded PRNG (uniform in [0, 1)); good enough for a simulation. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seed from text (FNV-1a), so each cell gets its own stream of draws. */
export function seedOf(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

export const DEMO_SEED = 2026;
const DAY_MS = 86_400_000;

export type Stage = 'prospect' | 'new' | 'active' | 'at-risk' | 'lapsed' | 'won-back';

/** Share of the base per lifecycle stage, and the purchase history that goes with it. */
const STAGES: { stage: Stage; share: number; orders: [number, number]; lastDaysAgo: [number, number] }[] = [
  { stage: 'prospect', share: 0.1, orders: [0, 0], lastDaysAgo: [0, 0] },
  { stage: 'new', share: 0.1, orders: [1, 1], lastDaysAgo: [1, 30] },
  { stage: 'active', share: 0.28, orders: [2, 6], lastDaysAgo: [1, 90] },
  { stage: 'at-risk', share: 0.15, orders: [2, 5], lastDaysAgo: [91, 180] },
  { stage: 'lapsed', share: 0.3, orders: [1, 4], lastDaysAgo: [181, 720] },
  { stage: 'won-back', share: 0.07, orders: [3, 5], lastDaysAgo: [1, 60] },
];

const COUNTRIES = [
  {
    country: 'DE',
    share: 0.55,
    locale: 'de-DE',
    timeZone: 'Europe/Berlin',
    mobile: (i: number) => `+49151${pad(i, 8)}`,
  },
  {
    country: 'AT',
    share: 0.15,
    locale: 'de-AT',
    timeZone: 'Europe/Vienna',
    mobile: (i: number) => `+43664${pad(i, 7)}`,
  },
  {
    country: 'CH',
    share: 0.12,
    locale: 'de-CH',
    timeZone: 'Europe/Zurich',
    mobile: (i: number) => `+4179${pad(i, 7)}`,
  },
  { country: 'FR', share: 0.09, locale: 'fr-FR', timeZone: 'Europe/Paris', mobile: (i: number) => `+336${pad(i, 8)}` },
  {
    country: 'NL',
    share: 0.09,
    locale: 'nl-NL',
    timeZone: 'Europe/Amsterdam',
    mobile: (i: number) => `+316${pad(i, 8)}`,
  },
];

const FIRST_NAMES = ['Anna', 'Ben', 'Clara', 'David', 'Eva', 'Felix', 'Greta', 'Hannah', 'Jonas', 'Lea', 'Luca', 'Mia'];
const LAST_NAMES = [
  'Müller',
  'Schmidt',
  'Weber',
  'Fischer',
  'Meyer',
  'Wagner',
  'Becker',
  'Hofmann',
  'Dubois',
  'Jansen',
];

function pad(i: number, digits: number): string {
  return String(i % 10 ** digits).padStart(digits, '0');
}

export interface DemoCustomer {
  externalId: string;
  email?: string;
  phone?: string;
  firstName: string;
  lastName: string;
  locale: string;
  timeZone: string;
  country: string;
  birthDate: string;
  lifecycleStage: Stage;
  consent: { email: boolean; sms: boolean };
  attributes: Record<string, unknown>;
}

export interface DemoOrder {
  externalId: string;
  customerExternalId: string;
  orderedAt: string;
  amount: number;
  margin: number;
  currency: 'EUR';
}

export interface Population {
  customers: DemoCustomer[];
  orders: DemoOrder[];
  byStage: Record<Stage, number>;
}

/**
 * n customers across countries and lifecycle stages, each with orders whose timing fits the stage
 * (no offer codes: history is not a campaign's conversion). About 3% have no email, 1% share one
 * with the previous customer (a household: the list's dedupe step removes one), 70% have a mobile
 * number, consent is 92% for email and 55% for SMS.
 */
export function generatePopulation(run: string, n: number, now = Date.now(), seed = DEMO_SEED): Population {
  const random = mulberry32(seed);
  const between = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
  const pick = <T extends { share: number }>(xs: T[]): T => {
    let r = random();
    for (const x of xs) if ((r -= x.share) < 0) return x;
    return xs[xs.length - 1];
  };
  const tag = run.toLowerCase();
  const customers: DemoCustomer[] = [];
  const orders: DemoOrder[] = [];
  const byStage = Object.fromEntries(STAGES.map((s) => [s.stage, 0])) as Record<Stage, number>;
  let previousEmail: string | undefined;
  // Numbers differ from run to run (a number suppressed in one run must not follow into the next).
  const numberOffset = seedOf(run) % 1_000_000;
  for (let i = 0; i < n; i++) {
    const place = pick(COUNTRIES);
    const profile = pick(STAGES);
    byStage[profile.stage]++;
    const firstName = FIRST_NAMES[Math.floor(random() * FIRST_NAMES.length)];
    const lastName = LAST_NAMES[Math.floor(random() * LAST_NAMES.length)];
    const r = random();
    const email =
      r < 0.03
        ? undefined
        : r < 0.04 && previousEmail
          ? previousEmail
          : `${firstName}.${lastName.replace('ü', 'ue')}.${i}.${tag}@example.com`.toLowerCase();
    previousEmail = email;
    const hasPhone = random() < 0.7;
    const externalId = `demo-${run}-${i}`;
    customers.push({
      externalId,
      email,
      phone: hasPhone ? place.mobile(i * 7 + numberOffset) : undefined,
      firstName,
      lastName,
      locale: place.locale,
      timeZone: place.timeZone,
      country: place.country,
      birthDate: new Date(Date.UTC(between(1950, 2005), between(0, 11), between(1, 28))).toISOString().slice(0, 10),
      lifecycleStage: profile.stage,
      consent: { email: random() < 0.92, sms: hasPhone && random() < 0.55 },
      attributes: {
        run,
        tier: pick([
          { tier: 'gold', share: 0.1 },
          { tier: 'silver', share: 0.3 },
          { tier: 'bronze', share: 0.6 },
        ]).tier,
      },
    });
    // Orders: the latest one at the stage's recency, earlier ones spread over the two years before it.
    const count = between(profile.orders[0], profile.orders[1]);
    let at = now - between(profile.lastDaysAgo[0], profile.lastDaysAgo[1]) * DAY_MS - between(0, 86_399) * 1000;
    for (let k = 0; k < count; k++) {
      // Won-back customers: one recent order after a long gap.
      if (k === 1 && profile.stage === 'won-back') at -= between(365, 540) * DAY_MS;
      const amount = between(15, 180) * 100 + between(0, 99);
      orders.push({
        externalId: `demo-${run}-${i}-o${k}`,
        customerExternalId: externalId,
        orderedAt: new Date(at).toISOString(),
        amount,
        margin: Math.round(amount * (0.2 + random() * 0.2)),
        currency: 'EUR',
      });
      at -= between(20, 120) * DAY_MS;
    }
  }
  return { customers, orders, byStage };
}

/**
 * The true conversion rates per member, by the last part of the cell code (the control included:
 * rates are per member, intention to treat). B's urgent subject line more than doubles A's rate; A
 * is barely above the control, which converts on its own (people who would have bought anyway).
 */
export const TRUE_RATES: Record<string, number> = { A: 0.025, B: 0.06, CTL: 0.02, SMS: 0.05 };

/** Mail clients and browsers the simulated customers use (a Gmail proxy's opens are flagged as machine opens). */
export const OPEN_AGENTS = [
  { share: 0.35, ua: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)' },
  { share: 0.2, ua: 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Thunderbird/128.5.0' },
  { share: 0.25, ua: 'Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17928; Pro)' },
  {
    share: 0.2,
    ua: 'Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)',
    machine: true,
  },
];
export const CLICK_AGENTS = [
  {
    share: 0.5,
    ua: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  },
  {
    share: 0.3,
    ua: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
  },
  { share: 0.2, ua: 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0' },
];

export interface Member {
  externalId: string;
  address: string;
  cell: string;
}

/** What one member does. User agents are null when the member does not open or click. */
export interface Behaviour extends Member {
  /** Cell suffix: A, B, CTL, SMS. */
  arm: string;
  converts: boolean;
  /** In cents. */
  value: number;
  /** Where in [send done, now] the purchase falls, 0..1. */
  when: number;
  /** One user agent per open (a second open of the same message is a re-read). */
  opens: string[];
  openedByMachine: boolean;
  click: string | null;
  unsubscribes: boolean;
}

/**
 * Each member's behaviour, drawn from the cell's own seeded stream in list order, so the counts
 * per cell depend only on the seed and the cell's size (a re-run of the same size gives the same
 * figures, whoever lands in which cell). Converters in mailed cells mostly opened and clicked first.
 */
export function simulateMembers(members: Member[], armOf: (cell: string) => string, seed = DEMO_SEED): Behaviour[] {
  const streams = new Map<string, () => number>();
  const pickUa = (random: () => number, xs: { share: number; ua: string; machine?: boolean }[]) => {
    let r = random();
    for (const x of xs) if ((r -= x.share) < 0) return x;
    return xs[xs.length - 1];
  };
  return members.map((m) => {
    const arm = armOf(m.cell);
    let random = streams.get(arm);
    if (!random) streams.set(arm, (random = mulberry32(seedOf(`${seed}:${arm}`))));
    // A fixed number of draws per member keeps the streams aligned whatever the outcomes.
    const [u1, u2, u3, u4, u5, u6, u7, u8, u9] = Array.from({ length: 9 }, random);
    const converts = u1 < (TRUE_RATES[arm] ?? 0);
    const mailed = arm !== 'CTL' && arm !== 'SMS';
    const openRate = arm === 'B' ? 0.34 : 0.26;
    const opened = mailed && (converts ? u2 < 0.9 : u2 < openRate);
    const clicked = mailed && (converts ? u3 < 0.8 : opened && u3 < 0.22);
    const openAgent = pickUa(() => u4, OPEN_AGENTS);
    return {
      ...m,
      arm,
      converts,
      value: Math.round((25 + u5 * u5 * 140) * 100),
      when: u6,
      opens: opened ? (u7 < 0.25 ? [openAgent.ua, openAgent.ua] : [openAgent.ua]) : [],
      openedByMachine: opened && !!openAgent.machine,
      click: clicked ? pickUa(() => u8, CLICK_AGENTS).ua : null,
      unsubscribes: mailed && !converts && u9 < 0.006,
    };
  });
}
