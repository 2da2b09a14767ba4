import Handlebars from 'handlebars';
import juice from 'juice';
import { TemplateCompileError, ValidationError } from '@closeloop/core';
import {
  IntlFormats,
  INTERNAL_HELPERS,
  LINK_HELPER,
  OPEN_PIXEL_HELPER,
  PART_HELPER,
  registerTemplateHelpers,
  TEMPLATE_HELPERS,
} from './helpers';
import { decodeAttribute, HrefSpan, scanDocument, wrapHrefs } from './link-rewriting';
import { collectVariableChecks, findMissingVariables, VariableCheck } from './missing-variables';
import { LinkTracking, RENDER_STATE_KEY, RenderContext, RenderState } from './render-state';
import {
  applyLayout,
  defaultTemplatesDir,
  expandPartials,
  extractPreheader,
  isLayoutName,
  loadTemplateLibrary,
  TemplateLibrary,
} from './template-library';
import {
  checkVocabulary,
  CodeSpan,
  findCodeSpans,
  isSelfContained,
  maskCode,
  parseTemplate,
  TemplatePart,
  TemplateVocabulary,
  walkTemplate,
} from './template-syntax';
import { deriveTextTemplate, htmlToText } from './text-part';

export type { LinkTracking, RenderContext } from './render-state';
export type { TemplatePart } from './template-syntax';
export { TEMPLATE_HELPERS, DATE_STYLES } from './helpers';
export type { DateStyle } from './helpers';

export interface EmailTemplateSource {
  subject: string;
  html: string;
  /** The plain-text part; when absent it is generated from the HTML. */
  text?: string | null;
  /** A layout under templates/layouts (default `default`); null: the HTML is the whole document. */
  layout?: string | null;
}

export interface SmsTemplateSource {
  body: string;
}

export interface RenderedEmail {
  subject: string;
  html: string;
  text: string;
  /** Destinations of the tracked links by index, as the click endpoint looks them up. */
  links: string[];
  /** For preview: variables this customer leaves empty, values a helper could not format. */
  warnings: string[];
}

export interface RenderedSms {
  text: string;
  warnings: string[];
}

/** How the plain-text part of an email is made. */
export type TextPartSource = 'written' | 'derived' | 'converted';

export interface CompiledEmailTemplate {
  /**
   * `written`: the template's own text part; `derived`: generated once from the HTML template;
   * `converted`: generated from each rendered HTML (when the HTML's blocks defeat deriving it).
   */
  readonly textPart: TextPartSource;
  render(context: RenderContext, tracking?: LinkTracking | null): RenderedEmail;
}

export interface CompiledSmsTemplate {
  render(context: RenderContext): RenderedSms;
}

export interface TemplateEngineOptions {
  /** Folder with layouts/ and partials/; default `<repo>/templates`. */
  templatesDir?: string;
}

const DEFAULT_LAYOUT = 'default';

// Prototype access stays denied (handlebars' default); saying `false` outright also skips the
// console warning handlebars prints for each denied name.
const RUNTIME_OPTIONS = { allowProtoPropertiesByDefault: false, allowProtoMethodsByDefault: false } as const;

/** A context with nothing in it: compiling renders once with it so handlebars compiles eagerly, not at the first send. */
const PROBE_CONTEXT: RenderContext = { customer: {}, unsubscribeUrl: 'https://example.invalid/unsubscribe' };
const PROBE_TRACKING: LinkTracking = {
  clickUrl: () => 'https://example.invalid/click',
  openPixelUrl: 'https://example.invalid/open',
};

const missingWarning = (path: string): string => `${path} is missing for this customer`;

type Template = Handlebars.TemplateDelegate<RenderContext>;

interface MessagePart {
  part: TemplatePart;
  source: string;
  isPlainText: boolean;
}

/** A part ending in a backslash would escape the `{{/` that closes its block. */
const keepClosable = (source: string): string => (source.endsWith('\\') ? `${source}\n` : source);

function execute(template: Template, context: RenderContext, state: RenderState): string {
  return template(context, { ...RUNTIME_OPTIONS, data: { [RENDER_STATE_KEY]: state } });
}

class CompiledEmail implements CompiledEmailTemplate {
  constructor(
    /** Renders subject, html and (unless converted) text into the render state's parts. */
    private readonly message: Template,
    readonly textPart: TextPartSource,
    private readonly checks: readonly VariableCheck[],
  ) {}

  render(context: RenderContext, tracking: LinkTracking | null = null): RenderedEmail {
    const state = new RenderState(context, tracking);
    execute(this.message, context, state);
    const { subject = '', html = '', text = '' } = state.parts;
    return {
      // A subject is a header: one line, whatever a customer field holds.
      subject: subject.replace(/\s*[\r\n]+\s*/g, ' ').trim(),
      html,
      text:
        this.textPart === 'converted' ? htmlToText(html) : this.textPart === 'derived' ? tidyText(text) : text.trim(),
      links: state.links,
      warnings: [...findMissingVariables(this.checks, context).map(missingWarning), ...state.notes],
    };
  }
}

