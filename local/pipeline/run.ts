import { type LocalStack, startLocalStack } from '../stack/local-stack.js';
import { seededRandom } from '../support/random.js';
import { percentile } from '../support/stats.js';
import { auditRun } from './audit.js';
import { waitUntilDrained } from './drain.js';
import { FaultScheduler } from './faults.js';
import { ServerFleet } from './fleet.js';
import { type MessagePlan, planMessages } from './plan.js';
import type { PipelineOptions, PipelineReport, PipelineSettings } from './report.js';
import { type SendState, sendAll } from './send.js';

export type {
  PipelineAudit,
  PipelineCounts,
  PipelineOptions,
  PipelineProgress,
  PipelineReport,
  PipelineSettings,
} from './report.js';

/** What a run does when an option is left out; `npm start --help` shows the same. */
export const PIPELINE_DEFAULTS = {
  servers: 4,
  /** Sized so the default run, every fault on, ends in under a minute on 2 cores (see README, "Run it locally"). */
  messages: 2_500,
  duplicateRate: 0.3,
  crashRate: 2,
  zombies: 1,
  malformed: 8,
  mode: 'lease',
  seed: 1,
  accounts: 500,
  keep: false,
  unsafeDisableDedup: false,
} as const satisfies PipelineSettings;

/**
 * The local exactly-once pipeline: DynamoDB Local + the SQS emulator, N server processes that poll like the Lambda
 * event source mapping, a producer sending payments with duplicates, faults (kill -9 at protocol points, a zombie,
 * malformed messages), and at the end an audit of the ledger against what was sent.
 *
 * @example
 * const report = await runPipeline({ messages: 2_000 });
 * process.exitCode = report.ok ? 0 : 1;
 */
export async function runPipeline(options: PipelineOptions = {}): Promise<PipelineReport> {
  const settings = resolveSettings(options);
  const random = seededRandom(settings.seed);
  const startedMs = Date.now();
  const stack = await startLocalStack(`onceflow-${settings.seed}`);
  const fleet = new ServerFleet(stack, settings.mode, settings.unsafeDisableDedup);
  const stopAll = async () => {
    await fleet.stop();
    if (!settings.keep) await stack.stop();
  };
  const onAbort = () => void stopAll();
  options.signal?.addEventListener('abort', onAbort, { once: true });

  try {
    await fleet.start(settings.servers);
    const plan = planMessages(settings, random);
    const faults = new FaultScheduler(fleet, stack, settings, random);
    const timing = await processPlan({ stack, fleet, faults, plan, options, startedMs });
    await fleet.stop();
    const audit = await auditRun(stack, plan);
    const latencies = fleet.sendToCommitMs;
    // JSON has no NaN: a run that committed nothing reports null.
    const latency = (fraction: number) => (latencies.length === 0 ? null : percentile(latencies, fraction));
    return {
      ok: audit.ok,
      options: { ...settings, offeredLoadPerSecond: options.offeredLoadPerSecond ?? null },
      counts: fleet.counts(),
      sent: { unique: plan.unique.length, duplicates: plan.duplicateCount, malformed: plan.malformedCount },
      audit,
      elapsedMs: Date.now() - startedMs,
      processingMs: timing.processingMs,
      messagesPerSecond: (plan.unique.length / Math.max(1, timing.processingMs)) * 1000,
      sendToCommitMs: { p50: latency(0.5), p99: latency(0.99) },
      serverPeakRssMb: fleet.peakRssMb,
      logFile: fleet.logFile,
      ...(settings.keep ? { stack } : {}),
    };
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    await stopAll();
  }
}

function resolveSettings(options: PipelineOptions): PipelineSettings {
  const defaults = PIPELINE_DEFAULTS;
  return {
    servers: options.servers ?? defaults.servers,
    messages: options.messages ?? defaults.messages,
    duplicateRate: options.duplicateRate ?? defaults.duplicateRate,
    crashRate: options.crashRate ?? defaults.crashRate,
    zombies: options.zombies ?? defaults.zombies,
    malformed: options.malformed ?? defaults.malformed,
    mode: options.mode ?? defaults.mode,
    seed: options.seed ?? defaults.seed,
    accounts: options.accounts ?? defaults.accounts,
    keep: options.keep ?? defaults.keep,
    unsafeDisableDedup: options.unsafeDisableDedup ?? defaults.unsafeDisableDedup,
  };
}

interface Processing {
  readonly stack: LocalStack;
  readonly fleet: ServerFleet;
  readonly faults: FaultScheduler;
  readonly plan: MessagePlan;
  readonly options: PipelineOptions;
  readonly startedMs: number;
}

/** Sends the plan and waits for the zombies and every stage to finish, reporting progress meanwhile. */
async function processPlan({
  stack,
  fleet,
  faults,
  plan,
  options,
  startedMs,
}: Processing): Promise<{ processingMs: number }> {
  const producerState: SendState = { sent: 0 };
  const progress = () =>
    options.onProgress?.({
      ...fleet.counts(),
      sent: producerState.sent,
      toSend: plan.sends.length,
      expectedProcessed: plan.unique.length,
      elapsedMs: Date.now() - startedMs,
    });
  const ticker = setInterval(progress, 250);
  const sendStartedMs = Date.now();
  try {
    await sendAll(stack, plan.sends, options.offeredLoadPerSecond, producerState, options.signal);
    await faults.settled();
    await waitUntilDrained(stack, fleet, options.signal);
    return { processingMs: Date.now() - sendStartedMs };
  } finally {
    clearInterval(ticker);
    progress();
  }
}
