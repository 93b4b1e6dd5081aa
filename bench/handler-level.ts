import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, paginateScan } from '@aws-sdk/lib-dynamodb';
import type { SQSEvent } from 'aws-lambda';
import { LOCAL_AWS_CONFIG } from 'onceflow/testing';
import { auditLedger, type LedgerTables, type SentPayment } from '../lambda/app/ledger.js';
import { median, percentile, round, sleep } from '../local/support/stats.js';
import { DynamoDbMeter, type MeterReading } from './dynamodb-meter.js';
import {
  BENCH_LEASE_MS,
  type Container,
  SYSTEM_LABELS,
  SYSTEM_NAMES,
  type SystemName,
  type SystemUnderTest,
  setUpSystem,
} from './systems.js';
import { BATCH_SIZE, batchesOf, buildWorkload, redeliver, type Workload } from './workload.js';

export interface HandlerLevelOptions {
  /** DynamoDB Local (or any DynamoDB) endpoint to run against. */
  readonly endpoint: string;
  /** Unique messages per system and repetition in the throughput run (deliveries are ~1/0.7 of it). */
  readonly messages: number;
  /** Each figure is the median over this many repetitions. */
  readonly repetitions: number;
  /** Warm containers working at once, as concurrent Lambda invocations do. @default 4 */
  readonly containers?: number;
  /** Unique messages in the request accounting runs. @default min(messages, 200) */
  readonly accountingMessages?: number;
  /** Share of duplicate deliveries. @default 0.3 */
  readonly duplicateShare?: number;
  /** Remaining time the fake Lambda context reports in the crash scenarios: Powertools' in-progress expiry. @default 2000 */
  readonly crashRemainingTimeMs?: number;
  /** Unmeasured warm-up messages per system before the first repetition (JIT, connection pools). @default 300 */
  readonly warmUpMessages?: number;
  readonly systems?: readonly SystemName[];
  /**
   * Added before every request the systems send, as a stand-in for the network round trip to DynamoDB in AWS, which
   * DynamoDB Local on the same machine does not have. @default 0
   */
  readonly injectedLatencyMs?: number;
  /** Progress lines (to stderr in the CLI). */
  readonly progress?: (line: string) => void;
}

/** Per-message DynamoDB cost of one kind of delivery. */
export interface DeliveryCost {
  readonly requestsPerMessage: number;
  /** Write units computed from the documented rules plus the estimate for refused writes. */
  readonly writeUnitsPerMessage: number;
  /** The part of writeUnitsPerMessage estimated for refused writes (conditions failed, transactions cancelled). */
  readonly estimatedRefusedWriteUnitsPerMessage: number;
  readonly readUnitsPerMessage: number;
  readonly requestsByOperation: Record<string, number>;
}

export interface ThroughputSample {
  readonly deliveries: number;
  readonly uniqueMessages: number;
  readonly elapsedMs: number;
  readonly messagesPerSecond: number;
  readonly p50BatchMs: number;
  readonly p99BatchMs: number;
  /** Whole mixed stream (30% duplicates; a duplicate hits a warm cache only when its container saw the original). */
  readonly requestsPerDelivery: number;
  /** Computed from the documented rules (successful writes) plus the estimate for refused ones. */
  readonly writeUnitsPerDelivery: number;
  readonly computedWriteUnitsPerDelivery: number;
  /** What DynamoDB Local reported in ConsumedCapacity: too low for multi-item transactions, kept for comparison. */
  readonly reportedWriteUnitsPerDelivery: number;
  readonly estimatedRefusedWriteUnitsPerDelivery: number;
  readonly writeUnitsPerDeliveryByTable: Record<string, number>;
  /** Records still failing after the redelivery rounds. */
  readonly unsettledRecords: number;
  /** Node CPU per delivery in the bench process (consumer code, SDK, harness); DynamoDB Local runs apart. */
  readonly consumerCpuMsPerDelivery: number;
  readonly audit: AuditVerdict;
}

export interface AuditVerdict {
  /** Every unique message applied exactly once, every balance exact. */
  readonly exactlyOnce: boolean;
  readonly uniqueMessages: number;
  /** Effect applications counted on the accounts (entryCount), so a double apply shows even though entries overwrite. */
  readonly applications: number;
  readonly missing: number;
  readonly balanceMismatches: number;
}

