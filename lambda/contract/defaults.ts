/** Runtime defaults, in one place. The CDK construct builds its own defaults from these. */

/** `lease` claims before the handler runs (safe for external side effects); `optimistic` claims at commit. */
export const PROCESSING_MODES = ['lease', 'optimistic'] as const;
export type ProcessingMode = (typeof PROCESSING_MODES)[number];

/**
 * When a batch's DONE records are read before claiming or committing (one eventually consistent `BatchGetItem`):
 * `auto` while recent deliveries hold enough cold duplicates for the read to cost less than what it saves,
 * `always`, or `never` (lease mode only: in optimistic mode a duplicate it misses cancels a whole transaction).
 */
export const READ_BEFORE_CLAIM_SETTINGS = ['auto', 'always', 'never'] as const;
export type ReadBeforeClaim = (typeof READ_BEFORE_CLAIM_SETTINGS)[number];

/** The function timeout the construct uses when none is given. */
export const DEFAULT_FUNCTION_TIMEOUT_SECONDS = 30;
/**
 * Room for two workers' clocks to disagree. The lease is compared with the worker's clock, so a lease shorter
 * than the function timeout plus this margin could expire while its owner still runs.
 */
export const CLOCK_SKEW_MARGIN_SECONDS = 30;

/**
 * How long the runtime's default DynamoDB and SQS clients wait, per attempt (`lambda/aws/clients.ts`).
 *
 * A claim or release is one small `UpdateItem`, a commit one `TransactWriteItems` of at most 100 items: DynamoDB
 * answers them in milliseconds, tens of milliseconds under contention. 3 s per attempt is a hundred times that, so
 * only a response that is not coming is cut off. The request timeout counts from the start of the attempt,
 * connecting included. The SDK makes up to 4 attempts on DynamoDB (3 on SQS), so a lost response reaches the
 * runtime after at most 4 x 3 s plus under a second of backoff: inside half the 30 s default function timeout,
 * with time left to release the lease and answer for the other records, instead of the invocation timing out and
 * the whole batch coming back. Without it, a lost response waits for the SDK's 300 s socket timeout. A function
 * timeout far below 30 s wants clients of its own (the `dynamoDb` and `sqs` options) with shorter timeouts.
 */
export const REQUEST_TIMEOUTS = {
  /** TCP connect: tens of milliseconds to a regional endpoint; 1 s covers a slow DNS lookup on a cold start. */
  connectionTimeoutMs: 1_000,
  /** From the start of an attempt to the end of its response. */
  requestTimeoutMs: 3_000,
} as const;

export const RUNTIME_DEFAULTS = {
  mode: 'lease' as ProcessingMode,
  /** Read while the cold duplicates a container meets make the read pay (`lambda/sqs/duplicate-share.ts`). */
  readBeforeClaim: 'auto' as ReadBeforeClaim,
  /** The longest an invocation lives, plus the clock-skew margin. */
  leaseMs: (DEFAULT_FUNCTION_TIMEOUT_SECONDS + CLOCK_SKEW_MARGIN_SECONDS) * 1000,
  /**
   * Must cover queue retention + delivery delay + lease + producer retry horizon, and the DLQ's retention + lease
   * (a parked copy may be redriven until the DLQ drops it): 15 days, past the 14 days SQS keeps a message.
   */
  dedupWindowSeconds: 15 * 24 * 60 * 60,
  /** Records of one batch processed at once. */
  concurrency: 10,
  /** messageIds remembered DONE per warm container, answering repeated duplicates with no request. */
  doneCacheSize: 10_000,
} as const;

export function isProcessingMode(value: unknown): value is ProcessingMode {
  return value === 'lease' || value === 'optimistic';
}

export function isReadBeforeClaim(value: unknown): value is ReadBeforeClaim {
  return (READ_BEFORE_CLAIM_SETTINGS as readonly unknown[]).includes(value);
}

/** The queues the construct creates (and the test kit creates the same way). Times in seconds. */
export const QUEUE_DEFAULTS = {
  /** SQS's own default, for queues that do not set it. */
  visibilityTimeoutSeconds: 30,
  retentionPeriodSeconds: 4 * 24 * 60 * 60,
  /** SQS keeps messages 14 days at most; the DLQ gets all of it so a parked message outlives its source copy. */
  deadLetterRetentionPeriodSeconds: 14 * 24 * 60 * 60,
  /** Receives before SQS moves a message to the DLQ by itself. */
  maxReceiveCount: 10,
} as const;
