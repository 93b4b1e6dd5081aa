import type { SQSEvent } from 'aws-lambda';
import type { BatchReport, RecordOutcomeKind } from 'onceflow';

/**
 * Where a process can be made to die (kill -9), along the claim protocol; the relay's last. Faults cycle through
 * them in this order. It lives here, not with the fault scheduler, because both sides of the protocol name them.
 */
export const CRASH_POINTS = [
  'after-claim',
  'after-stage',
  'during-commit',
  'after-commit',
  'relay-after-send',
] as const;
export type CrashPoint = (typeof CRASH_POINTS)[number];

/**
 * The DynamoDB faults a child process injects into its own requests (`dynamodb-faults.ts`): throttling, a 5xx, a
 * transaction conflict (TransactWriteItems only), and a response lost after DynamoDB applied the request.
 */
export const DYNAMODB_FAULT_KINDS = ['throttle', 'server-error', 'conflict', 'lost-response'] as const;
export type DynamoDbFaultKind = (typeof DYNAMODB_FAULT_KINDS)[number];

/** Environment of a server process, besides what the deployed function gets. */
export const SERVER_ENV = {
  queueUrl: 'ONCEFLOW_LOCAL_QUEUE_URL',
  queueArn: 'ONCEFLOW_LOCAL_QUEUE_ARN',
  batchSize: 'ONCEFLOW_LOCAL_BATCH_SIZE',
  notificationsQueueArn: 'ONCEFLOW_LOCAL_NOTIFICATIONS_QUEUE_ARN',
  notificationsDeadLetterQueueUrl: 'ONCEFLOW_LOCAL_NOTIFICATIONS_DLQ_URL',
  /** The relay's stream checkpoints, as JSON { shardId: sequenceNumber }, for a restarted relay. */
  relayCheckpoints: 'ONCEFLOW_LOCAL_RELAY_CHECKPOINTS',
  /** Test-only: process with NO deduplication, to prove the audit can fail. */
  unsafeNoDedup: 'ONCEFLOW_LOCAL_UNSAFE_NO_DEDUP',
  /** Share of DynamoDB requests that get each kind of injected fault, 0..1. */
  dynamoDbFaultRate: 'ONCEFLOW_LOCAL_DYNAMODB_FAULT_RATE',
  /** Seeds this process's fault schedule, so each process (and each restart) draws its own. */
  faultSeed: 'ONCEFLOW_LOCAL_FAULT_SEED',
  /** How long one batch may run; past it the server exits, as Lambda ends an invocation at its timeout. */
  functionTimeoutMs: 'ONCEFLOW_LOCAL_FUNCTION_TIMEOUT_MS',
} as const;

/** The exit code of a server that ran out of its function timeout (timeout(1)'s, by convention). */
export const FUNCTION_TIMEOUT_EXIT_CODE = 124;

export type ParentMessage =
  | { readonly type: 'arm-crash'; readonly point: CrashPoint }
  | { readonly type: 'arm-zombie' }
  | { readonly type: 'zombie-go' }
  | { readonly type: 'stop' };

/** The pipeline's two consuming stages. */
export type PipelineStage = 'ledger' | 'notifications';

export interface BatchSummary {
  readonly counts: Record<RecordOutcomeKind, number>;
  readonly takeovers: number;
  /** Send (SQS SentTimestamp) to commit, per record processed now. */
  readonly sendToCommitMs: number[];
}

export type ServerMessage =
  | { readonly type: 'ready' }
  | ({ readonly type: 'batch'; readonly stage: PipelineStage } & BatchSummary)
  | { readonly type: 'relayed'; readonly delivered: number; readonly parked: number }
  | { readonly type: 'checkpoint'; readonly shardId: string; readonly sequenceNumber: string }
  | { readonly type: 'zombie-ready'; readonly messageId: string; readonly fencingToken: number }
  | { readonly type: 'memory'; readonly rssMb: number }
  | { readonly type: 'dynamodb-fault'; readonly kind: DynamoDbFaultKind }
  /** The relay's stream still lists these shards: checkpoints of any other shard can be forgotten. */
  | { readonly type: 'shards'; readonly shardIds: readonly string[] };

export function emptyCounts(): Record<RecordOutcomeKind, number> {
  return { Processed: 0, Duplicate: 0, InFlight: 0, Retried: 0, Parked: 0, ZombieRejected: 0 };
}

export function isOutcomeKind(kind: string): kind is RecordOutcomeKind {
  return kind in emptyCounts();
}

/** No crash yet at any point; the type makes the compiler check that every one of CRASH_POINTS is here. */
export function noCrashes(): Record<CrashPoint, number> {
  return {
    'after-claim': 0,
    'after-stage': 0,
    'during-commit': 0,
    'after-commit': 0,
    'relay-after-send': 0,
  };
}

/** No DynamoDB fault yet of any kind. */
export function noDynamoDbFaults(): Record<DynamoDbFaultKind, number> {
  return { throttle: 0, 'server-error': 0, conflict: 0, 'lost-response': 0 };
}

export function summarize(report: BatchReport, event: SQSEvent, committedAtMs: number): BatchSummary {
  const counts = emptyCounts();
  const sentAt = new Map(event.Records.map((r) => [r.messageId, Number(r.attributes.SentTimestamp)]));
  const sendToCommitMs: number[] = [];
  let takeovers = 0;
  for (const outcome of report.outcomes) {
    counts[outcome.kind] += 1;
    if (outcome.takeover) takeovers += 1;
    const sent = sentAt.get(outcome.sqsMessageId);
    if (outcome.kind === 'Processed' && sent !== undefined && Number.isFinite(sent)) {
      sendToCommitMs.push(committedAtMs - sent);
    }
  }
  return { counts, takeovers, sendToCommitMs };
}
