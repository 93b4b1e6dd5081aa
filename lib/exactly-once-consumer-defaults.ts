import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import {
  CLOCK_SKEW_MARGIN_SECONDS,
  DEFAULT_FUNCTION_TIMEOUT_SECONDS,
  DEFAULT_SERVICE_NAME,
  QUEUE_DEFAULTS,
  RUNTIME_DEFAULTS,
} from '../lambda/contract/index.js';

/**
 * Every default of `ExactlyOnceConsumer` lives here, so the `@default` tags, the construct and the README can be
 * checked against one place. The construct merges these defaults, then the user's props, then derives the values
 * that depend on others (lease, visibility timeout) so the docs/design.md section 9 invariants hold out of the box.
 */

/**
 * Room for the worker clock and the DynamoDB clock to disagree. The lease is compared with the worker's clock,
 * so a lease shorter than the function timeout plus this margin could expire while its owner is still running.
 */
export const CLOCK_SKEW_MARGIN = Duration.seconds(CLOCK_SKEW_MARGIN_SECONDS);

/**
 * AWS recommends a source-queue visibility timeout of at least six times the function timeout, so a batch that
 * Lambda retries on throttling does not become visible again while it is still being worked on.
 */
export const VISIBILITY_TIMEOUT_FUNCTION_TIMEOUT_FACTOR = 6;

/**
 * The lowest `maxReceiveCount` accepted. A record whose claim is held elsewhere is handed back to the queue
 * without being acknowledged, and every such deferral counts as a receive; a count below this would park
 * messages in the DLQ merely because two consumers saw them at once.
 */
export const MIN_MAX_RECEIVE_COUNT = 5;

/** SQS keeps messages 14 days at most; the DLQ gets all of it so a parked message outlives its source copy. */
export const DEAD_LETTER_QUEUE_RETENTION_PERIOD = Duration.seconds(
  QUEUE_DEFAULTS.deadLetterRetentionPeriodSeconds,
);

/** What SQS uses when a queue does not set these attributes (for queues passed in through `existingQueue`). */
export const SQS_ATTRIBUTE_DEFAULTS = {
  visibilityTimeout: Duration.seconds(QUEUE_DEFAULTS.visibilityTimeoutSeconds),
  retentionPeriod: Duration.seconds(QUEUE_DEFAULTS.retentionPeriodSeconds),
  deliveryDelay: Duration.seconds(0),
} as const;

/** What Lambda fills in for an SQS event source mapping in provisioned mode when a bound is left out. */
export const PROVISIONED_POLLER_DEFAULTS = { minimumPollers: 2, maximumPollers: 200 } as const;

/** Defaults of the settings a user may leave out. Lease and visibility timeout are derived, see below. */
export const CONSUMER_DEFAULTS = {
  mode: 'lease',
  readBeforeClaim: RUNTIME_DEFAULTS.readBeforeClaim,
  batchSize: 10,
  maxConcurrency: 10,
  functionTimeout: Duration.seconds(DEFAULT_FUNCTION_TIMEOUT_SECONDS),
  memorySize: 512,
  dedupWindow: Duration.seconds(RUNTIME_DEFAULTS.dedupWindowSeconds),
  producerRetryHorizon: Duration.days(1),
  fifo: false,
  retentionPeriod: SQS_ATTRIBUTE_DEFAULTS.retentionPeriod,
  deliveryDelay: SQS_ATTRIBUTE_DEFAULTS.deliveryDelay,
  maxReceiveCount: QUEUE_DEFAULTS.maxReceiveCount,
  claimsTableRemovalPolicy: RemovalPolicy.RETAIN,
  serviceName: DEFAULT_SERVICE_NAME,
} as const;

/** Default alarm thresholds; each name carries its unit, and "max" means the alarm fires above it. */
export const ALARM_DEFAULTS = {
  period: Duration.minutes(5),
  deadLetterQueueMaxVisibleMessages: 0,
  oldestMessageMaxAge: Duration.minutes(15),
  functionMaxErrorsPerPeriod: 0,
  functionMaxThrottlesPerPeriod: 0,
  // The SDK retries throttled requests, so a handful per period is absorbed; a steady stream is not.
  tableMaxThrottledRequestsPerPeriod: 10,
  tableMaxSystemErrorsPerPeriod: 0,
  maxParkedPerPeriod: 0,
  maxZombieRejectedPerPeriod: 0,
  maxPayloadMismatchesPerPeriod: 0,
  maxTakeoverPercent: 5,
  maxPayloadErrorsPerPeriod: 0,
  relayMaxErrorsPerPeriod: 0,
  // Stream records wait behind a failing batch while Lambda retries it; minutes of age mean undelivered messages.
  relayMaxIteratorAge: Duration.minutes(5),
  relayDeadLetterQueueMaxVisibleMessages: 0,
} as const;

/** Defaults of the optional transactional outbox (`ExactlyOnceConsumerProps.outbox`). */
export const OUTBOX_DEFAULTS = {
  // The DynamoDB stream default; one relay invocation sends up to this many messages, 10 source messages at once.
  relayBatchSize: 100,
  // Bounded, so one undeliverable batch cannot hold up the shard until the stream's 24 hours of retention end.
  relayRetryAttempts: 10,
  // Sending 100 messages to SQS takes well under a second; the margin covers SDK retries on throttling.
  relayTimeout: Duration.seconds(30),
  relayMemorySizeMb: 256,
  tableRemovalPolicy: RemovalPolicy.RETAIN,
} as const;

/** The default lease: the longest an invocation can live, plus the clock-skew margin. */
export function defaultLeaseDuration(functionTimeout: Duration, clockSkewMargin: Duration): Duration {
  return functionTimeout.plus(clockSkewMargin);
}

/** The default visibility timeout of a created source queue: at least 6 x function timeout and at least the lease. */
export function defaultVisibilityTimeout(functionTimeout: Duration, leaseDuration: Duration): Duration {
  const fromTimeoutInSeconds = VISIBILITY_TIMEOUT_FUNCTION_TIMEOUT_FACTOR * functionTimeout.toSeconds();
  return Duration.seconds(
    Math.max(fromTimeoutInSeconds, Math.ceil(leaseDuration.toSeconds({ integral: false }))),
  );
}
