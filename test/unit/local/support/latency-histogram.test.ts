import { describe, expect, it } from 'vitest';
import { LatencyHistogram } from '../../../../local/support/latency-histogram.js';

describe('LatencyHistogram', () => {
  it('reads percentiles to within 2% of the exact ones', () => {
    const latency = new LatencyHistogram();
    for (let ms = 1; ms <= 10_000; ms++) latency.add(ms);

    expect(latency.count).toBe(10_000);
    expect(Math.abs((latency.percentile(0.5) ?? 0) / 5_000 - 1)).toBeLessThan(0.02);
    expect(Math.abs((latency.percentile(0.99) ?? 0) / 9_900 - 1)).toBeLessThan(0.02);
  });

  it('tells a slow tail from a fast median', () => {
    const latency = new LatencyHistogram();
    for (let i = 0; i < 990; i++) latency.add(20);
    for (let i = 0; i < 10; i++) latency.add(60_000);

    expect(latency.percentile(0.5)).toBe(20);
    expect(Math.abs((latency.percentile(0.999) ?? 0) / 60_000 - 1)).toBeLessThan(0.02);
  });

  it('has no percentile before its first value, and ignores values that are not numbers', () => {
    const latency = new LatencyHistogram();
    latency.add(Number.NaN);

    expect(latency.count).toBe(0);
    expect(latency.percentile(0.5)).toBeNull();
  });
});
