import { RUNTIME_DEFAULTS } from 'onceflow';
import type { SystemSummary } from '../handler-level/results.js';
import type { RoundTripResult } from '../handler-level/round-trips.js';
import type { SystemName } from '../handler-level/systems.js';

/**
 * us-east-1 list prices as of 2026-01 (on-demand DynamoDB after its November 2024 price cut; Lambda arm64; SQS past
 * the free tier, first pricing tier). They change: check the AWS pricing pages before relying on a figure.
 */
export const PRICES_USD = {
  dynamoDbPerMillionWriteUnits: 0.625,
  dynamoDbPerMillionReadUnits: 0.125,
  dynamoDbStoragePerGbMonth: 0.25,
  lambdaPerMillionRequests: 0.2,
  lambdaArm64PerGbSecond: 0.000_013_333_4,
  sqsStandardPerMillionRequests: 0.4,
  sqsFifoPerMillionRequests: 0.5,
} as const;

/** Published limits the model divides by. */
export const LIMITS = {
  /** One DynamoDB partition serves at most 1,000 write units and 3,000 read units per second. */
  partitionWriteUnitsPerSecond: 1000,
  partitionReadUnitsPerSecond: 3000,
  /**
   * SQS FIFO high-throughput mode, us-east-1: up to 70,000 transactions per second per API action (non-batched);
   * with batches of 10 that is up to 700,000 messages per second per action. Standard queues: nearly unlimited.
   */
  fifoHighThroughputTransactionsPerSecondPerAction: 70_000,
  /** FIFO deduplicates a MessageDeduplicationId only for 5 minutes after it was first sent. */
  fifoDeduplicationWindowSeconds: 300,
} as const;

export const ASSUMPTIONS = {
  batchSize: 10,
  lambdaMemoryMb: 512,
  /**
   * SQS requests per delivered message: SendMessageBatch, ReceiveMessage (the event source mapping) and
   * DeleteMessageBatch, each carrying 10 messages.
   */
  sqsRequestsPerMessage: 0.3,
  /** Onceflow keeps a claim per messageId for the dedup window W (its default); Powertools for 1 hour. */
  claimRetentionDays: RUNTIME_DEFAULTS.dedupWindowSeconds / 86_400,
  powertoolsRetentionDays: 1 / 24,
  /** Stored size of one claim / idempotency record, with DynamoDB's 100-byte per-item overhead. */
  claimItemBytes: 350,
  powertoolsItemBytes: 250,
  daysPerMonth: 30.4,
} as const;

export const MODELLED_RATES_PER_SECOND = [10_000, 100_000] as const;

export type CostColumn = 'onceflow-lease' | 'onceflow-optimistic' | 'powertools' | 'sqs-fifo-high-throughput';

export const COST_COLUMN_LABELS: Readonly<Record<CostColumn, string>> = {
  'onceflow-lease': 'Onceflow lease',
  'onceflow-optimistic': 'Onceflow optimistic',
  powertools: 'Powertools idempotency',
  'sqs-fifo-high-throughput': 'SQS FIFO high-throughput + raw writes',
};

/** The measured inputs per column: what one delivered message costs in DynamoDB, and how long a batch takes. */
export interface CostInputs {
  readonly requestsPerDelivery: number;
  readonly writeUnitsPerDelivery: number;
  readonly readUnitsPerDelivery: number;
  /** Lambda duration per batch of 10. */
  readonly batchDurationMs: number;
  readonly dedupRecordBytes: number;
  readonly dedupRetentionDays: number;
  readonly sqsPerMillionRequests: number;
  /** Where the inputs came from. */
  readonly source: SystemName;
}

export interface CostEstimate {
  readonly column: CostColumn;
  readonly label: string;
  readonly messagesPerSecond: number;
  readonly dynamoDbWriteUnitsPerSecond: number;
  readonly dynamoDbReadUnitsPerSecond: number;
  readonly dynamoDbRequestsPerSecond: number;
  /** Partitions the write and read rate needs at least, with keys spread evenly (no hot key). */
  readonly dynamoDbPartitions: number;
  readonly lambdaConcurrency: number;
  readonly sqsRequestsPerSecond: number;
  readonly usdPerMillionMessages: {
    readonly dynamoDbWrites: number;
    readonly dynamoDbReads: number;
    readonly dynamoDbStorage: number;
    readonly lambdaRequests: number;
    readonly lambdaCompute: number;
    readonly sqs: number;
    readonly total: number;
  };
  readonly usdPerMonth: number;
  readonly inputs: CostInputs;
}

