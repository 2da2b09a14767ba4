/** Reading rendered HTML pages back in specs (assertions with jest's `expect`). */

/** How many times `pattern` (a global regex) occurs in `text`. */
export function countMatches(text: string, pattern: RegExp): number {
  return (text.match(pattern) ?? []).length;
}

/** The markup of one inline SVG, by id. */
export function svgById(html: string, id: string): string {
  const start = html.indexOf(`<svg id="${id}"`);
  expect(start).toBeGreaterThanOrEqual(0);
  return html.slice(start, html.indexOf('</svg>', start) + 6);
}

/** The markup of one table, by class. */
export function tableByClass(html: string, cls: string): string {
  const start = html.indexOf(`<table class="${cls}">`);
  expect(start).toBeGreaterThanOrEqual(0);
  return html.slice(start, html.indexOf('</table>', start));
}

/** One self-contained page: no scripts, no network, inline CSS. */
export function expectSelfContainedPage(html: string): void {
  expect(html.startsWith('<!doctype html>')).toBe(true);
  expect(html).toContain('<style>');
  expect(html).not.toMatch(/<script/i);
  expect(html).not.toMatch(/https?:\/\//i);
  expect(html).not.toMatch(/<link|@import|url\(|<iframe|<img|\son[a-z]+=/i);
}

/** The inner markup of each `<td>` of the table row whose opening tag is `rowTag` (e.g. `<tr data-step="x">`). */
export function rowCells(html: string, rowTag: string): string[] {
  const start = html.indexOf(rowTag);
  expect(start).toBeGreaterThanOrEqual(0);
  const row = html.slice(start, html.indexOf('</tr>', start));
  return [...row.matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((m) => m[1]);
}

/** The page header's facts, as [label, value] pairs (markup as written). */
export function factsOf(html: string): [string, string][] {
  return [...html.matchAll(/<div><dt>([\s\S]*?)<\/dt><dd>([\s\S]*?)<\/dd><\/div>/g)].map((m) => [m[1], m[2]]);
}
