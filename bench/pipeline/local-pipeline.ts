import { runPipeline } from '../../local/pipeline/run.js';
import { median } from '../../local/support/stats.js';

/** One offered load of the end-to-end local pipeline (part B): producer -> SQS emulator -> poller -> consumer. */
export interface PipelineMeasurement {
  readonly offeredPerSecond: number;
  /** null when part B was not measured (`skippedPipeline`). */
  readonly achievedPerSecond: number | null;
  readonly p50SendToCommitMs: number | null;
  readonly p99SendToCommitMs: number | null;
  readonly consumerRssMb: number | null;
}

/**
 * The end-to-end benchmark seam: something run at one offered load for a while. `runBenchmark({ pipeline })` in
 * bench/benchmark.ts takes any implementation: `localPipelineBenchmark` measures, `skippedPipeline` does not.
 */
export interface PipelineBenchmark {
  /** Shown in the report next to the figures. */
  readonly description: string;
  run(offeredLoadPerSecond: number, durationSeconds: number): Promise<PipelineMeasurement>;
}

/** The offered loads part B measures at, in messages per second. */
export const OFFERED_LOADS_PER_SECOND = [250, 500, 1000, 2000] as const;

/** Part B left out (`--skip-pipeline`, and `runBenchmark`'s default): every figure null, shown as "—". */
export const skippedPipeline: PipelineBenchmark = {
  description: 'not measured: the local end-to-end pipeline (`npm start`) was skipped in this run',
  run: async (offeredLoadPerSecond) => ({
    offeredPerSecond: offeredLoadPerSecond,
    achievedPerSecond: null,
    p50SendToCommitMs: null,
    p99SendToCommitMs: null,
    consumerRssMb: null,
  }),
};

export interface PipelineResult {
  readonly description: string;
  readonly durationSeconds: number;
  readonly repetitions: number;
  readonly measurements: readonly PipelineMeasurement[];
}

/** Runs each offered load `repetitions` times and keeps the median of every figure (null stays null). */
export async function runPipelineBenchmark(
  pipeline: PipelineBenchmark,
  options: { durationSeconds: number; repetitions: number; progress?: (line: string) => void },
): Promise<PipelineResult> {
  const measurements: PipelineMeasurement[] = [];
  for (const offered of OFFERED_LOADS_PER_SECOND) {
    const runs: PipelineMeasurement[] = [];
    for (let repetition = 0; repetition < options.repetitions; repetition++) {
      runs.push(await pipeline.run(offered, options.durationSeconds));
    }
    const medianOf = (pick: (m: PipelineMeasurement) => number | null): number | null => {
      const values = runs.map(pick).filter((value): value is number => value !== null);
      return values.length === 0 ? null : median(values);
    };
    const measurement: PipelineMeasurement = {
      offeredPerSecond: offered,
      achievedPerSecond: medianOf((m) => m.achievedPerSecond),
      p50SendToCommitMs: medianOf((m) => m.p50SendToCommitMs),
      p99SendToCommitMs: medianOf((m) => m.p99SendToCommitMs),
      consumerRssMb: medianOf((m) => m.consumerRssMb),
    };
    options.progress?.(
      `pipeline ${offered} msgs/s offered: ${measurement.achievedPerSecond === null ? 'not measured' : `${measurement.achievedPerSecond} msgs/s`}`,
    );
    measurements.push(measurement);
  }
  return {
    description: pipeline.description,
    durationSeconds: options.durationSeconds,
    repetitions: options.repetitions,
    measurements,
  };
}

/** Messages per part-B run at most, so the four loads x 3 repetitions stay within minutes. */
export const PIPELINE_MAX_MESSAGES = 1_500;

/**
 * Part B for real: `npm start`'s machinery (four server processes, the relay, both stages) with faults off and
 * 30% duplicates, sending at the offered load for `durationSeconds`. Achieved throughput is counted from the first
 * send until every stage has drained; latency is SQS send to ledger commit; memory is the servers' peak RSS.
 */

export const localPipelineBenchmark: PipelineBenchmark = {
  description: `The \`npm start\` machinery, faults off: 4 server processes + relay, ledger and notifications stages, 30% duplicates, up to ${PIPELINE_MAX_MESSAGES.toLocaleString('en-US')} messages per run`,
  run: async (offeredLoadPerSecond, durationSeconds) => {
    const report = await runPipeline({
      servers: 4,
      // Capped: above what DynamoDB Local absorbs, a longer send only grows the backlog, not the figures.
      messages: Math.min(PIPELINE_MAX_MESSAGES, Math.round(offeredLoadPerSecond * durationSeconds)),
      duplicateRate: 0.3,
      crashRate: 0,
      zombies: 0,
      malformed: 0,
      dynamoDbFaultRate: 0,
      offeredLoadPerSecond,
    });
    if (!report.ok) throw new Error(`the pipeline's audit failed at ${offeredLoadPerSecond} msgs/s offered`);
    return {
      offeredPerSecond: offeredLoadPerSecond,
      achievedPerSecond: Math.round(report.messagesPerSecond),
      p50SendToCommitMs: report.sendToCommitMs.p50,
      p99SendToCommitMs: report.sendToCommitMs.p99,
      consumerRssMb: Math.round(report.serverPeakRssMb),
    };
  },
};
