import type { LedgerAudit } from '../../lambda/app/ledger.js';
import type { NotificationsAudit } from '../../lambda/app/notifications.js';
import type { CrashPoint, DynamoDbFaultKind } from '../processes/protocol.js';
import type { LocalStack } from '../stack/local-stack.js';
import type { MemoryReport } from './memory.js';

export interface PipelineOptions {
  /** Server processes. @default 4 */
  readonly servers?: number;
  /** Unique valid messages. @default 2_500 (under a minute on 2 cores; DynamoDB Local is the bottleneck) */
  readonly messages?: number;
  /** Share of messages sent again later, some while the first copy is in flight. @default 0.3 */
  readonly duplicateRate?: number;
  /** kill -9s per 1,000 messages, cycling through the crash points (2 x 2,500: one at each of the five). @default 2 */
  readonly crashRate?: number;
  /** Servers frozen (SIGSTOP) past their lease, then resumed to commit late. @default 1 */
  readonly zombies?: number;
  /** Malformed messages (not JSON, no id, oversized id, bad payload) that must be parked. @default 8 */
  readonly malformed?: number;
  /** @default 'lease' */
  readonly mode?: 'lease' | 'optimistic';
  /** @default 1 */
  readonly seed?: number;
  /**
   * Share of DynamoDB requests of the servers and the relay that fail with each kind of injected fault (throttle,
   * 5xx, transaction conflict on TransactWriteItems, response lost after the write applied); 0 = none.
   * @default 0.005
   */
  readonly dynamoDbFaultRate?: number;
  /**
   * A long run with every fault on: 200,000 messages unless `messages` says otherwise, 10 zombies unless `zombies`
   * does, the producer kept at most 5,000 messages ahead, and memory judged flat or not at the end.
   * @default false
   */
  readonly soak?: boolean;
  /** Accounts the payments spread over. @default 500 */
  readonly accounts?: number;
  /** Send at this many messages per second; as fast as possible when undefined. */
  readonly offeredLoadPerSecond?: number;
  /**
   * Leave out of `sendToCommitMs` the messages sent in the first this many milliseconds: each process's first
   * batches pay for compiling and connecting (Lambda's cold start), not for the pipeline's steady latency. @default 0
   */
  readonly latencyWarmUpMs?: number;
  /** Leave the services running; the caller stops them with `report.stack.stop()`. */
  readonly keep?: boolean;
  /** Test-only: servers process with no deduplication, so the audit must fail. */
  readonly unsafeDisableDedup?: boolean;
  /**
   * Where the processes' log goes; the file is kept. Left out, the log goes to a temporary directory that is
   * removed when the run ends (tests, the bench).
   */
  readonly logFile?: string;
  readonly onProgress?: (progress: PipelineProgress) => void;
  readonly signal?: AbortSignal;
}

/** The options a run resolved, every default applied. */
export type PipelineSettings = Required<
  Omit<PipelineOptions, 'onProgress' | 'signal' | 'offeredLoadPerSecond' | 'latencyWarmUpMs' | 'logFile'>
>;

/** What the processes reported (a process killed right after some work never reports it), and the kills. */
export interface PipelineCounts {
  readonly processed: number;
  readonly duplicatesSuppressed: number;
  /** Second stage: notifications applied, and copies (relay re-sends) dropped. */
  readonly notificationsProcessed: number;
  readonly notificationsDuplicatesSuppressed: number;
  /** Outbox items the relay delivered and marked. */
  readonly relayed: number;
  readonly inFlightDeferrals: number;
  readonly retried: number;
  readonly takeovers: number;
  readonly zombiesRejected: number;
  readonly parked: number;
  readonly crashes: number;
  /** Zombies frozen past their lease and resumed (seen by `npm start` itself). */
  readonly zombiesResumed: number;
  readonly crashesByPoint: Record<CrashPoint, number>;
  readonly restarts: number;
  /** Servers that ran out of their function timeout in a batch and exited, as Lambda ends such an invocation. */
  readonly functionTimeouts: number;
  /** Injected DynamoDB faults, by kind, as the processes reported them. */
  readonly dynamoDbFaults: Record<DynamoDbFaultKind, number>;
}

export interface PipelineProgress extends PipelineCounts {
  readonly sent: number;
  readonly toSend: number;
  readonly expectedProcessed: number;
  readonly elapsedMs: number;
}

export type PipelineAudit = LedgerAudit & {
  readonly malformedParked: number;
  readonly malformedExpected: number;
  /** Valid payments found in the DLQ: never right, whatever the reason. */
  readonly validPaymentsParked: string[];
  /** Messages in the DLQ without a non-empty reason attribute (`onceflow.reason`). */
  readonly parkedWithoutReason: number;
  /** Messages in the notifications DLQ and the relay DLQ: both must stay empty. */
  readonly notificationsParked: number;
  readonly relayParked: number;
  /** Every applied payment produced exactly one notification, applied once. */
  readonly notifications: NotificationsAudit;
};

export interface PipelineReport {
  /** The audit passed and, in a soak, memory stayed flat. */
  readonly ok: boolean;
  readonly options: PipelineSettings & { offeredLoadPerSecond: number | null };
  readonly counts: PipelineCounts;
  readonly sent: { readonly unique: number; readonly duplicates: number; readonly malformed: number };
  readonly audit: PipelineAudit;
  /** The whole run, service start-up included. */
  readonly elapsedMs: number;
  /** From the first send until every stage had drained: the part throughput is measured on. */
  readonly processingMs: number;
  /** Unique messages applied per second of `processingMs`. */
  readonly messagesPerSecond: number;
  /** From the servers' reports, in 2% buckets. */
  readonly sendToCommitMs: { readonly p50: number | null; readonly p99: number | null };
  readonly serverPeakRssMb: number;
  readonly memory: MemoryReport;
  /** The soak's memory check; null outside a soak, or with too few samples to judge. */
  readonly memoryFlat: boolean | null;
  /** The kept log, or null when it went to a temporary directory that is now removed. */
  readonly logFile: string | null;
  /** Present with `keep`: the running services. */
  readonly stack?: LocalStack;
}
