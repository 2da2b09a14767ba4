import { decodeEvents, encodeEvents, TrackingEvent } from './tracking-events';

describe('tracking stream entries', () => {
  const event: TrackingEvent = {
    id: '6f1c1d1e-0000-4000-8000-000000000001',
    kind: 'click',
    sendId: '6f1c1d1e-0000-4000-8000-000000000002',
    link: 3,
    at: '2026-11-25T10:00:00.000Z',
    userAgent: 'Thunderbird',
    ip: '10.0.0.1',
  };

  it('round-trips a batch', () => {
    expect(decodeEvents(encodeEvents([event, { ...event, kind: 'open', link: 0 }]))).toEqual([
      event,
      { ...event, kind: 'open', link: 0 },
    ]);
  });

  it('skips what it cannot read instead of failing the batch', () => {
    expect(decodeEvents(undefined)).toEqual([]);
    expect(decodeEvents('not json')).toEqual([]);
    expect(decodeEvents('{"id":1}')).toEqual([]);
    expect(decodeEvents(JSON.stringify([event, { ...event, kind: 'bounce' }, { ...event, link: 1.5 }, null]))).toEqual([
      event,
    ]);
  });
});
