import { METRIC, OUTCOME_METRIC } from '../contract/index.js';
import type { MetricsSink, RecordOutcome } from './handler-contract.js';

/** One latency a batch measured (a claim, a commit), kept until the batch publishes. */
export interface BatchLatency {
  readonly name: string;
  readonly ms: number;
}

/**
 * Counts a batch's outcomes, one counter per kind (zeros included) plus takeovers and payload mismatches, and
 * publishes them. Adding and publishing happen in one turn of the event loop, so batches running at once in one
 * process (Lambda Managed Instances) each publish their own counts.
 */
export function publishMetrics(
  metrics: MetricsSink,
  outcomes: readonly RecordOutcome[],
  latencies: readonly BatchLatency[] = [],
): void {
  const counts = new Map<string, number>(Object.values(OUTCOME_METRIC).map((name) => [name, 0]));
  let takeovers = 0;
  let mismatches = 0;
  for (const outcome of outcomes) {
    const name = OUTCOME_METRIC[outcome.kind];
    counts.set(name, (counts.get(name) ?? 0) + 1);
    if (outcome.takeover) takeovers += 1;
    if (outcome.payloadMismatch !== undefined) mismatches += 1;
  }
  for (const [name, count] of counts) metrics.addMetric(name, 'Count', count);
  metrics.addMetric(METRIC.takeover, 'Count', takeovers);
  metrics.addMetric(METRIC.payloadMismatch, 'Count', mismatches);
  for (const { name, ms } of latencies) metrics.addMetric(name, 'Milliseconds', ms);
  metrics.publishStoredMetrics();
}