export interface CostSample {
  readonly newMessage: DeliveryCost;
  /** The same container sees the message again: Onceflow's LRU answers. */
  readonly warmDuplicate: DeliveryCost;
  /** Another container sees it: the dedup table answers. */
  readonly coldDuplicate: DeliveryCost;
  /** The 30% duplicate stream with a fresh container per batch: every duplicate cold, as at scale on AWS. */
  readonly coldMixed: DeliveryCost;
}

export type CrashPoint = 'after-side-effect' | 'after-effect-writes';

export interface CrashAttempt {
  readonly label: string;
  readonly acknowledged: number;
  readonly outcomes: Record<string, number>;
}

export interface CrashSample {
  readonly system: SystemName;
  readonly point: CrashPoint;
  readonly messages: number;
  /** How many times the external side effect ran, over all attempts. */
  readonly sideEffectRuns: number;
  /** How many times the ledger effects were applied (entryCount on the accounts). */
  readonly effectApplications: number;
  readonly attempts: readonly CrashAttempt[];
  readonly exactlyOnceEffects: boolean;
}

export interface SystemSummary {
  readonly system: SystemName;
  readonly label: string;
  readonly messagesPerSecond: number;
  readonly p50BatchMs: number;
  readonly p99BatchMs: number;
  readonly requestsPerNewMessage: number;
  readonly requestsPerWarmDuplicate: number;
  readonly requestsPerColdDuplicate: number;
  readonly requestsPerDeliveryMixed: number;
  readonly requestsPerDeliveryColdMixed: number;
  readonly writeUnitsPerNewMessage: number;
  readonly writeUnitsPerColdDuplicate: number;
  readonly writeUnitsPerDeliveryMixed: number;
  readonly writeUnitsPerDeliveryColdMixed: number;
  readonly readUnitsPerDeliveryColdMixed: number;
  /** The part of writeUnitsPerDeliveryColdMixed estimated for refused writes. */
  readonly estimatedRefusedWriteUnitsPerDeliveryColdMixed: number;
  readonly estimatedRefusedWriteUnitsPerDelivery: number;
  readonly consumerCpuMsPerDelivery: number;
  /** True when every repetition's audit found each unique message applied exactly once. */
  readonly exactlyOnce: boolean;
  /** Extra effect applications per repetition (median): 0 when exactly once. */
  readonly extraApplications: number;
  readonly repetitions: readonly { throughput: ThroughputSample; cost: CostSample }[];
}

export interface HandlerLevelResult {
  readonly options: {
    readonly messages: number;
    readonly repetitions: number;
    readonly containers: number;
    readonly accountingMessages: number;
    readonly duplicateShare: number;
    readonly batchSize: number;
    readonly accounts: number;
    readonly injectedLatencyMs: number;
  };
  readonly systems: readonly SystemSummary[];
  /** The crash scenarios of the first repetition (their counts are deterministic). */
  readonly crashes: readonly CrashSample[];
  /** Whether every later repetition counted the same side effects and applications. */
  readonly crashCountsSameInEveryRepetition: boolean;
  /** Whether DynamoDB returned ConsumedCapacity (DynamoDB Local does, sized like the service; transactions 2x). */
  readonly consumedCapacityReported: boolean;
}

const ACCOUNTS = 1000;

/**
 * The handler-level benchmark (part A): each system consumes the same stream of SQS batches of 10 with 30%
 * duplicates on the same DynamoDB, with concurrent warm containers; then request accounting per kind of delivery,
 * then the crash-after-side-effect scenarios. Every system runs on its own freshly named tables.
 */
