/** What a message is personalised from: one customer, and the offer, cell and program of the send. */
export interface RenderContext {
  customer: Record<string, unknown>;
  offer?: Record<string, unknown> | null;
  cell?: Record<string, unknown> | null;
  program?: Record<string, unknown> | null;
  /** The signed unsubscribe URL of this send: shown in the footer, never rewritten for tracking. */
  unsubscribeUrl: string;
  /** BCP 47 locale for dates and money; default: `customer.locale`, then en-US. */
  locale?: string;
  /** IANA time zone for dates; default: `customer.timeZone`, then UTC. */
  timeZone?: string;
}

/** Tracking URLs of one send, from the caller (the click destination is looked up server-side by index). */
export interface LinkTracking {
  clickUrl(index: number, destination: string): string;
  openPixelUrl: string;
}

const DEFAULT_LOCALE = 'en-US';
const DEFAULT_TIME_ZONE = 'UTC';

const nonEmptyString = (value: unknown): string | undefined =>
  typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;

/**
 * The state of one render, handed to the helpers through handlebars' `@data` (a template cannot
 * reach it: helpers read it from `options.data`). One per message: links and notes never leak
 * from one customer's message into another's.
 */
export class RenderState {
  /** Destinations of the tracked links, by index, in document order. */
  readonly links: string[] = [];
  /** Problems a helper met (a value that is not a date or an amount), for preview. */
  readonly notes: string[] = [];
  /** True while the plain-text part is rendered: link values are raw text, not HTML. */
  isText = false;
  /** The message's parts (subject, html, text), captured as one template run renders them. */
  readonly parts: Record<string, string> = {};
  readonly locale: string;
  readonly timeZone: string;

  constructor(
    readonly context: RenderContext,
    readonly tracking: LinkTracking | null,
  ) {
    this.locale = nonEmptyString(context.locale) ?? nonEmptyString(context.customer?.locale) ?? DEFAULT_LOCALE;
    this.timeZone = nonEmptyString(context.timeZone) ?? nonEmptyString(context.customer?.timeZone) ?? DEFAULT_TIME_ZONE;
  }

  note(message: string): void {
    if (!this.notes.includes(message)) this.notes.push(message);
  }
}

/** The key under which a render's state travels in handlebars' data frame. */
export const RENDER_STATE_KEY = 'closeloopRender';

export function renderStateOf(options: unknown): RenderState | undefined {
  const data = (options as { data?: Record<string, unknown> } | undefined)?.data;
  const state = data?.[RENDER_STATE_KEY];
  return state instanceof RenderState ? state : undefined;
}
