/** Runtime defaults, in one place. The CDK construct builds its own defaults from these. */

/** `lease` claims before the handler runs (safe for external side effects); `optimistic` claims at commit. */
export const PROCESSING_MODES = ['lease', 'optimistic'] as const;
export type ProcessingMode = (typeof PROCESSING_MODES)[number];

/** The function timeout the construct uses when none is given. */
export const DEFAULT_FUNCTION_TIMEOUT_SECONDS = 30;
/**
 * Room for two workers' clocks to disagree. The lease is compared with the worker's clock, so a lease shorter
 * than the function timeout plus this margin could expire while its owner still runs.
 */
export const CLOCK_SKEW_MARGIN_SECONDS = 30;

export const RUNTIME_DEFAULTS = {
  mode: 'lease' as ProcessingMode,
  /** The longest an invocation lives, plus the clock-skew margin. */
  leaseMs: (DEFAULT_FUNCTION_TIMEOUT_SECONDS + CLOCK_SKEW_MARGIN_SECONDS) * 1000,
  /** Must cover queue retention + delivery delay + lease + producer retry horizon. */
  dedupWindowSeconds: 7 * 24 * 60 * 60,
  /** Records of one batch processed at once. */
  concurrency: 10,
  /** messageIds remembered DONE per warm container, answering repeated duplicates with no request. */
  doneCacheSize: 10_000,
} as const;

export function isProcessingMode(value: unknown): value is ProcessingMode {
  return value === 'lease' || value === 'optimistic';
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