/**
 * Inputs per column from the handler-level results. Duplicates are taken as cold (another container saw the
 * original), as they nearly all are across hundreds of containers at these rates: the warm cache is not counted on.
 */
export function costInputs(
  systems: readonly SystemSummary[],
  roundTrips: RoundTripResult | undefined = undefined,
): Map<CostColumn, CostInputs> {
  const inputs = new Map<CostColumn, CostInputs>();
  // Lambda bills the batch's duration, which on AWS follows its round trips to DynamoDB: the round-trip run's p50
  // where it measured the system, else the p50 on a local DynamoDB that shares the bench's CPU (pessimistic).
  const batchDurationMs = (system: SystemSummary) =>
    roundTrips?.systems.find((sample) => sample.system === system.system)?.p50BatchMs ?? system.p50BatchMs;
  const from = (
    system: SystemSummary,
    extra: Pick<CostInputs, 'dedupRecordBytes' | 'dedupRetentionDays' | 'sqsPerMillionRequests'>,
  ): CostInputs => ({
    requestsPerDelivery: system.requestsPerDeliveryColdMixed,
    writeUnitsPerDelivery: system.writeUnitsPerDeliveryColdMixed,
    readUnitsPerDelivery: system.readUnitsPerDeliveryColdMixed,
    batchDurationMs: batchDurationMs(system),
    source: system.system,
    ...extra,
  });
  const onceflowDedup = {
    dedupRecordBytes: ASSUMPTIONS.claimItemBytes,
    dedupRetentionDays: ASSUMPTIONS.claimRetentionDays,
    sqsPerMillionRequests: PRICES_USD.sqsStandardPerMillionRequests,
  };
  for (const system of systems) {
    switch (system.system) {
      case 'onceflow-lease':
      case 'onceflow-optimistic':
        inputs.set(system.system, from(system, onceflowDedup));
        break;
      case 'powertools':
        inputs.set(
          'powertools',
          from(system, {
            dedupRecordBytes: ASSUMPTIONS.powertoolsItemBytes,
            dedupRetentionDays: ASSUMPTIONS.powertoolsRetentionDays,
            sqsPerMillionRequests: PRICES_USD.sqsStandardPerMillionRequests,
          }),
        );
        break;
      case 'raw-writes':
        // FIFO dedups the queue side; the consumer then writes with no dedup table (the raw-writes floor).
        inputs.set(
          'sqs-fifo-high-throughput',
          from(system, {
            dedupRecordBytes: 0,
            dedupRetentionDays: 0,
            sqsPerMillionRequests: PRICES_USD.sqsFifoPerMillionRequests,
          }),
        );
        break;
    }
  }
  return inputs;
}