export async function runHandlerLevelBenchmark(options: HandlerLevelOptions): Promise<HandlerLevelResult> {
  const progress = options.progress ?? (() => undefined);
  const systems = options.systems ?? SYSTEM_NAMES;
  const containers = options.containers ?? 4;
  const duplicateShare = options.duplicateShare ?? 0.3;
  const accountingMessages = options.accountingMessages ?? Math.min(options.messages, 200);
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
  const adminDocument = DynamoDBDocumentClient.from(admin);
  const runId = randomUUID().slice(0, 8);
  let tableCounter = 0;
  const freshSystem = (name: SystemName) =>
    setUpSystem(name, { admin, dynamoDb: metered }, `bench-${runId}-${tableCounter++}-${name}`);

  try {
    const warmUpMessages = options.warmUpMessages ?? 300;
    if (warmUpMessages > 0) {
      progress(`warm-up: ${warmUpMessages} messages per system (not measured)`);
      for (const name of systems) {
        const workload = buildWorkload({
          uniqueMessages: warmUpMessages,
          duplicateShare,
          idPrefix: `warm-${runId}`,
        });
        await runThroughput(await freshSystem(name), workload, containers);
      }
    }

    const samples = new Map<SystemName, { throughput: ThroughputSample; cost: CostSample }[]>();
    const crashes: CrashSample[] = [];
    let consumedCapacityReported = false;
    let crashConsistent = true;
    for (let repetition = 0; repetition < options.repetitions; repetition++) {
      // The same inputs for every system within a repetition; the order rotates so no system always goes first.
      const workload = buildWorkload({
        uniqueMessages: options.messages,
        duplicateShare,
        accounts: ACCOUNTS,
        seed: repetition + 1,
        idPrefix: `m-${runId}-${repetition}`,
      });
      const order = systems.map((_, index) => systems[(index + repetition) % systems.length] ?? 'raw-writes');
      for (const name of order) {
        const system = await freshSystem(name);
        meter.reset();
        const throughput = await runThroughput(system, workload, containers);
        const reading = meter.read();
        consumedCapacityReported ||= reading.reportedWriteUnits > 0;
        const verdict = await audit(adminDocument, system.tables, workload.payments);
        const sample = throughputSample(throughput, workload, reading, verdict);
        progress(
          `rep ${repetition + 1}/${options.repetitions} ${name}: ${round(sample.messagesPerSecond, 0)} msgs/s, ` +
            `p50 ${round(sample.p50BatchMs, 1)} ms, p99 ${round(sample.p99BatchMs, 1)} ms, ` +
            `${round(sample.requestsPerDelivery, 3)} req/delivery, audit ${verdict.exactlyOnce ? 'exactly once' : `${verdict.applications - verdict.uniqueMessages} extra applications`}`,
        );
        const cost = await measureCosts(
          () => freshSystem(name),
          meter,
          `c-${runId}-${repetition}-${name}`,
          accountingMessages,
          duplicateShare,
        );
        samples.set(name, [...(samples.get(name) ?? []), { throughput: sample, cost }]);
      }
      for (const name of order) {
        for (const point of ['after-side-effect', 'after-effect-writes'] as const) {
          const crash = await runCrashScenario(name, point, {
            endpoint: options.endpoint,
            admin,
            tablePrefix: `bench-${runId}-${tableCounter++}-crash`,
            idPrefix: `x-${runId}-${repetition}-${name}-${point}`,
            remainingTimeMs: options.crashRemainingTimeMs ?? 2000,
          });
          if (repetition === 0) crashes.push(crash);
          else crashConsistent &&= sameCrashCounts(crash, crashes);
          progress(
            `rep ${repetition + 1} crash ${point} ${name}: side effect ran ${crash.sideEffectRuns}x, ` +
              `effects applied ${crash.effectApplications}x for ${crash.messages} messages`,
          );
        }
      }
    }

    return {
      options: {
        messages: options.messages,
        repetitions: options.repetitions,
        containers,
        accountingMessages,
        duplicateShare,
        batchSize: BATCH_SIZE,
        accounts: ACCOUNTS,
        injectedLatencyMs,
      },
      systems: systems.map((name) => summarize(name, samples.get(name) ?? [])),
      crashes,
      crashCountsSameInEveryRepetition: crashConsistent,
      consumedCapacityReported,
    };
  } finally {
    admin.destroy();
    metered.destroy();
  }
}

interface ThroughputRun {
  readonly elapsedMs: number;
  readonly batchLatenciesMs: readonly number[];
  readonly unsettledRecords: number;
  /** CPU the bench process spent (user + system), which is the consumers' CPU plus the harness's. */
  readonly consumerCpuMs: number;
}

/**
 * `containers` workers, each one warm container, take batches off a shared queue until it is empty. Records a
 * container hands back are delivered again afterwards, as SQS does when their visibility timeout ends.
 */
