import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { LOCAL_AWS_CONFIG } from 'onceflow/testing';
import { round, sleep } from '../../local/support/stats.js';
import { audit } from './audit.js';
import { measureCosts } from './cost-accounting.js';
import { runCrashScenario, sameCrashCounts } from './crash-scenarios.js';
import { DynamoDbMeter } from './dynamodb-meter.js';
import type { CrashSample, HandlerLevelOptions, HandlerLevelResult, RepetitionSample } from './results.js';
import { clientWithRoundTrips, measureRoundTrips, type RoundTripResult } from './round-trips.js';
import { summarize } from './summary.js';
import { SYSTEM_NAMES, type SystemName, type SystemUnderTest, setUpSystem } from './systems.js';
import { runThroughput, throughputSample } from './throughput.js';
import { ACCOUNTS, BATCH_SIZE, buildWorkload, type Workload } from './workload.js';

/** What every phase of one run shares: its settings, its clients, and table names no other system used. */
interface HandlerLevelRun {
  readonly options: HandlerLevelOptions;
  /** The options with their defaults, as the results file records them. */
  readonly settings: HandlerLevelResult['options'];
  readonly systems: readonly SystemName[];
  readonly progress: (line: string) => void;
  readonly runId: string;
  /** Creates tables and audits; not metered. */
  readonly admin: DynamoDBClient;
  readonly adminDocument: DynamoDBDocumentClient;
  /** Counts what the systems under test send. */
  readonly meter: DynamoDbMeter;
  /** A system on freshly named tables, sending through the metered client. */
  freshSystem(name: SystemName): Promise<SystemUnderTest>;
  /** A fresh table prefix for a crash scenario (which sends through a client of its own). */
  crashTablePrefix(): string;
  close(): void;
}

/**
 * The handler-level benchmark (part A): each system consumes the same stream of SQS batches of 10 with 30%
 * duplicates on the same DynamoDB, with concurrent warm containers; then request accounting per kind of delivery,
 * then the crash-after-side-effect scenarios. Every system runs on its own freshly named tables.
 */
export async function runHandlerLevelBenchmark(options: HandlerLevelOptions): Promise<HandlerLevelResult> {
  const run = openRun(options);
  try {
    await warmUp(run);
    const samples = new Map<SystemName, RepetitionSample[]>();
    const crashes: CrashSample[] = [];
    let consumedCapacityReported = false;
    let crashConsistent = true;
    for (let repetition = 0; repetition < options.repetitions; repetition++) {
      // The same inputs for every system within a repetition; the order rotates so no system always goes first.
      const workload = buildWorkload({
        uniqueMessages: options.messages,
        duplicateShare: run.settings.duplicateShare,
        accounts: ACCOUNTS,
        seed: repetition + 1,
        idPrefix: `m-${run.runId}-${repetition}`,
      });
      const order = run.systems.map(
        (_, index) => run.systems[(index + repetition) % run.systems.length] ?? 'raw-writes',
      );
      for (const name of order) {
        const measured = await measureSystem(run, name, workload, repetition);
        consumedCapacityReported ||= measured.consumedCapacityReported;
        samples.set(name, [...(samples.get(name) ?? []), measured.sample]);
      }
      for (const crash of await crashPhase(run, order, repetition)) {
        if (repetition === 0) crashes.push(crash);
        else crashConsistent &&= sameCrashCounts(crash, crashes);
      }
    }
    const roundTrips = await roundTripPhase(run);
    return {
      options: run.settings,
      systems: run.systems.map((name) => summarize(name, samples.get(name) ?? [])),
      crashes,
      crashCountsSameInEveryRepetition: crashConsistent,
      consumedCapacityReported,
      ...(roundTrips === undefined ? {} : { roundTrips }),
    };
  } finally {
    run.close();
  }
}

function openRun(options: HandlerLevelOptions): HandlerLevelRun {
  const admin = new DynamoDBClient({ ...LOCAL_AWS_CONFIG, endpoint: options.endpoint });
  const metered = new DynamoDBClient({ ...LOCAL_AWS_CONFIG, endpoint: options.endpoint });
  const meter = DynamoDbMeter.attachTo(metered);
  const injectedLatencyMs = options.injectedLatencyMs ?? 0;
  if (injectedLatencyMs > 0) {
    metered.middlewareStack.add(
      (next) => async (args) => {
        await sleep(injectedLatencyMs);
        return next(args);
      },
      { step: 'finalizeRequest', name: 'benchInjectedLatency' },
    );
  }
  const runId = randomUUID().slice(0, 8);
  let tableCounter = 0;
  return {
    options,
    settings: {
      messages: options.messages,
      repetitions: options.repetitions,
      containers: options.containers ?? 4,
      accountingMessages: options.accountingMessages ?? Math.min(options.messages, 200),
      duplicateShare: options.duplicateShare ?? 0.3,
      batchSize: BATCH_SIZE,
      accounts: ACCOUNTS,
      injectedLatencyMs,
    },
    systems: options.systems ?? SYSTEM_NAMES,
    progress: options.progress ?? (() => undefined),
    runId,
    admin,
    adminDocument: DynamoDBDocumentClient.from(admin),
    meter,
    freshSystem: (name) =>
      setUpSystem(name, { admin, dynamoDb: metered }, `bench-${runId}-${tableCounter++}-${name}`),
    crashTablePrefix: () => `bench-${runId}-${tableCounter++}-crash`,
    close: () => {
      admin.destroy();
      metered.destroy();
    },
  };
}

