import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type BenchmarkOptions, readResults, runBenchmark } from './benchmark.js';
import { localPipelineBenchmark, PIPELINE_MESSAGES, skippedPipeline } from './pipeline/local-pipeline.js';
import { renderReadmeSection } from './report/readme-section.js';
import { writeReport } from './report/write.js';

/** What `npm run bench` runs with when told nothing: parseArgs takes them, and USAGE shows them. */
const BENCH_DEFAULTS = {
  messages: 3000,
  repetitions: 3,
  containers: 4,
  accountingMessages: 1000,
  injectedLatencyMs: 0,
  roundTripMessages: 500,
  runtimeBatches: 300,
  pipelineMessages: PIPELINE_MESSAGES,
} as const;

const USAGE = `npm run bench -- [options]
  --messages <n>             unique messages per system and repetition (default ${BENCH_DEFAULTS.messages})
  --repetitions <n>          repetitions; each figure is their median (default ${BENCH_DEFAULTS.repetitions})
  --containers <n>           concurrent warm containers (default ${BENCH_DEFAULTS.containers})
  --accounting-messages <n>  messages in the per-kind request accounting (default ${BENCH_DEFAULTS.accountingMessages})
  --injected-latency-ms <n>  delay added before every request, standing in for AWS round trips (default ${BENCH_DEFAULTS.injectedLatencyMs})
  --round-trip-messages <n> unique messages per system in the batch latency run with modelled AWS round trips; 0 skips it (default ${BENCH_DEFAULTS.roundTripMessages})
  --runtime-batches <n>      batches of 10 per system in the runtime CPU measurement (part D); 0 skips it (default ${BENCH_DEFAULTS.runtimeBatches})
  --pipeline-messages <n>    unique payments per run of the local pipeline and its ceiling in part B (default ${BENCH_DEFAULTS.pipelineMessages})
  --skip-pipeline            leave part B unmeasured
  --endpoint <url>           use this DynamoDB instead of starting DynamoDB Local
  --dry-run                  print the README section to stdout; write no file
  --results-dir <dir>        where the dated JSON and chart.svg go (default bench/results)
  --readme <file>            README whose Performance section is rewritten (default README.md)
  --from <results.json>      measure nothing: write the report again from a saved results file`;

function parseCommandLine() {
  return parseArgs({
    options: {
      messages: { type: 'string', default: String(BENCH_DEFAULTS.messages) },
      repetitions: { type: 'string', default: String(BENCH_DEFAULTS.repetitions) },
      containers: { type: 'string', default: String(BENCH_DEFAULTS.containers) },
      'accounting-messages': { type: 'string', default: String(BENCH_DEFAULTS.accountingMessages) },
      'pipeline-messages': { type: 'string', default: String(BENCH_DEFAULTS.pipelineMessages) },
      'round-trip-messages': { type: 'string', default: String(BENCH_DEFAULTS.roundTripMessages) },
      'runtime-batches': { type: 'string', default: String(BENCH_DEFAULTS.runtimeBatches) },
      'skip-pipeline': { type: 'boolean', default: false },
      endpoint: { type: 'string' },
      'injected-latency-ms': { type: 'string', default: String(BENCH_DEFAULTS.injectedLatencyMs) },
      'dry-run': { type: 'boolean', default: false },
      'results-dir': { type: 'string', default: fileURLToPath(new URL('results', import.meta.url)) },
      readme: { type: 'string', default: fileURLToPath(new URL('../README.md', import.meta.url)) },
      from: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  }).values;
}

type CommandLine = ReturnType<typeof parseCommandLine>;

/** The options of a measuring run, from the command line; progress lines go to stderr with the seconds elapsed. */
function benchmarkOptions(values: CommandLine, startedMs: number): BenchmarkOptions {
  return {
    messages: positive('messages', values.messages),
    repetitions: positive('repetitions', values.repetitions),
    containers: positive('containers', values.containers),
    accountingMessages: positive('accounting-messages', values['accounting-messages']),
    endpoint: values.endpoint,
    injectedLatencyMs: nonNegative('injected-latency-ms', values['injected-latency-ms']),
    roundTripMessages: nonNegative('round-trip-messages', values['round-trip-messages']),
    runtimeBatches: nonNegative('runtime-batches', values['runtime-batches']),
    pipeline: values['skip-pipeline'] ? skippedPipeline : localPipelineBenchmark,
    pipelineMessages: positive('pipeline-messages', values['pipeline-messages']),
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    progress: (line) =>
      process.stderr.write(`[bench ${Math.round((Date.now() - startedMs) / 1000)}s] ${line}\n`),
  };
}

function positive(name: string, value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0)
    throw new Error(`--${name} must be a positive integer, not ${value}`);
  return parsed;
}

function nonNegative(name: string, value: string): number {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0)
    throw new Error(`--${name} must be a number >= 0, not ${value}`);
  return parsed;
}

async function main(): Promise<void> {
  const values = parseCommandLine();
  if (values.help) {
    process.stderr.write(`${USAGE}\n`);
    return;
  }
  // The consumers' metrics would print EMF lines per batch; the bench measures them, it does not publish them.
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const results =
    values.from !== undefined
      ? await readResults(values.from)
      : await runBenchmark(benchmarkOptions(values, Date.now()));
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
