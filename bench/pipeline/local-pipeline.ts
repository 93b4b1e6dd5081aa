import { JVM_OPTIONS } from 'onceflow/testing';
import { runPipeline } from '../../local/pipeline/run.js';
import { median } from '../../local/support/stats.js';
import { measureCeiling } from './ceiling.js';

/** DynamoDB Local's rate with the pipeline's own work, under one set of JVM options (part B's side-by-side). */
export interface JvmVariant {
  readonly name: string;
  readonly jvmOptions: readonly string[];
  /** Median payments/s of the ceiling probe under these options. */
  readonly ceilingPerSecond: number;
}

/** One repetition of part B: the ceiling, the pipeline as fast as it goes, and the pipeline at half that rate. */
export interface PipelineRepetition {
  readonly ceilingPerSecond: number;
  readonly achievedPerSecond: number;
  readonly halfLoad: HalfLoad;
  readonly consumerRssMb: number;
}

/** Send-to-commit latency with the pipeline offered half of what it achieved flat out: what a user sees unqueued. */
export interface HalfLoad {
  readonly offeredPerSecond: number;
  readonly p50SendToCommitMs: number;
  readonly p99SendToCommitMs: number;
}

/** Part B: the local end-to-end pipeline (`npm start`'s machinery) against its database's ceiling. */
export interface PipelineResult {
  readonly description: string;
  /** Unique payments per run; null when part B was not measured. */
  readonly messages: number | null;
  /** Medians over the repetitions; null when not measured. */
  readonly ceilingPerSecond: number | null;
  readonly achievedPerSecond: number | null;
  readonly halfLoad: HalfLoad | null;
  readonly consumerRssMb: number | null;
  readonly repetitions: readonly PipelineRepetition[];
  readonly jvmVariants: readonly JvmVariant[];
}

/** The seam `runBenchmark({ pipeline })` takes: `localPipelineBenchmark` measures, `skippedPipeline` does not. */
export interface PipelineBenchmark {
  readonly description: string;
  measure(options: PipelineBenchmarkOptions): Promise<PipelineResult>;
}

export interface PipelineBenchmarkOptions {
  readonly messages: number;
  readonly repetitions: number;
  readonly progress?: (line: string) => void;
}

/** Part B left out (`--skip-pipeline`, and `runBenchmark`'s default): every figure null, shown as "—". */
export const skippedPipeline: PipelineBenchmark = {
  description: 'not measured: the local end-to-end pipeline (`npm start`) was skipped in this run',
  measure: async () => notMeasured(skippedPipeline.description),
};

/** Part B as a results file from before it measured the ceiling holds it: shown as not measured. */
export function notMeasured(description: string): PipelineResult {
  return {
    description,
    messages: null,
    ceilingPerSecond: null,
    achievedPerSecond: null,
    halfLoad: null,
    consumerRssMb: null,
    repetitions: [],
    jvmVariants: [],
  };
}

/**
 * DynamoDB Local's JVM options compared side by side on the ceiling probe: what `npm start` uses, the JVM's own
 * defaults, and the optimising compiler kept (what a long run, a soak, uses).
 */
export const JVM_VARIANTS: readonly { name: string; jvmOptions: readonly string[] }[] = [
  { name: 'npm start: serial GC, quick JIT only', jvmOptions: JVM_OPTIONS.shortRun },
  { name: 'serial GC, full JIT (a soak)', jvmOptions: JVM_OPTIONS.longRun },
  { name: 'JVM defaults (G1 GC, full JIT)', jvmOptions: [] },
];

/** Unique payments per part-B run: `npm start`'s default, so the ratio speaks of the run a user starts. */
export const PIPELINE_MESSAGES = 2_500;

/**
 * Part B for real, each repetition in this order on a fresh DynamoDB Local: the ceiling probe (`ceiling.ts`) under
 * each JVM variant, `npm start`'s machinery (four server processes + the relay, both stages, faults off, 30%
 * duplicates) sending as fast as it can, and the same at half the rate it just achieved. Throughput counts unique
 * payments through both stages per second, first send to last settled record.
 */
