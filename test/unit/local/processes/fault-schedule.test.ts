import { describe, expect, it } from 'vitest';
import { FaultSchedule } from '../../../../local/processes/dynamodb-faults.js';
import { seededRandom } from '../../../../local/support/random.js';

/** The request numbers (1-based) on which the schedule fires, over `requests` requests. */
function firings(rate: number, requests: number, seed = 1): number[] {
  const schedule = new FaultSchedule(rate, seededRandom(seed));
  return Array.from({ length: requests }, (_, i) => (schedule.next() ? i + 1 : 0)).filter((n) => n > 0);
}

describe('FaultSchedule', () => {
  it.each([0.005, 0.02, 0.1])('fails about a share %s of requests, never more than 2/rate apart', (rate) => {
    const requests = 200_000;
    const fired = firings(rate, requests);
    const gaps = fired.map((n, i) => n - (fired[i - 1] ?? 0));

    expect(Math.abs(fired.length / (requests * rate) - 1)).toBeLessThan(0.1);
    expect(Math.max(...gaps)).toBeLessThan(2 / rate);
  });

  it('never fires at rate 0', () => {
    expect(firings(0, 10_000)).toEqual([]);
  });

  it('draws other firings with another seed', () => {
    expect(firings(0.01, 1_000, 1)).not.toEqual(firings(0.01, 1_000, 2));
  });
});