async function runThroughput(
  system: SystemUnderTest,
  workload: Workload,
  containers: number,
): Promise<ThroughputRun> {
  const pool: Container[] = Array.from({ length: containers }, () => system.newContainer());
  const latenciesMs: number[] = [];
  let queue: SQSEvent[] = [...workload.batches];
  let unsettled: SQSEvent['Records'] = [];
  const startedMs = performance.now();
  const startedCpu = process.cpuUsage();
  for (let round = 0; round < 5 && queue.length > 0; round++) {
    const returned: SQSEvent['Records'] = [];
    await Promise.all(
      pool.map(async (container) => {
        for (let batch = queue.shift(); batch !== undefined; batch = queue.shift()) {
          const batchStartedMs = performance.now();
          const { failedSqsMessageIds } = await container(batch);
          latenciesMs.push(performance.now() - batchStartedMs);
          const failed = new Set(failedSqsMessageIds);
          returned.push(...batch.Records.filter((record) => failed.has(record.messageId)));
        }
      }),
    );
    unsettled = returned;
    queue = [];
    for (let start = 0; start < returned.length; start += BATCH_SIZE) {
      queue.push(redeliver({ Records: returned.slice(start, start + BATCH_SIZE) }));
    }
  }
  const cpu = process.cpuUsage(startedCpu);
  return {
    elapsedMs: performance.now() - startedMs,
    consumerCpuMs: (cpu.user + cpu.system) / 1000,
    batchLatenciesMs: latenciesMs,
    unsettledRecords: queue.length === 0 ? 0 : unsettled.length,
  };
}

function throughputSample(
  run: ThroughputRun,
  workload: Workload,
  reading: MeterReading,
  audit: AuditVerdict,
): ThroughputSample {
  const perDelivery = (value: number) => value / workload.deliveries;
  return {
    deliveries: workload.deliveries,
    uniqueMessages: workload.payments.length,
    elapsedMs: run.elapsedMs,
    messagesPerSecond: workload.deliveries / (run.elapsedMs / 1000),
    p50BatchMs: percentile(run.batchLatenciesMs, 0.5),
    p99BatchMs: percentile(run.batchLatenciesMs, 0.99),
    requestsPerDelivery: perDelivery(reading.requests),
    writeUnitsPerDelivery: perDelivery(reading.computedWriteUnits + reading.estimatedRefusedWriteUnits),
    computedWriteUnitsPerDelivery: perDelivery(reading.computedWriteUnits),
    reportedWriteUnitsPerDelivery: perDelivery(reading.reportedWriteUnits),
    estimatedRefusedWriteUnitsPerDelivery: perDelivery(reading.estimatedRefusedWriteUnits),
    writeUnitsPerDeliveryByTable: Object.fromEntries(
      Object.entries(reading.reportedWriteUnitsByTable).map(([table, units]) => [
        tableRole(table),
        perDelivery(units),
      ]),
    ),
    unsettledRecords: run.unsettledRecords,
    consumerCpuMsPerDelivery: run.consumerCpuMs / workload.deliveries,
    audit,
  };
}

/** `bench-<run>-<n>-<system>-accounts` -> `accounts`: the role, stable across repetitions. */
function tableRole(tableName: string): string {
  return tableName.slice(tableName.lastIndexOf('-') + 1);
}

/** Request accounting, one batch at a time so each kind of delivery is counted alone. */
async function measureCosts(
  freshSystem: () => Promise<SystemUnderTest>,
  meter: DynamoDbMeter,
  idPrefix: string,
  messages: number,
  duplicateShare: number,
): Promise<CostSample> {
  const system = await freshSystem();
  const payments = buildWorkload({ uniqueMessages: messages, idPrefix, accounts: ACCOUNTS }).payments;
  const warm = system.newContainer();
  const newMessage = await metered(meter, messages, async () => {
    for (const batch of batchesOf(payments, `${idPrefix}-first`)) await warm(batch);
  });
  const warmDuplicate = await metered(meter, messages, async () => {
    for (const batch of batchesOf(payments, `${idPrefix}-again`)) await warm(batch);
  });
  const cold = system.newContainer();
  const coldDuplicate = await metered(meter, messages, async () => {
    for (const batch of batchesOf(payments, `${idPrefix}-elsewhere`)) await cold(batch);
  });
  const mixedSystem = await freshSystem();
  const mixed = buildWorkload({
    uniqueMessages: messages,
    duplicateShare,
    idPrefix: `${idPrefix}-mixed`,
    seed: 7,
  });
  const coldMixed = await metered(meter, mixed.deliveries, async () => {
    for (const batch of mixed.batches) await mixedSystem.newContainer()(batch);
  });
  return { newMessage, warmDuplicate, coldDuplicate, coldMixed };
}

