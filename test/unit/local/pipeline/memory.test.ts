import { describe, expect, it } from 'vitest';
import { flatness, MemoryTimeline } from '../../../../local/pipeline/memory.js';

describe('the soak memory check', () => {
  it('calls memory flat when the last quarter stays near the second, whatever the warm-up', () => {
    const warmUpThenSteady = [60, 80, 100, 110, 110, 112, 111, 113, 112, 114, 113, 115];

    expect(flatness(warmUpThenSteady)).toMatchObject({ flat: true, secondQuarterMedianMb: 110 });
  });

  it('calls memory not flat when it keeps growing', () => {
    const growing = Array.from({ length: 40 }, (_, i) => 100 + i * 5);

    expect(flatness(growing)?.flat).toBe(false);
  });

  it('does not judge from fewer than 8 samples', () => {
    expect(flatness([100, 200, 300])).toBeNull();
  });
});

describe('MemoryTimeline', () => {
  it('keeps a bounded timeline of the largest server, and the first, highest and last of it', () => {
    const memory = new MemoryTimeline();
    for (let second = 0; second < 10_000; second++) {
      memory.record('server-0', 'server', 100 + (second % 7));
      memory.record('server-1', 'server', second === 5_000 ? 300 : 90);
      memory.record('relay', 'relay', 80);
      memory.sample();
    }

    const report = memory.report();
    expect(report.samples).toBeLessThanOrEqual(240);
    expect(report.samples).toBeGreaterThanOrEqual(120);
    expect(report.serverPeakMb).toBe(300);
    expect(report.servers?.lastMb).toBeGreaterThanOrEqual(100);
    expect(report.relay).toEqual({ firstMb: 80, maxMb: 80, lastMb: 80 });
    expect(report.flatness?.flat).toBe(true);
  });
});
