import { isPendingSend, nextSendState, SEND_EVENTS, SEND_STATES, SEND_TRANSITIONS } from './send-state';

describe('send state machine', () => {
  it('takes a send from queued to delivered', () => {
    let s = nextSendState('queued', 'claim');
    expect(s).toBe('sending');
    s = nextSendState(s, 'accept');
    expect(s).toBe('sent');
    expect(nextSendState(s, 'deliver')).toBe('delivered');
  });

  it('never claims a send that is sent, terminal or held out', () => {
    for (const from of [
      'sending',
      'sent',
      'delivered',
      'bounced',
      'failed',
      'suppressed',
      'cancelled',
      'held_out',
    ] as const) {
      expect(() => nextSendState(from, 'claim')).toThrow(`send cannot claim from state ${from}`);
    }
  });

  it('allows exactly the listed (state, event) pairs', () => {
    let allowed = 0;
    for (const from of SEND_STATES) {
      for (const event of SEND_EVENTS) {
        const t = SEND_TRANSITIONS[event];
        if (t.from.includes(from)) {
          expect(nextSendState(from, event)).toBe(t.to);
          allowed++;
        } else {
          expect(() => nextSendState(from, event)).toThrow();
        }
      }
    }
    expect(allowed).toBe(19);
  });

  it('leaves held-out control members untouchable', () => {
    for (const event of SEND_EVENTS) expect(() => nextSendState('held_out', event)).toThrow();
  });

  it('knows what is still pending', () => {
    expect(SEND_STATES.filter(isPendingSend)).toEqual(['queued', 'sending', 'deferred']);
  });
});
