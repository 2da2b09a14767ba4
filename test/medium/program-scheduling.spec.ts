import { fixedClock, systemActor } from '@closeloop/core';
import { AuditService } from '@closeloop/persistence';
import { CampaignService, ProgramService } from '@closeloop/planning';
import { uniqueCode } from '../support/factories';
import { startPlanningContext } from '../support/planning-context';

describe('ProgramService scheduling (real PostgreSQL, fixed clock)', () => {
  const clock = fixedClock('2026-03-01T09:00:00.000Z');
  const marketer = { keyId: null, name: 'medium-test', role: 'marketer' as const };
  let env: Awaited<ReturnType<typeof startPlanningContext>>;
  let programs: ProgramService;
  let campaigns: CampaignService;

  beforeAll(async () => {
    env = await startPlanningContext(clock);
    programs = env.ctx.get(ProgramService);
    campaigns = env.ctx.get(CampaignService);
  });
  afterAll(async () => {
    await env?.close();
  });

  async function scheduledProgram(at: string) {
    const campaign = await campaigns.create(marketer, { code: uniqueCode('C'), name: 'c' });
    const p = uniqueCode('P');
    const program = await programs.create(marketer, campaign.id, {
      code: p,
      name: 'p',
      channel: 'email',
      cells: [
        { code: `${p}-A`, weight: 90 },
        { code: `${p}-CTL`, weight: 10, isControl: true },
      ],
    });
    return programs.transition(marketer, program.id, 'schedule', { scheduledAt: at });
  }

  it('launches a program only once its time has come', async () => {
    clock.set('2026-03-01T09:00:00.000Z');
    const program = await scheduledProgram('2026-03-01T10:00:00.000Z');
    const scheduler = systemActor('scheduler');
    expect(await programs.launchDue(scheduler)).toEqual([]);
    clock.set('2026-03-01T09:59:59.999Z');
    expect(await programs.launchDue(scheduler)).toEqual([]);
    clock.set('2026-03-01T10:00:00.000Z');
    expect(await programs.launchDue(scheduler)).toEqual([program.code]);
    const after = await programs.get(program.id);
    expect(after).toMatchObject({ state: 'running', launchedAt: '2026-03-01T10:00:00.000Z' });
    expect(await programs.launchDue(scheduler)).toEqual([]);
  });

  it('launches each due program exactly once when several schedulers race', async () => {
    clock.set('2026-04-01T09:00:00.000Z');
    const due = await Promise.all(Array.from({ length: 8 }, () => scheduledProgram('2026-04-01T09:30:00.000Z')));
    clock.set('2026-04-01T09:31:00.000Z');
    const runs = await Promise.all(
      Array.from({ length: 4 }, (_, i) => programs.launchDue(systemActor(`scheduler-${i}`))),
    );
    const launched = runs.flat();
    expect(launched.sort()).toEqual(due.map((p) => p.code).sort());
    const audit = env.ctx.get(AuditService);
    for (const p of due) {
      const entries = await audit.list({ entityId: p.id });
      expect(entries.items.filter((e) => e.action === 'program.launch')).toHaveLength(1);
    }
  });

  it('does not launch a program that was unscheduled before its time', async () => {
    clock.set('2026-05-01T09:00:00.000Z');
    const program = await scheduledProgram('2026-05-01T09:10:00.000Z');
    await programs.transition(marketer, program.id, 'unschedule');
    clock.set('2026-05-01T09:20:00.000Z');
    expect(await programs.launchDue(systemActor('scheduler'))).not.toContain(program.code);
    expect((await programs.get(program.id)).state).toBe('draft');
  });
});