/** The capacity and cost of one column at one rate. */
export function estimateCost(
  column: CostColumn,
  inputs: CostInputs,
  messagesPerSecond: number,
): CostEstimate {
  const writeUnitsPerSecond = messagesPerSecond * inputs.writeUnitsPerDelivery;
  const readUnitsPerSecond = messagesPerSecond * inputs.readUnitsPerDelivery;
  const batchesPerSecond = messagesPerSecond / ASSUMPTIONS.batchSize;
  const perMillion = (perMessage: number, pricePerMillion: number) => perMessage * pricePerMillion;
  const batchesPerMillion = 1_000_000 / ASSUMPTIONS.batchSize;
  const gbSecondsPerMillion =
    batchesPerMillion * (inputs.batchDurationMs / 1000) * (ASSUMPTIONS.lambdaMemoryMb / 1024);
  // Each record is kept for its retention; a million messages hold that many records for that share of a month.
  const storageGbMonthsPerMillion =
    ((1_000_000 * inputs.dedupRecordBytes) / 1e9) * (inputs.dedupRetentionDays / ASSUMPTIONS.daysPerMonth);
  const usd = {
    dynamoDbWrites: perMillion(inputs.writeUnitsPerDelivery, PRICES_USD.dynamoDbPerMillionWriteUnits),
    dynamoDbReads: perMillion(inputs.readUnitsPerDelivery, PRICES_USD.dynamoDbPerMillionReadUnits),
    dynamoDbStorage: storageGbMonthsPerMillion * PRICES_USD.dynamoDbStoragePerGbMonth,
    lambdaRequests: (batchesPerMillion / 1_000_000) * PRICES_USD.lambdaPerMillionRequests,
    lambdaCompute: gbSecondsPerMillion * PRICES_USD.lambdaArm64PerGbSecond,
    sqs: perMillion(ASSUMPTIONS.sqsRequestsPerMessage, inputs.sqsPerMillionRequests),
  };
  const total = Object.values(usd).reduce((sum, value) => sum + value, 0);
  const secondsPerMonth = ASSUMPTIONS.daysPerMonth * 86_400;
  return {
    column,
    label: COST_COLUMN_LABELS[column],
    messagesPerSecond,
    dynamoDbWriteUnitsPerSecond: writeUnitsPerSecond,
    dynamoDbReadUnitsPerSecond: readUnitsPerSecond,
    dynamoDbRequestsPerSecond: messagesPerSecond * inputs.requestsPerDelivery,
    dynamoDbPartitions: Math.max(
      1,
      Math.ceil(writeUnitsPerSecond / LIMITS.partitionWriteUnitsPerSecond) +
        Math.ceil(readUnitsPerSecond / LIMITS.partitionReadUnitsPerSecond),
    ),
    lambdaConcurrency: Math.ceil(batchesPerSecond * (inputs.batchDurationMs / 1000)),
    sqsRequestsPerSecond: messagesPerSecond * ASSUMPTIONS.sqsRequestsPerMessage,
    usdPerMillionMessages: { ...usd, total },
    usdPerMonth: (total * messagesPerSecond * secondsPerMonth) / 1_000_000,
    inputs,
  };
}

/** One column's cost per million deliveries on a stream with one share of duplicates (every duplicate cold). */
export interface CostAtShare {
  readonly column: CostColumn;
  readonly label: string;
  readonly duplicateShare: number;
  readonly usdPerMillionDeliveries: CostEstimate['usdPerMillionMessages'];
  readonly writeUnitsPerDelivery: number;
  readonly readUnitsPerDelivery: number;
}

/**
 * Every column at each measured duplicate share. A share changes the DynamoDB units per delivery (measured); the
 * rest of a column's inputs (Lambda duration per batch, storage, SQS) are those of its 30% throughput run. Cost per
 * million deliveries does not depend on the rate, so one rate serves.
 */
export function costByDuplicateShare(
  systems: readonly SystemSummary[],
  roundTrips: RoundTripResult | undefined = undefined,
): CostAtShare[] {
  const inputs = costInputs(systems, roundTrips);
  const rows: CostAtShare[] = [];
  for (const [column, columnInputs] of inputs) {
    const system = systems.find((candidate) => candidate.system === columnInputs.source);
    for (const share of system?.costByDuplicateShare ?? []) {
      const estimate = estimateCost(
        column,
        {
          ...columnInputs,
          requestsPerDelivery: share.requestsPerDelivery,
          writeUnitsPerDelivery: share.writeUnitsPerDelivery,
          readUnitsPerDelivery: share.readUnitsPerDelivery,
        },
        MODELLED_RATES_PER_SECOND[0],
      );
      rows.push({
        column,
        label: COST_COLUMN_LABELS[column],
        duplicateShare: share.duplicateShare,
        usdPerMillionDeliveries: estimate.usdPerMillionMessages,
        writeUnitsPerDelivery: share.writeUnitsPerDelivery,
        readUnitsPerDelivery: share.readUnitsPerDelivery,
      });
    }
  }
  return rows;
}

/** Every column at every modelled rate. */
export function costModel(
  systems: readonly SystemSummary[],
  roundTrips: RoundTripResult | undefined = undefined,
): CostEstimate[] {
  const inputs = costInputs(systems, roundTrips);
  return MODELLED_RATES_PER_SECOND.flatMap((rate) =>
    [...inputs.entries()].map(([column, columnInputs]) => estimateCost(column, columnInputs, rate)),
  );
}
