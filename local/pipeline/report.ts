import type { LedgerAudit } from '../../lambda/app/ledger.js';
import type { NotificationsAudit } from '../../lambda/app/notifications.js';
import type { CrashPoint } from '../processes/protocol.js';
import type { LocalStack } from '../stack/local-stack.js';

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
  /** Accounts the payments spread over. @default 500 */
  readonly accounts?: number;
  /** Send at this many messages per second; as fast as possible when undefined. */
  readonly offeredLoadPerSecond?: number;
  /** Leave the services running; the caller stops them with `report.stack.stop()`. */
  readonly keep?: boolean;
  /** Test-only: servers process with no deduplication, so the audit must fail. */
  readonly unsafeDisableDedup?: boolean;
  readonly onProgress?: (progress: PipelineProgress) => void;
  readonly signal?: AbortSignal;
}

/** The options a run resolved, every default applied. */
export type PipelineSettings = Required<
  Omit<PipelineOptions, 'onProgress' | 'signal' | 'offeredLoadPerSecond'>
>;

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
  readonly crashesByPoint: Record<CrashPoint, number>;
  readonly restarts: number;
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
  /** Every applied payment produced exactly one notification, applied once. */
  readonly notifications: NotificationsAudit;
};

export interface PipelineReport {
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
  readonly sendToCommitMs: { readonly p50: number | null; readonly p99: number | null };
  readonly serverPeakRssMb: number;
  readonly logFile: string;
  /** Present with `keep`: the running services. */
  readonly stack?: LocalStack;
}