export const localPipelineBenchmark: PipelineBenchmark = {
  description:
    "The `npm start` machinery with faults off (4 server processes + the relay, ledger and notifications stages, 30% duplicates), against DynamoDB Local's ceiling: the same payments' DynamoDB work driven from one process by the same handlers, with no SQS",
  measure: async ({ messages, repetitions, progress }) => {
    const runs: PipelineRepetition[] = [];
    const variantRates = JVM_VARIANTS.map(() => [] as number[]);
    for (let repetition = 0; repetition < repetitions; repetition++) {
      for (const [index, variant] of JVM_VARIANTS.entries()) {
        const { paymentsPerSecond } = await measureCeiling({
          messages,
          mode: 'lease',
          jvmOptions: variant.jvmOptions,
        });
        variantRates[index]?.push(paymentsPerSecond);
        progress?.(`pipeline ceiling (${variant.name}): ${paymentsPerSecond} payments/s`);
      }
      const ceilingPerSecond = variantRates[0]?.at(-1) ?? 0;
      const full = await pipelineRun(messages, undefined);
      const offered = Math.max(1, Math.round(full.messagesPerSecond / 2));
      // Half the payments, and a warm-up at the same rate whose latency is left out.
      const half = await pipelineRun(
        Math.round(messages / 2 + (offered * HALF_LOAD_WARM_UP_MS) / 1000),
        offered,
        HALF_LOAD_WARM_UP_MS,
      );
      runs.push({
        ceilingPerSecond,
        achievedPerSecond: Math.round(full.messagesPerSecond),
        halfLoad: {
          offeredPerSecond: offered,
          p50SendToCommitMs: half.sendToCommitMs.p50 ?? Number.NaN,
          p99SendToCommitMs: half.sendToCommitMs.p99 ?? Number.NaN,
        },
        consumerRssMb: Math.round(Math.max(full.serverPeakRssMb, half.serverPeakRssMb)),
      });
      progress?.(
        `pipeline: ${Math.round(full.messagesPerSecond)} payments/s flat out; at ${offered}/s offered ` +
          `send-to-commit p50 ${half.sendToCommitMs.p50} / p99 ${half.sendToCommitMs.p99} ms`,
      );
    }
    const medianOf = (pick: (run: PipelineRepetition) => number) => median(runs.map(pick));
    return {
      description: localPipelineBenchmark.description,
      messages,
      ceilingPerSecond: medianOf((run) => run.ceilingPerSecond),
      achievedPerSecond: medianOf((run) => run.achievedPerSecond),
      halfLoad: {
        offeredPerSecond: medianOf((run) => run.halfLoad.offeredPerSecond),
        p50SendToCommitMs: medianOf((run) => run.halfLoad.p50SendToCommitMs),
        p99SendToCommitMs: medianOf((run) => run.halfLoad.p99SendToCommitMs),
      },
      consumerRssMb: medianOf((run) => run.consumerRssMb),
      repetitions: runs,
      jvmVariants: JVM_VARIANTS.map((variant, index) => ({
        ...variant,
        ceilingPerSecond: median(variantRates[index] ?? []),
      })),
    };
  },
};

/**
 * The half-load run's first seconds, left out of its latency: each of the five processes' first batches pays for
 * compiling and connecting (in Lambda, the cold start), 300-500 ms against a steady 50-130 ms.
 */
export const HALF_LOAD_WARM_UP_MS = 5_000;

async function pipelineRun(messages: number, offeredLoadPerSecond: number | undefined, latencyWarmUpMs = 0) {
  const report = await runPipeline({
    messages,
    duplicateRate: 0.3,
    crashRate: 0,
    zombies: 0,
    malformed: 0,
    dynamoDbFaultRate: 0,
    offeredLoadPerSecond,
    latencyWarmUpMs,
  });
  if (!report.ok) {
    const at = offeredLoadPerSecond === undefined ? 'flat out' : `at ${offeredLoadPerSecond} msgs/s offered`;
    throw new Error(`the pipeline's audit failed ${at}`);
  }
  return report;
}
