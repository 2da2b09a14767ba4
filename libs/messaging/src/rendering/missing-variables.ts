/**
 * Missing variables render empty (handlebars' rule); preview reports them. The paths a template
 * prints are found once in its AST, with the `{{#if}}` / `{{#unless}}` conditions they sit under,
 * and checked against each customer's context: `{{#if customer.title}}{{customer.title}}{{/if}}`
 * warns about nothing, since the missing title is never printed.
 */

/** A root-context condition a path sits under: its block runs only when `path` is truthy (or falsy). */
interface Guard {
  path: string[];
  isTruthy: boolean;
}

export interface VariableCheck {
  path: string[];
  guards: Guard[];
}

/** Block helpers whose first parameter is tested, not printed. */
const CONDITIONS = new Set(['if', 'unless', 'each', 'with']);

interface Scope {
  /** False inside `{{#each}}` / `{{#with}}` / a section: a plain path then resolves against another object. */
  isRoot: boolean;
  /** Null when a condition could not be resolved from the root: checks below it are dropped. */
  guards: Guard[] | null;
}

type Node = hbs.AST.Node & Record<string, unknown>;

/** A path read from the root context (`customer.firstName`, `this.offer.code`, `@root.cell.code`), else null. */
function rootPath(node: unknown, scope: Scope): string[] | null {
  const path = node as hbs.AST.PathExpression;
  if (path?.type !== 'PathExpression' || path.parts.length === 0) return null;
  if (path.data) return path.parts[0] === 'root' && path.parts.length > 1 ? path.parts.slice(1) : null;
  return scope.isRoot && path.depth === 0 ? path.parts : null;
}

/** Finds every path the template prints or passes to a helper, with the guards above it. */
export function collectVariableChecks(ast: hbs.AST.Program, helpers: ReadonlySet<string>): VariableCheck[] {
  const checks = new Map<string, VariableCheck>();

  const addCheck = (node: unknown, scope: Scope): void => {
    const path = rootPath(node, scope);
    if (!path || !scope.guards) return;
    const check = { path, guards: scope.guards };
    checks.set(JSON.stringify(check), check);
  };

  const visitArguments = (n: Node, scope: Scope): void => {
    for (const param of (n.params as Node[]) ?? []) visitExpression(param, scope);
    for (const pair of (n.hash as hbs.AST.Hash | undefined)?.pairs ?? []) visitExpression(pair.value as Node, scope);
  };

  const visitExpression = (n: Node, scope: Scope): void => {
    if (n.type === 'SubExpression') visitArguments(n, scope);
    else addCheck(n, scope);
  };

  const guarded = (scope: Scope, condition: unknown, isTruthy: boolean, isRoot = scope.isRoot): Scope => {
    const path = rootPath(condition, scope);
    return { isRoot, guards: path && scope.guards ? [...scope.guards, { path, isTruthy }] : null };
  };

  const visit = (n: Node | null | undefined, scope: Scope): void => {
    if (!n) return;
    switch (n.type) {
      case 'Program':
        for (const statement of (n.body as Node[]) ?? []) visit(statement, scope);
        return;
      case 'MustacheStatement': {
        const name = (n.path as hbs.AST.PathExpression).original;
        const hasArguments =
          ((n.params as unknown[]) ?? []).length > 0 || ((n.hash as hbs.AST.Hash | undefined)?.pairs ?? []).length > 0;
        if (hasArguments || helpers.has(name)) visitArguments(n, scope);
        else addCheck(n.path, scope);
        return;
      }
      case 'BlockStatement': {
        const name = (n.path as hbs.AST.PathExpression).original;
        const condition = ((n.params as Node[]) ?? [])[0];
        if (CONDITIONS.has(name)) {
          // `if`/`unless` keep the context; `each`/`with` move into the value, but their `else` does not.
          const isTruthy = name !== 'unless';
          const staysAtRoot = name === 'if' || name === 'unless';
          visit(n.program as Node, guarded(scope, condition, isTruthy, staysAtRoot && scope.isRoot));
          visit(n.inverse as Node, guarded(scope, condition, !isTruthy));
          return;
        }
        if (helpers.has(name)) {
          // Our block helpers (the link wrapper) render their block in the same context.
          visitArguments(n, scope);
          visit(n.program as Node, scope);
          visit(n.inverse as Node, scope);
          return;
        }
        // A section, `{{#customer.vip}}...{{/customer.vip}}`: runs in the value when truthy.
        visit(n.program as Node, guarded(scope, n.path, true, false));
        visit(n.inverse as Node, guarded(scope, n.path, false));
        return;
      }
      default:
        // Partials, decorators, comments and content print no path of the root context we can follow.
        return;
    }
  };

  visit(ast as unknown as Node, { isRoot: true, guards: [] });
  return [...checks.values()];
}

/** Own properties only, as handlebars resolves them with prototype access off. */
function resolve(root: unknown, path: readonly string[]): unknown {
  let value = root;
  for (const part of path) {
    if (value === null || typeof value !== 'object' || !Object.prototype.hasOwnProperty.call(value, part)) {
      return undefined;
    }
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** handlebars' truthiness for `{{#if}}`: false, 0, '', null, undefined and [] are falsy. */
const isTruthy = (value: unknown): boolean => Boolean(value) && !(Array.isArray(value) && value.length === 0);

/** The checked paths that this context leaves empty and that the template would print. */
export function findMissingVariables(checks: readonly VariableCheck[], root: unknown): string[] {
  const missing: string[] = [];
  for (const check of checks) {
    if (!check.guards.every((g) => isTruthy(resolve(root, g.path)) === g.isTruthy)) continue;
    const value = resolve(root, check.path);
    const name = check.path.join('.');
    if ((value === undefined || value === null) && !missing.includes(name)) missing.push(name);
  }
  return missing;
}
