import { DataSource } from 'typeorm';
import { ProgressService } from './progress.service';
import { SendLedgerRepository } from './send-ledger.repository';

describe('ProgressService rate and ETA', () => {
  const now = new Date('2026-11-25T10:00:00Z');
  const program = { id: '6f1c1d1e-0000-4000-8000-000000000001', code: 'P1', state: 'running', dispatched_at: now };
  const service = (sent: { n: number; first: Date | null }, counts: Record<string, number>) =>
    new ProgressService(
      { query: async () => [program] } as unknown as DataSource,
      { countsByState: async () => counts, sentSince: async () => sent } as unknown as SendLedgerRepository,
      { now: () => now },
    );

  it('measures over the seconds since sending began when that is under a minute', async () => {
    const p = await service({ n: 1500, first: new Date(now.getTime() - 5000) }, { sent: 1500, queued: 3000 }).progress(
      program.id,
    );
    expect(p.ratePerSecond).toBe(300);
    expect(p.etaSeconds).toBe(10);
    expect(p.progress).toBeCloseTo(1 / 3, 12);
  });

  it('measures over the last minute once sending has gone on longer', async () => {
    const p = await service({ n: 6000, first: new Date(now.getTime() - 59_000) }, { sent: 9000, queued: 600 }).progress(
      program.id,
    );
    expect(p.ratePerSecond).toBeCloseTo(6000 / 59, 2);
    const idle = await service({ n: 0, first: null }, { sent: 9000, queued: 600 }).progress(program.id);
    expect([idle.ratePerSecond, idle.etaSeconds]).toEqual([0, null]);
  });
});