class CompiledSms implements CompiledSmsTemplate {
  constructor(
    private readonly body: Template,
    private readonly checks: readonly VariableCheck[],
  ) {}

  render(context: RenderContext): RenderedSms {
    const state = new RenderState(context, null);
    const text = execute(this.body, context, state).trim();
    return { text, warnings: [...findMissingVariables(this.checks, context).map(missingWarning), ...state.notes] };
  }
}

/**
 * Handlebars templates for email and SMS, in an isolated handlebars environment with our helpers.
 * The expensive work happens once per template version in `compile*` (layout and partials, CSS
 * inlining, finding links, the text part, handlebars compilation); `render` only runs handlebars,
 * so a send of 50,000 messages spends its time on SMTP, not here.
 */
export class TemplateEngine {
  private readonly env = Handlebars.create();
  private readonly library: TemplateLibrary;
  private readonly vocabulary: TemplateVocabulary;
  private readonly knownHelpers: Record<string, boolean>;
  private readonly allHelpers: ReadonlySet<string>;

  constructor(options: TemplateEngineOptions = {}) {
    this.library = loadTemplateLibrary(options.templatesDir ?? defaultTemplatesDir());
    registerTemplateHelpers(this.env, new IntlFormats());
    // Partials called with arguments are resolved at render time; compiled here, with escaping on.
    for (const [name, source] of this.library.partials) this.env.registerPartial(name, this.env.compile(source));
    this.vocabulary = {
      helpers: new Set(TEMPLATE_HELPERS),
      partials: new Set(this.library.partials.keys()),
      reserved: new Set(INTERNAL_HELPERS),
    };
    this.allHelpers = new Set([...TEMPLATE_HELPERS, ...INTERNAL_HELPERS]);
    this.knownHelpers = Object.fromEntries([...this.allHelpers].map((name) => [name, true]));
  }

  /** Shipped layouts a template may name. */
  get layouts(): string[] {
    return [...this.library.layouts.keys()].filter(isLayoutName);
  }

  /** Validation only (the save path): throws TemplateCompileError naming part, line and column. */
  checkEmail(source: EmailTemplateSource): void {
    this.checkEmailSource(source);
  }

  checkSms(source: SmsTemplateSource): void {
    this.checkPart(source.body ?? '', 'body');
  }

  compileEmail(source: EmailTemplateSource): CompiledEmailTemplate {
    const layout = this.checkEmailSource(source);
    const tracked = this.trackLinks(this.inlineCss(this.compose(source.html ?? '', layout)));
    const subject = source.subject ?? '';

    let textSource: string | null = null;
    let textPart: TextPartSource = 'converted';
    if (source.text?.trim()) {
      textSource = this.composeText(source.text, layout);
      textPart = 'written';
    } else {
      const derived = deriveTextTemplate(tracked);
      if (derived !== null && parses(derived)) {
        textSource = derived;
        textPart = 'derived';
      }
    }

    const parts: MessagePart[] = [
      { part: 'subject', source: subject, isPlainText: true },
      { part: 'html', source: insertOpenPixel(tracked), isPlainText: false },
    ];
    if (textSource !== null) parts.push({ part: 'text', source: textSource, isPlainText: true });
    // The paths each part prints, for preview's warnings (a derived text part prints the HTML's).
    const checks = [
      ...this.variableChecks(subject, 'subject'),
      ...this.variableChecks(tracked, 'html'),
      ...(textPart === 'written' ? this.variableChecks(textSource!, 'text') : []),
    ];
    const compiled = new CompiledEmail(this.compileMessage(parts), textPart, checks);
    this.probe('html', () => compiled.render(PROBE_CONTEXT, PROBE_TRACKING));
    return compiled;
  }

  compileSms(source: SmsTemplateSource): CompiledSmsTemplate {
    const body = source.body ?? '';
    this.checkPart(body, 'body');
    const compiled = new CompiledSms(this.compile(body, 'body', true), this.variableChecks(body, 'body'));
    this.probe('body', () => compiled.render(PROBE_CONTEXT));
    return compiled;
  }

  private checkEmailSource(source: EmailTemplateSource): string | null {
    const layout = source.layout === undefined ? DEFAULT_LAYOUT : source.layout;
    if (layout !== null && (!isLayoutName(layout) || !this.library.layouts.has(layout))) {
      throw new ValidationError(`layout "${layout}" is not a shipped layout (${this.layouts.join(', ')})`, 'layout');
    }
    this.checkPart(source.subject ?? '', 'subject');
    this.checkPart(source.html ?? '', 'html');
    if (source.text) this.checkPart(source.text, 'text');
    return layout;
  }

  private checkPart(source: string, part: TemplatePart): hbs.AST.Program {
    const ast = parseTemplate(source, part);
    checkVocabulary(ast, part, this.vocabulary);
    return ast;
  }