async function metered(
  meter: DynamoDbMeter,
  messages: number,
  run: () => Promise<void>,
): Promise<DeliveryCost> {
  meter.reset();
  await run();
  const reading = meter.read();
  return {
    requestsPerMessage: reading.requests / messages,
    writeUnitsPerMessage: (reading.computedWriteUnits + reading.estimatedRefusedWriteUnits) / messages,
    estimatedRefusedWriteUnitsPerMessage: reading.estimatedRefusedWriteUnits / messages,
    readUnitsPerMessage: reading.reportedReadUnits / messages,
    requestsByOperation: reading.requestsByOperation,
  };
}

async function audit(
  dynamoDb: DynamoDBDocumentClient,
  tables: LedgerTables,
  payments: readonly SentPayment[],
): Promise<AuditVerdict> {
  const ledger = await auditLedger(dynamoDb, tables, payments);
  const applications = await countApplications(dynamoDb, tables);
  return {
    exactlyOnce: ledger.ok && applications === ledger.uniqueMessages,
    uniqueMessages: ledger.uniqueMessages,
    applications,
    missing: ledger.missing.length,
    balanceMismatches: ledger.balanceMismatches.length,
  };
}

/** Every application adds 1 to its account's entryCount; entries are keyed by messageId and would hide a repeat. */
async function countApplications(dynamoDb: DynamoDBDocumentClient, tables: LedgerTables): Promise<number> {
  let applications = 0;
  for await (const page of paginateScan({ client: dynamoDb }, { TableName: tables.accountsTableName })) {
    for (const item of page.Items ?? []) applications += Number(item.entryCount ?? 0);
  }
  return applications;
}

interface CrashOptions {
  readonly endpoint: string;
  readonly admin: DynamoDBClient;
  readonly tablePrefix: string;
  readonly idPrefix: string;
  readonly remainingTimeMs: number;
}

/**
 * A batch of 10 whose handler performs an external side effect (a counter here) and then dies before completion:
 * either right after the side effect, or right after its effect writes returned. The dead invocation is abandoned
 * (its promise never settles), then the batch is delivered again: at once, then after the system's own expiry.
 */
async function runCrashScenario(
  system: SystemName,
  point: CrashPoint,
  options: CrashOptions,
): Promise<CrashSample> {
  const crash = { armed: true, lastActivityMs: performance.now() };
  const dynamoDb = new DynamoDBClient({ ...LOCAL_AWS_CONFIG, endpoint: options.endpoint });
  dynamoDb.middlewareStack.add(
    (next, context) => async (args) => {
      crash.lastActivityMs = performance.now();
      const result = await next(args);
      crash.lastActivityMs = performance.now();
      if (
        crash.armed &&
        point === 'after-effect-writes' &&
        context.commandName === 'TransactWriteItemsCommand'
      ) {
        return never();
      }
      return result;
    },
    { step: 'initialize', name: 'benchCrashAfterEffectWrites' },
  );
  try {
    const sut = await setUpSystem(system, { admin: options.admin, dynamoDb }, options.tablePrefix);
    // One account per message, so each account's entryCount says how often that message's effects landed.
    const payments: SentPayment[] = Array.from({ length: BATCH_SIZE }, (_, index) => ({
      messageId: `${options.idPrefix}-${index}`,
      accountId: `crash-account-${index}`,
      amountCents: 100,
    }));
    const [event] = batchesOf(payments, `${options.idPrefix}-delivery`);
    if (event === undefined) throw new Error('no crash batch');
    let sideEffectRuns = 0;
    let clockOffsetMs = 0;
    const containerOptions = {
      clock: () => Date.now() + clockOffsetMs,
      remainingTimeMs: options.remainingTimeMs,
      sideEffect: async () => {
        sideEffectRuns += 1;
        if (crash.armed && point === 'after-side-effect') await never();
      },
    };

    // Attempt 1 dies: abandon it once every side effect ran and DynamoDB has been quiet for a moment.
    void sut.newContainer(containerOptions)(event);
    await waitUntil(() => sideEffectRuns >= BATCH_SIZE && performance.now() - crash.lastActivityMs > 250);
    crash.armed = false;

    const attempts: CrashAttempt[] = [];
    let pending: SQSEvent = redeliver(event);
    const deliver = async (label: string) => {
      const result = await sut.newContainer(containerOptions)(pending);
      attempts.push({
        label,
        acknowledged: pending.Records.length - result.failedSqsMessageIds.length,
        outcomes: { ...result.outcomes },
      });
      const failed = new Set(result.failedSqsMessageIds);
      pending = redeliver({ Records: pending.Records.filter((record) => failed.has(record.messageId)) });
    };
    await deliver('redelivered at once');
    for (let round = 0; round < 3 && pending.Records.length > 0; round++) {
      // Past Onceflow's lease (injected clock) and Powertools' in-progress expiry (real time, from the context).
      clockOffsetMs += BENCH_LEASE_MS + 1000;
      await sleep(options.remainingTimeMs + 200);
      await deliver('redelivered after the lease / in-progress expiry');
    }
    const applications = await countApplications(DynamoDBDocumentClient.from(options.admin), sut.tables);
    return {
      system,
      point,
      messages: BATCH_SIZE,
      sideEffectRuns,
      effectApplications: applications,
      attempts,
      exactlyOnceEffects: applications === BATCH_SIZE,
    };
  } finally {
    crash.armed = false;
    dynamoDb.destroy();
  }
}

