import { aCampaign, uniqueCode } from './factories';
import type { RoleClient } from './test-api';

/**
 * A program ready to launch, over API calls a marketer would make: the given customers (tagged with
 * `attributes.run` = run), a segment of exactly them, the template, and one cell of 100%.
 */
export async function aLaunchableProgram(
  m: RoleClient,
  options: {
    run: string;
    channel: 'email' | 'sms';
    customers: Record<string, unknown>[];
    template: Record<string, unknown>;
  },
): Promise<{ id: string; code: string }> {
  const { run, channel } = options;
  await m
    .post('/v1/customers', { customers: options.customers.map((c) => ({ ...c, attributes: { run } })) })
    .expect(200);
  const segment = uniqueCode('SEG');
  await m
    .post('/v1/segments', { code: segment, name: segment, criteria: { field: 'attributes.run', op: 'eq', value: run } })
    .expect(201);
  const template = uniqueCode('T');
  await m.post('/v1/templates', { code: template, channel, ...options.template }).expect(201);
  const campaign = (await m.post('/v1/campaigns', aCampaign()).expect(201)).body;
  const code = uniqueCode('P');
  return (
    await m
      .post(`/v1/campaigns/${campaign.id}/programs`, {
        code,
        name: code,
        channel,
        segment,
        template,
        cells: [{ code: `${code}-A`, name: 'A', weight: 100 }],
      })
      .expect(201)
  ).body;
}

/** Waits until the program's sends are all settled (state completed), or fails naming its counts. */
export async function completedProgram(m: RoleClient, programId: string, ms = 60_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const progress = (await m.get(`/v1/programs/${programId}/progress`).expect(200)).body;
    if (progress.state === 'completed') return progress;
    if (Date.now() > deadline) throw new Error(`program still ${progress.state}: ${JSON.stringify(progress.counts)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
