import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EmfMetrics, metricsDisabled } from '../../../../lambda/aws/emf-metrics.js';

// The reference is Powertools Metrics, the runtime's sink before EmfMetrics and still accepted as `metrics`: for
// the same calls at the same instant, the documents must be the same.

const NOW = Date.parse('2026-12-03T10:11:12Z');

type Call = readonly [name: string, unit: 'Count' | 'Milliseconds', value: number];

function both(calls: readonly Call[]) {
  const powertools = new Metrics({ namespace: 'Onceflow', serviceName: 'orders' });
  const ours = new EmfMetrics({ namespace: 'Onceflow', serviceName: 'orders', clock: () => NOW });
  for (const [name, unit, value] of calls) {
    powertools.addMetric(name, unit, value);
    ours.addMetric(name, unit, value);
  }
  return { powertools: powertools.serializeMetrics(), ours: ours.serialize() };
}

describe('EmfMetrics against Powertools Metrics', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: NOW, toFake: ['Date'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("writes a batch's counters and latencies as Powertools does", () => {
    const calls: Call[] = [
      ['Processed', 'Count', 8],
      ['Duplicate', 'Count', 2],
      ['Parked', 'Count', 0],
      ['ClaimLatency', 'Milliseconds', 12],
      ['CommitLatency', 'Milliseconds', 31],
    ];

    const { powertools, ours } = both(calls);

    expect(ours).toEqual([powertools]);
  });

  it('keeps every value of a metric added more than once, as an array, as Powertools does', () => {
    const { powertools, ours } = both([
      ['CommitLatency', 'Milliseconds', 31],
      ['CommitLatency', 'Milliseconds', 44],
      ['Processed', 'Count', 1],
    ]);

    expect(ours).toEqual([powertools]);
    expect(ours[0]?.CommitLatency).toEqual([31, 44]);
  });
});

describe('EmfMetrics', () => {
  it('writes one JSON line per document and then forgets what it wrote', () => {
    const lines: string[] = [];
    const metrics = new EmfMetrics({
      namespace: 'N',
      serviceName: 's',
      write: (line) => lines.push(line),
      clock: () => NOW,
      disabled: false,
    });
    metrics.addMetric('Processed', 'Count', 3);

    metrics.publishStoredMetrics();
    metrics.publishStoredMetrics();

    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({
      service: 's',
      Processed: 3,
      _aws: { Timestamp: NOW },
    });
  });

  it("splits at CloudWatch's limits: 100 metrics per document, 100 values per metric", () => {
    const metrics = new EmfMetrics({ namespace: 'N', serviceName: 's', clock: () => NOW });
    for (let index = 0; index < 150; index++) metrics.addMetric(`M${index}`, 'Count', index);
    for (let index = 0; index < 250; index++) metrics.addMetric('Latency', 'Milliseconds', index);

    const documents = metrics.serialize();

    for (const document of documents) {
      const names = document._aws.CloudWatchMetrics[0].Metrics.map((metric) => metric.Name);
      expect(names.length).toBeLessThanOrEqual(100);
      expect(new Set(names).size).toBe(names.length);
      const latency = document.Latency;
      if (latency !== undefined) expect((latency as number[]).length).toBeLessThanOrEqual(100);
    }
    const values = (name: string) =>
      documents.flatMap((document) => {
        const value = document[name];
        return value === undefined ? [] : Array.isArray(value) ? value : [value];
      });
    expect(values('Latency')).toEqual(Array.from({ length: 250 }, (_, index) => index));
    expect(values('M149')).toEqual([149]);
    // M0-M99; M100-M149 with Latency 0-99; Latency 100-199; Latency 200-249.
    expect(documents.length).toBe(4);
  });

  it.each([
    [{}, false],
    [{ POWERTOOLS_METRICS_DISABLED: 'true' }, true],
    [{ POWERTOOLS_METRICS_DISABLED: '1' }, true],
    [{ POWERTOOLS_DEV: 'true' }, true],
    [{ POWERTOOLS_DEV: 'true', POWERTOOLS_METRICS_DISABLED: 'false' }, false],
  ])('is disabled by %j as Powertools Metrics is: %s', (env, disabled) => {
    const saved = { ...process.env };
    delete process.env.POWERTOOLS_METRICS_DISABLED;
    delete process.env.POWERTOOLS_DEV;
    Object.assign(process.env, env);
    try {
      const powertools = new Metrics({ namespace: 'N', serviceName: 's' });
      const lines: string[] = [];
      const ours = new EmfMetrics({ namespace: 'N', serviceName: 's', write: (line) => lines.push(line) });
      ours.addMetric('Processed', 'Count', 1);

      ours.publishStoredMetrics();

      expect(metricsDisabled(process.env)).toBe(disabled);
      expect(Reflect.get(powertools, 'disabled')).toBe(disabled);
      expect(lines).toHaveLength(disabled ? 0 : 1);
    } finally {
      process.env = saved;
    }
  });
});
