import { complaintVerdict } from './complaint-rate';

describe('complaintVerdict', () => {
  it.each([
    [0, 10_000, 'ok'],
    [9, 10_000, 'ok'], // 0.09%
    [10, 10_000, 'warn'], // 0.1%
    [29, 10_000, 'warn'], // 0.29%
    [30, 10_000, 'pause'], // 0.3%
    [1, 100, 'warn'], // 1%, but a single complaint does not pause
    [2, 100, 'warn'],
    [3, 1000, 'pause'], // 0.3% with three complaints
    [3, 1001, 'warn'], // just under 0.3%
    [5, 0, 'ok'], // nothing sent yet: nothing to judge
  ])('%i complaints over %i sent -> %s', (complaints, sent, verdict) => {
    expect(complaintVerdict(complaints, sent)).toBe(verdict);
  });
});