  /** The whole message as one template: the HTML in its layout, plain partial calls written out. */
  private compose(source: string, layout: string | null): string {
    const { html, preheader } = extractPreheader(source);
    const document = layout === null ? html : applyLayout(this.library.layouts.get(layout)!, { body: html, preheader });
    return expandPartials(document, this.library.partials);
  }

  private composeText(text: string, layout: string | null): string {
    const textLayout = layout === null ? undefined : this.library.layouts.get(`${layout}.text`);
    return expandPartials(textLayout ? applyLayout(textLayout, { body: text }) : text, this.library.partials);
  }

  /** Moves `<style>` rules onto the elements (mail clients drop style blocks); media queries stay. */
  private inlineCss(html: string): string {
    try {
      // juice sets handlebars code aside while it parses (its `codeBlocks`) and puts it back verbatim.
      return juice(html, { preserveMediaQueries: true, preserveImportant: true });
    } catch (error) {
      throw new TemplateCompileError(`html: the CSS could not be inlined: ${(error as Error).message}`, 1, 1, 'html');
    }
  }

  /**
   * Wraps each http(s) link's href value in the link helper, which swaps in the tracking URL when
   * the message renders. Found here once, with an HTML tokenizer over the template (its code
   * blanked out), so a render does no HTML parsing at all.
   */
  private trackLinks(html: string): string {
    const spans = findCodeSpans(html);
    const { hrefs } = scanDocument(maskCode(html, spans));
    const trackable = hrefs.filter((href) => mayBeTracked(html, href, spans));
    return wrapHrefs(html, trackable, `{{#${LINK_HELPER}}}`, `{{/${LINK_HELPER}}}`);
  }

  /**
   * The parts of a message as blocks of one template, `{{#closeloop-part "html"}}...{{/closeloop-part}}`,
   * so a message costs one handlebars run. Plain-text parts print values unescaped (as `{{{x}}}`).
   */
  private compileMessage(parts: readonly MessagePart[]): Template {
    const source = parts
      .map(({ part, source }) => `{{#${PART_HELPER} "${part}"}}${keepClosable(source)}{{/${PART_HELPER}}}`)
      .join('');
    let ast: hbs.AST.Program;
    try {
      ast = Handlebars.parseWithoutProcessing(source);
    } catch {
      // Each part parsed alone, so only our own assembly can fail here: name the part that does.
      for (const { part, source } of parts) parseTemplate(source, part);
      throw new TemplateCompileError('html: the template does not compile in its layout', 1, 1, 'html');
    }
    ast.body.forEach((block, i) => {
      if (!parts[i].isPlainText) return;
      walkTemplate((block as hbs.AST.BlockStatement).program, (node) => {
        if (node.type === 'MustacheStatement') (node as unknown as hbs.AST.MustacheStatement).escaped = false;
      });
    });
    return this.env.compile<RenderContext>(ast, { knownHelpers: this.knownHelpers });
  }

  private compile(source: string, part: TemplatePart, isPlainText: boolean): Template {
    // handlebars parses lazily, at the first render: parse now so an error names its line and column.
    parseTemplate(source, part);
    return this.env.compile<RenderContext>(source, { noEscape: isPlainText, knownHelpers: this.knownHelpers });
  }

  /** handlebars compiles on first use: render once now, so a broken template fails here, not mid-send. */
  private probe(part: TemplatePart, render: () => unknown): void {
    try {
      render();
    } catch (error) {
      throw new TemplateCompileError(`${part}: the template does not render: ${(error as Error).message}`, 1, 1, part);
    }
  }

  private variableChecks(source: string, part: TemplatePart): VariableCheck[] {
    return collectVariableChecks(parseTemplate(source, part), this.allHelpers);
  }
}

/**
 * An href is worth wrapping when it may render to an http(s) URL: it holds handlebars code, or
 * its literal text is one. Blocks must open and close inside the value, or wrapping would break
 * the template; such a rare link is left untracked.
 */
function mayBeTracked(html: string, href: HrefSpan, spans: readonly CodeSpan[]): boolean {
  const inside = spans.filter((span) => span.start >= href.start && span.end <= href.end);
  if (inside.length === 0) return /^\s*https?:\/\//i.test(decodeAttribute(html.slice(href.start, href.end)));
  return isSelfContained(inside.flatMap((span) => span.tokens));
}

/** Blocks that rendered nothing leave blank lines where html-to-text had put their text: at most one in a row. */
const tidyText = (text: string): string => text.replace(/\n(?:[ \t]*\n){2,}/g, '\n\n').trim();

function parses(source: string): boolean {
  try {
    Handlebars.parse(source);
    return true;
  } catch {
    return false;
  }
}

/** The open pixel goes just before `</body>`, or at the very end of a fragment. */
function insertOpenPixel(html: string): string {
  const { bodyCloseAt } = scanDocument(maskCode(html, findCodeSpans(html)));
  const at = bodyCloseAt ?? html.length;
  return `${html.slice(0, at)}{{${OPEN_PIXEL_HELPER}}}${html.slice(at)}`;
}
