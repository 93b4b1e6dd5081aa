import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LocalStack, startLocalStack } from '../stack/local-stack.js';
import { seededRandom } from '../support/random.js';
import { auditRun } from './audit.js';
import { waitUntilDrained } from './drain.js';
import { FaultScheduler } from './faults.js';
import { ServerFleet } from './fleet.js';
import { type MessagePlan, planMessages } from './plan.js';
import { ProcessLog } from './process-log.js';
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
  /** Sized so the default run, every fault on, ends in minutes on 2 cores (see README, "Run it locally"). */
  messages: 2_500,
  duplicateRate: 0.3,
  crashRate: 2,
  zombies: 1,
  malformed: 8,
  mode: 'lease',
  seed: 1,
  dynamoDbFaultRate: 0.005,
  soak: false,
  accounts: 500,
  keep: false,
  unsafeDisableDedup: false,
} as const satisfies PipelineSettings;

/** What `soak` changes, unless the options say otherwise. */
export const SOAK_DEFAULTS = {
  messages: 200_000,
  zombies: 10,
  /** The producer keeps at most this many messages in the source queue, so the run is a steady flow. */
  maxQueuedMessages: 5_000,
  /**
   * A soak runs for hours beside other work. A batch waits on up to three attempts of a DynamoDB request (3 s
   * request timeout each) when DynamoDB Local stalls under that load; with 5 s, one soak had every server time out
   * at once, again and again, in its last minutes. 10 s gives those attempts room (lease 11 s, visibility 60 s).
   */
  functionTimeoutSeconds: 10,
} as const;

/**
 * The local exactly-once pipeline: DynamoDB Local + the SQS emulator, N server processes that poll like the Lambda
 * event source mapping, a producer sending payments with duplicates, faults (kill -9 at protocol points, a zombie,
 * DynamoDB faults, malformed messages), and at the end an audit of the ledger against what was sent.
 *
 * @example
 * const report = await runPipeline({ messages: 2_000 });
 * process.exitCode = report.ok ? 0 : 1;
 */
export async function runPipeline(options: PipelineOptions = {}): Promise<PipelineReport> {
  const settings = resolveSettings(options);
  const random = seededRandom(settings.seed);
  const startedMs = Date.now();
  // Left out, the log goes to a directory of its own, removed at the end: a test leaves nothing behind.
  const temporaryLogDirectory =
    options.logFile === undefined ? await mkdtemp(join(tmpdir(), 'onceflow-local-')) : undefined;
  const log = new ProcessLog(options.logFile ?? join(temporaryLogDirectory ?? tmpdir(), 'processes.log'));
  log.note(`settings ${JSON.stringify(settings)}`);
  let stack: LocalStack | undefined;
  let fleet: ServerFleet | undefined;
  const stopAll = async () => {
    await fleet?.stop();
    if (!settings.keep) await stack?.stop();
  };
  const onAbort = () => void stopAll();
  options.signal?.addEventListener('abort', onAbort, { once: true });

  try {
    stack = await startLocalStack({
      prefix: `onceflow-${settings.seed}`,
      functionTimeoutSeconds: settings.soak ? SOAK_DEFAULTS.functionTimeoutSeconds : undefined,
      longRunning: settings.soak,
    });
    fleet = new ServerFleet(stack, settings, log);
    await fleet.start(settings.servers);
    const plan = planMessages(settings, random);
    const faults = new FaultScheduler(fleet, stack, settings, random);
    const timing = await processPlan({ stack, fleet, faults, plan, settings, options, startedMs, log });
    await fleet.stop();
    const audit = await auditRun(stack, plan);
    const memory = fleet.memory.report();
    const memoryFlat = settings.soak ? (memory.flatness?.flat ?? null) : null;
    log.note(
      `audit ${audit.ok ? 'passed' : 'FAILED'}: applied ${audit.applied}/${audit.uniqueMessages}, missing ` +
        `${audit.missing.length}, valid payments parked [${audit.validPaymentsParked.slice(0, 20).join(', ')}], ` +
        `parked without a reason ${audit.parkedWithoutReason}, balances wrong ${audit.balanceMismatches.length}, ` +
        `malformed parked ${audit.malformedParked}/${audit.malformedExpected}`,
    );
    return {
      ok: audit.ok && memoryFlat !== false,
      options: { ...settings, offeredLoadPerSecond: options.offeredLoadPerSecond ?? null },
      counts: fleet.counts(),
      sent: { unique: plan.unique.length, duplicates: plan.duplicateCount, malformed: plan.malformedCount },
      audit,
      elapsedMs: Date.now() - startedMs,
      processingMs: timing.processingMs,
      messagesPerSecond: (plan.unique.length / Math.max(1, timing.processingMs)) * 1000,
      sendToCommitMs: {
        p50: fleet.sendToCommitMs.percentile(0.5),
        p99: fleet.sendToCommitMs.percentile(0.99),
      },
      serverPeakRssMb: memory.serverPeakMb,
      memory,
      memoryFlat,
      logFile: temporaryLogDirectory === undefined ? log.path : null,
      ...(settings.keep ? { stack } : {}),
    };
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    await stopAll();
    await log.close();
    if (temporaryLogDirectory !== undefined)
      await rm(temporaryLogDirectory, { recursive: true, force: true });
  }
}

