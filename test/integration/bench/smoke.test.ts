import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runBenchmark } from '../../../bench/benchmark.js';
import { SYSTEM_NAMES } from '../../../bench/handler-level/systems.js';
import type { BenchmarkResults } from '../../../bench/report/results.js';
import {
  README_END_MARKER,
  README_START_MARKER,
  replaceBetweenMarkers,
  writeReport,
} from '../../../bench/report/write.js';

/**
 * The benchmark with tiny sizes on the integration DynamoDB Local: its structure and its audit verdicts, never its
 * timings (those belong to `npm run bench`, never to a test).
 */
describe('npm run bench, smoke sized', () => {
  let results: BenchmarkResults;
  let outputDir: string;

  beforeAll(async () => {
    results = await runBenchmark({
      endpoint: inject('dynamoDbEndpoint'),
      messages: 40,
      repetitions: 1,
      containers: 2,
      accountingMessages: 20,
      warmUpMessages: 0,
      crashRemainingTimeMs: 2000,
      roundTripMessages: 20,
      runtimeBatches: 5,
      command: 'smoke test',
    });
    outputDir = await mkdtemp(join(tmpdir(), 'onceflow-bench-'));
  }, 240_000);

  afterAll(async () => {
    await rm(outputDir, { recursive: true, force: true });
  });

  const system = (name: (typeof SYSTEM_NAMES)[number]) => {
    const found = results.handlerLevel.systems.find((summary) => summary.system === name);
    if (found === undefined) throw new Error(`no results for ${name}`);
    return found;
  };
  const crash = (name: (typeof SYSTEM_NAMES)[number], point: 'after-side-effect' | 'after-effect-writes') => {
    const found = results.handlerLevel.crashes.find(
      (sample) => sample.system === name && sample.point === point,
    );
    if (found === undefined) throw new Error(`no crash scenario for ${name} ${point}`);
    return found;
  };

  it('measures every system on the same stream', () => {
    expect(results.handlerLevel.systems.map((summary) => summary.system)).toEqual([...SYSTEM_NAMES]);
    for (const summary of results.handlerLevel.systems) {
      expect(summary.repetitions).toHaveLength(1);
      expect(summary.repetitions[0]?.throughput.deliveries).toBe(57);
      expect(summary.repetitions[0]?.throughput.unsettledRecords).toBe(0);
      expect(summary.messagesPerSecond).toBeGreaterThan(0);
    }
  });

  it('finds Onceflow and Powertools exactly once and raw writes applying duplicates again', () => {
    expect(system('onceflow-lease').exactlyOnce).toBe(true);
    expect(system('onceflow-optimistic').exactlyOnce).toBe(true);
    expect(system('powertools').exactlyOnce).toBe(true);
    expect(system('raw-writes').exactlyOnce).toBe(false);
    expect(system('raw-writes').extraApplications).toBe(17);
  });

  it('answers a repeated duplicate in a warm container with no DynamoDB request', () => {
    expect(system('onceflow-lease').requestsPerWarmDuplicate).toBe(0);
    expect(system('onceflow-optimistic').requestsPerWarmDuplicate).toBe(0);
    expect(system('powertools').requestsPerWarmDuplicate).toBe(1);
  });

  it('counts one read and one grouped transaction per batch of new messages in a fresh optimistic container', () => {
    expect(system('onceflow-optimistic').requestsPerNewMessage).toBeCloseTo(0.2);
    expect(system('onceflow-lease').requestsPerNewMessage).toBeCloseTo(1.1);
    expect(system('powertools').requestsPerNewMessage).toBeCloseTo(3);
    expect(system('raw-writes').requestsPerNewMessage).toBeCloseTo(1);
    expect(results.handlerLevel.consumedCapacityReported).toBe(true);
  });

  it('reads only once cold duplicates come, in both modes, and then refuses few of them by a write', () => {
    const at = (name: (typeof SYSTEM_NAMES)[number], share: number) =>
      system(name).costByDuplicateShare?.find((cost) => cost.duplicateShare === share);
    // Optimistic mode reads its first batches (half a read unit per id at most) and never cancels without
    // duplicates; with them, the read keeps them out of its transactions.
    expect(at('onceflow-optimistic', 0)?.estimatedRefusedWriteUnitsPerDelivery).toBe(0);
    expect(at('onceflow-optimistic', 0)?.readUnitsPerDelivery).toBeLessThanOrEqual(0.5);
    expect(at('onceflow-optimistic', 0.9)?.readUnitsPerDelivery).toBeGreaterThan(0.25);
    expect(at('onceflow-optimistic', 0.9)?.estimatedRefusedWriteUnitsPerDelivery).toBeLessThan(
      at('powertools', 0.9)?.estimatedRefusedWriteUnitsPerDelivery ?? 0,
    );
    // Lease mode refuses a cold duplicate's claim with one failed conditional write (copies of one id in one batch
    // share one claim) until they are enough to turn its read before claiming on (readBeforeClaim 'auto'): from
    // then on the read finds them, at half a read unit. Without duplicates it never reads. Powertools refuses its
    // record put every time.
    expect(at('onceflow-lease', 0)?.estimatedRefusedWriteUnitsPerDelivery).toBe(0);
    expect(at('onceflow-lease', 0)?.readUnitsPerDelivery).toBe(0);
    expect(at('onceflow-lease', 0.9)?.estimatedRefusedWriteUnitsPerDelivery).toBeGreaterThan(0);
    expect(at('onceflow-lease', 0.9)?.estimatedRefusedWriteUnitsPerDelivery).toBeLessThan(0.1);
    expect(at('onceflow-lease', 0.9)?.readUnitsPerDelivery).toBeGreaterThan(0.25);
    expect(at('powertools', 0.9)?.estimatedRefusedWriteUnitsPerDelivery).toBeGreaterThan(0.5);
    expect(
      results.costModel.byDuplicateShare?.filter((row) => row.column === 'onceflow-optimistic').length,
    ).toBe(3);
  });

  it('measures batch latency with modelled round trips for both modes and Powertools', () => {
    expect(
      results.handlerLevel.roundTrips?.systems.map((sample) => [sample.system, sample.exactlyOnce]),
    ).toEqual([
      ['onceflow-lease', true],
      ['onceflow-optimistic', true],
      ['powertools', true],
    ]);
    // Every request waits at least 8 ms, and a batch makes at least one request.
    for (const sample of results.handlerLevel.roundTrips?.systems ?? []) {
      expect(sample.p50BatchMs).toBeGreaterThanOrEqual(8);
    }
  });

  it('measures the runtime with DynamoDB answering at once, and the cold start of both bundles', () => {
    const runtime = results.runtime;
    expect(runtime?.batches).toBe(5);
    for (const cpuMs of Object.values(runtime?.cpuMsPerMessage ?? {})) expect(cpuMs).toBeGreaterThan(0);
    // Both bundles carry the AWS SDK: each is far above 100 KB.
    expect(runtime?.coldStart.bundleBytes.onceflow).toBeGreaterThan(100_000);
    expect(runtime?.coldStart.bundleBytes.powertools).toBeGreaterThan(100_000);
    expect(runtime?.coldStart.initMs.onceflow).toBeGreaterThan(0);
  });

  it('re-runs the side effect after a crash and applies the effects once with Onceflow', () => {
    for (const name of ['onceflow-lease', 'onceflow-optimistic'] as const) {
      expect(crash(name, 'after-side-effect')).toMatchObject({ sideEffectRuns: 20, effectApplications: 10 });
      expect(crash(name, 'after-effect-writes')).toMatchObject({
        effectApplications: 10,
        exactlyOnceEffects: true,
      });
    }
    expect(crash('onceflow-lease', 'after-side-effect').attempts.map((attempt) => attempt.outcomes)).toEqual([
      { InFlight: 10 },
      { Processed: 10, Takeover: 10 },
    ]);
  });

  it('shows Powertools refusing while in progress, then applying twice when it died after its writes', () => {
    expect(crash('powertools', 'after-side-effect')).toMatchObject({
      sideEffectRuns: 20,
      effectApplications: 10,
    });
    expect(crash('powertools', 'after-side-effect').attempts[0]?.outcomes).toEqual({
      IdempotencyAlreadyInProgressError: 10,
    });
    expect(crash('powertools', 'after-effect-writes')).toMatchObject({
      effectApplications: 20,
      exactlyOnceEffects: false,
    });
  });

  it('shows raw writes applying twice when it died after its writes', () => {
    expect(crash('raw-writes', 'after-effect-writes')).toMatchObject({
      sideEffectRuns: 20,
      effectApplications: 20,
    });
  });

  it('reports the pipeline as not measured and models cost at both rates', () => {
    expect(results.pipeline).toMatchObject({
      ceilingPerSecond: null,
      achievedPerSecond: null,
      halfLoad: null,
    });
    expect(
      results.costModel.estimates.map((estimate) => [estimate.column, estimate.messagesPerSecond]),
    ).toEqual(
      [10_000, 100_000].flatMap((rate) =>
        ['onceflow-lease', 'onceflow-optimistic', 'powertools', 'sqs-fifo-high-throughput'].map((column) => [
          column,
          rate,
        ]),
      ),
    );
    expect(results.targets.map((target) => target.target)).toHaveLength(12);
  });

  it('writes the results, the chart and the README section only where it is told to', async () => {
    const readmePath = join(outputDir, 'README.md');
    await writeFile(
      readmePath,
      `# X\n\n## Performance\n\n${README_START_MARKER}\nold\n${README_END_MARKER}\n\nafter\n`,
    );
    const written = await writeReport(results, { resultsDir: join(outputDir, 'results'), readmePath });
    expect(written.resultsPath.startsWith(outputDir)).toBe(true);
    expect(written.chartPath).toBe(join(outputDir, 'results', 'chart.svg'));
    const readme = await readFile(readmePath, 'utf8');
    expect(readme).not.toContain('\nold\n');
    expect(readme).toContain('| Onceflow, optimistic mode |');
    expect(readme).toContain('![Handler-level throughput and end-to-end pipeline](results/chart.svg)');
    expect(readme.endsWith(`${README_END_MARKER}\n\nafter\n`)).toBe(true);
    expect(await readFile(written.chartPath, 'utf8')).toMatch(
      /^<svg [^>]*>[\s\S]*not measured yet[\s\S]*<\/svg>\n$/,
    );
    const saved: unknown = JSON.parse(await readFile(written.resultsPath, 'utf8'));
    expect(saved).toMatchObject({ command: 'smoke test', handlerLevel: { options: { messages: 40 } } });
  });

  it('refuses to write a README that has lost its markers', () => {
    expect(() => replaceBetweenMarkers('# X\n\n## Performance\n', 'table')).toThrow(
      'The README needs <!-- performance:start --> and <!-- performance:end -->, in that order, under "## Performance".',
    );
  });
});
