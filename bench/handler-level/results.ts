import type { RoundTripResult } from './round-trips.js';
import type { SystemName } from './systems.js';

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
  /** Unique messages per system and repetition in the round-trip latency run; 0 leaves it out. @default 500 */
  readonly roundTripMessages?: number;
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

/** The duplicate shares whose cost is modelled: none, the usual 30%, and a retry storm. */
export const COST_DUPLICATE_SHARES = [0, 0.3, 0.9] as const;

/** What one delivery costs on a stream with this share of duplicates, every duplicate cold. */
export interface CostAtDuplicateShare {
  readonly duplicateShare: number;
  readonly requestsPerDelivery: number;
  readonly writeUnitsPerDelivery: number;
  readonly readUnitsPerDelivery: number;
  /** The part of writeUnitsPerDelivery estimated for refused writes. */
  readonly estimatedRefusedWriteUnitsPerDelivery: number;
}

export interface CostSample {
  readonly newMessage: DeliveryCost;
  /** The same container sees the message again: Onceflow's LRU answers. */
  readonly warmDuplicate: DeliveryCost;
  /** Another container sees it: the dedup table answers. */
  readonly coldDuplicate: DeliveryCost;
  /** The 30% duplicate stream on one container whose every duplicate is cold, as at scale on AWS. */
  readonly coldMixed: DeliveryCost;
  /** The same, at each of COST_DUPLICATE_SHARES. */
  readonly coldMixedByShare: readonly { readonly duplicateShare: number; readonly cost: DeliveryCost }[];
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

/** One system in one repetition: the throughput run and the request accounting. */
export interface RepetitionSample {
  readonly throughput: ThroughputSample;
  readonly cost: CostSample;
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
  /** Per delivery at each of COST_DUPLICATE_SHARES (medians); absent in results saved before it was measured. */
  readonly costByDuplicateShare?: readonly CostAtDuplicateShare[];
  /** True when every repetition's audit found each unique message applied exactly once. */
  readonly exactlyOnce: boolean;
  /** Extra effect applications per repetition (median): 0 when exactly once. */
  readonly extraApplications: number;
  readonly repetitions: readonly RepetitionSample[];
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
  /** Batch latency with modelled AWS round trips; absent in results saved before it was measured, or skipped. */
  readonly roundTrips?: RoundTripResult;
  /** Whether DynamoDB returned ConsumedCapacity (DynamoDB Local does, sized like the service; transactions 2x). */
  readonly consumedCapacityReported: boolean;
}