function summarize(
  name: SystemName,
  samples: readonly { throughput: ThroughputSample; cost: CostSample }[],
): SystemSummary {
  const of = (pick: (sample: { throughput: ThroughputSample; cost: CostSample }) => number) =>
    median(samples.map(pick));
  return {
    system: name,
    label: SYSTEM_LABELS[name],
    messagesPerSecond: of((s) => s.throughput.messagesPerSecond),
    p50BatchMs: of((s) => s.throughput.p50BatchMs),
    p99BatchMs: of((s) => s.throughput.p99BatchMs),
    requestsPerNewMessage: of((s) => s.cost.newMessage.requestsPerMessage),
    requestsPerWarmDuplicate: of((s) => s.cost.warmDuplicate.requestsPerMessage),
    requestsPerColdDuplicate: of((s) => s.cost.coldDuplicate.requestsPerMessage),
    requestsPerDeliveryMixed: of((s) => s.throughput.requestsPerDelivery),
    requestsPerDeliveryColdMixed: of((s) => s.cost.coldMixed.requestsPerMessage),
    writeUnitsPerNewMessage: of((s) => s.cost.newMessage.writeUnitsPerMessage),
    writeUnitsPerColdDuplicate: of((s) => s.cost.coldDuplicate.writeUnitsPerMessage),
    writeUnitsPerDeliveryMixed: of((s) => s.throughput.writeUnitsPerDelivery),
    writeUnitsPerDeliveryColdMixed: of((s) => s.cost.coldMixed.writeUnitsPerMessage),
    readUnitsPerDeliveryColdMixed: of((s) => s.cost.coldMixed.readUnitsPerMessage),
    estimatedRefusedWriteUnitsPerDeliveryColdMixed: of(
      (s) => s.cost.coldMixed.estimatedRefusedWriteUnitsPerMessage,
    ),
    estimatedRefusedWriteUnitsPerDelivery: of((s) => s.throughput.estimatedRefusedWriteUnitsPerDelivery),
    consumerCpuMsPerDelivery: of((s) => s.throughput.consumerCpuMsPerDelivery),
    exactlyOnce: samples.length > 0 && samples.every((s) => s.throughput.audit.exactlyOnce),
    extraApplications: of((s) => s.throughput.audit.applications - s.throughput.audit.uniqueMessages),
    repetitions: samples,
  };
}

function sameCrashCounts(crash: CrashSample, first: readonly CrashSample[]): boolean {
  const match = first.find((sample) => sample.system === crash.system && sample.point === crash.point);
  return (
    match !== undefined &&
    match.sideEffectRuns === crash.sideEffectRuns &&
    match.effectApplications === crash.effectApplications
  );
}

function never(): Promise<never> {
  return new Promise(() => undefined);
}

async function waitUntil(condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline)
      throw new Error('crash scenario: the first attempt never reached its crash point');
    await sleep(20);
  }
}