/** The batch latency run with modelled AWS round trips, on a client of its own (not metered). */
async function roundTripPhase(run: HandlerLevelRun): Promise<RoundTripResult | undefined> {
  const uniqueMessages = run.options.roundTripMessages ?? 500;
  if (uniqueMessages <= 0) return undefined;
  const client = clientWithRoundTrips(run.options.endpoint);
  try {
    let tables = 0;
    return await measureRoundTrips({
      freshSystem: (name) =>
        setUpSystem(name, { admin: run.admin, dynamoDb: client }, `bench-${run.runId}-rt${tables++}-${name}`),
      adminDocument: run.adminDocument,
      uniqueMessages,
      duplicateShare: run.settings.duplicateShare,
      repetitions: run.options.repetitions,
      idPrefix: `rt-${run.runId}`,
      progress: run.progress,
    });
  } finally {
    client.destroy();
  }
}

/** Unmeasured messages through every system first, so the first measured one does not pay for JIT and pools. */
async function warmUp(run: HandlerLevelRun): Promise<void> {
  const warmUpMessages = run.options.warmUpMessages ?? 300;
  if (warmUpMessages <= 0) return;
  run.progress(`warm-up: ${warmUpMessages} messages per system (not measured)`);
  for (const name of run.systems) {
    const workload = buildWorkload({
      uniqueMessages: warmUpMessages,
      duplicateShare: run.settings.duplicateShare,
      idPrefix: `warm-${run.runId}`,
    });
    await runThroughput(await run.freshSystem(name), workload, run.settings.containers);
  }
}

/** One system in one repetition: the throughput run, metered and audited, then its request accounting. */
async function measureSystem(
  run: HandlerLevelRun,
  name: SystemName,
  workload: Workload,
  repetition: number,
): Promise<{ sample: RepetitionSample; consumedCapacityReported: boolean }> {
  const system = await run.freshSystem(name);
  run.meter.reset();
  const throughput = await runThroughput(system, workload, run.settings.containers);
  const reading = run.meter.read();
  const verdict = await audit(run.adminDocument, system.tables, workload.payments);
  const sample = throughputSample(throughput, workload, reading, verdict);
  run.progress(
    `rep ${repetition + 1}/${run.options.repetitions} ${name}: ${round(sample.messagesPerSecond, 0)} msgs/s, ` +
      `p50 ${round(sample.p50BatchMs, 1)} ms, p99 ${round(sample.p99BatchMs, 1)} ms, ` +
      `${round(sample.requestsPerDelivery, 3)} req/delivery, audit ${verdict.exactlyOnce ? 'exactly once' : `${verdict.applications - verdict.uniqueMessages} extra applications`}`,
  );
  const cost = await measureCosts(
    () => run.freshSystem(name),
    run.meter,
    `c-${run.runId}-${repetition}-${name}`,
    run.settings.accountingMessages,
    run.settings.duplicateShare,
  );
  return { sample: { throughput: sample, cost }, consumedCapacityReported: reading.reportedWriteUnits > 0 };
}

/** Both crash points for every system, in the repetition's order. */
async function crashPhase(
  run: HandlerLevelRun,
  order: readonly SystemName[],
  repetition: number,
): Promise<CrashSample[]> {
  const crashes: CrashSample[] = [];
  for (const name of order) {
    for (const point of ['after-side-effect', 'after-effect-writes'] as const) {
      const crash = await runCrashScenario(name, point, {
        endpoint: run.options.endpoint,
        admin: run.admin,
        tablePrefix: run.crashTablePrefix(),
        idPrefix: `x-${run.runId}-${repetition}-${name}-${point}`,
        remainingTimeMs: run.options.crashRemainingTimeMs ?? 2000,
      });
      crashes.push(crash);
      run.progress(
        `rep ${repetition + 1} crash ${point} ${name}: side effect ran ${crash.sideEffectRuns}x, ` +
          `effects applied ${crash.effectApplications}x for ${crash.messages} messages`,
      );
    }
  }
  return crashes;
}