/** Every option resolved: soak's defaults where it is on, then the plain defaults. */
export function resolveSettings(options: Omit<PipelineOptions, 'onProgress' | 'signal'>): PipelineSettings {
  const defaults = PIPELINE_DEFAULTS;
  const soak = options.soak ?? defaults.soak;
  return {
    servers: options.servers ?? defaults.servers,
    messages: options.messages ?? (soak ? SOAK_DEFAULTS.messages : defaults.messages),
    duplicateRate: options.duplicateRate ?? defaults.duplicateRate,
    crashRate: options.crashRate ?? defaults.crashRate,
    zombies: options.zombies ?? (soak ? SOAK_DEFAULTS.zombies : defaults.zombies),
    malformed: options.malformed ?? defaults.malformed,
    mode: options.mode ?? defaults.mode,
    seed: options.seed ?? defaults.seed,
    dynamoDbFaultRate: options.dynamoDbFaultRate ?? defaults.dynamoDbFaultRate,
    soak,
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
  readonly settings: PipelineSettings;
  readonly options: PipelineOptions;
  readonly startedMs: number;
  readonly log: ProcessLog;
}

/** Sends the plan and waits for the zombies and every stage to finish, reporting progress meanwhile. */
async function processPlan({
  stack,
  fleet,
  faults,
  plan,
  settings,
  options,
  startedMs,
  log,
}: Processing): Promise<{ processingMs: number }> {
  const producerState: SendState = { sent: 0 };
  const progress = () =>
    options.onProgress?.({
      ...fleet.counts(),
      sent: producerState.sent,
      toSend: plan.toSend,
      expectedProcessed: plan.unique.length,
      elapsedMs: Date.now() - startedMs,
    });
  const ticker = setInterval(progress, 250);
  const sendStartedMs = Date.now();
  fleet.measureLatencyFrom(sendStartedMs + (options.latencyWarmUpMs ?? 0));
  try {
    await sendAll(
      stack,
      plan.sends,
      {
        offeredLoadPerSecond: options.offeredLoadPerSecond,
        maxQueuedMessages: settings.soak ? SOAK_DEFAULTS.maxQueuedMessages : undefined,
        signal: options.signal,
      },
      producerState,
    );
    await faults.settled();
    await waitUntilDrained(stack, fleet, options.signal, log);
    // Up to the last record settled: the drain's confirming checks after it are not the pipeline's work.
    return { processingMs: (fleet.lastSettledMs() ?? Date.now()) - sendStartedMs };
  } finally {
    clearInterval(ticker);
    progress();
  }
}
