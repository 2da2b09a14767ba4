import { collectVariableChecks, findMissingVariables } from './missing-variables';
import { parseTemplate } from './template-syntax';

const missing = (source: string, root: unknown) =>
  findMissingVariables(collectVariableChecks(parseTemplate(source, 'html'), new Set(['money', 'formatDate'])), root);

describe('missing variables', () => {
  it('checks printed paths and helper arguments against the root context', () => {
    const source =
      '{{customer.firstName}} {{this.customer.lastName}} {{money offer.value offer.currency}} {{@root.cell.code}}';
    expect(
      missing(source, {
        customer: { firstName: 'A', lastName: 'B' },
        offer: { value: 1, currency: 'EUR' },
        cell: { code: 'C' },
      }),
    ).toEqual([]);
    expect(missing(source, { customer: { firstName: null }, offer: {} })).toEqual([
      'customer.firstName',
      'customer.lastName',
      'offer.value',
      'offer.currency',
      'cell.code',
    ]);
  });

  it('counts an empty string or a zero as present', () => {
    expect(missing('{{customer.title}}{{customer.orders}}', { customer: { title: '', orders: 0 } })).toEqual([]);
  });

  it('follows if, unless and else branches the way this context takes them', () => {
    const source = '{{#if customer.vip}}{{customer.vipSince}}{{else}}{{customer.joined}}{{/if}}';
    expect(missing(source, { customer: { vip: true } })).toEqual(['customer.vipSince']);
    expect(missing(source, { customer: { vip: [] } })).toEqual(['customer.joined']);
  });

  it('leaves paths inside each and with alone, except @root ones', () => {
    const source = '{{#each customer.orders}}{{sku}}{{@root.program.name}}{{/each}}{{#with offer}}{{code}}{{/with}}';
    expect(missing(source, { customer: { orders: [{ sku: 'x' }] } })).toEqual(['program.name']);
    expect(missing(source, { customer: { orders: [] } })).toEqual([]);
  });

  it('never reads past own properties', () => {
    expect(missing('{{customer.constructor.name}}{{customer.hasOwnProperty}}', { customer: {} })).toEqual([
      'customer.constructor.name',
      'customer.hasOwnProperty',
    ]);
  });
});
