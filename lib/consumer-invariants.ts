import { Duration } from 'aws-cdk-lib';
import { CLAIMS_TABLE } from '../lambda/contract/index.js';
import type { ConsumerTimingSettings, ExactlyOnceConsumerSettings } from './consumer-settings.js';
import {
  MIN_MAX_RECEIVE_COUNT,
  VISIBILITY_TIMEOUT_FUNCTION_TIMEOUT_FACTOR,
} from './exactly-once-consumer-defaults.js';

/** Which construct props were given, for the "either this or that" rules. */
export interface ConsumerPropsPresence {
  readonly existingQueue: boolean;
  readonly existingTable: boolean;
  /** Props that only configure a queue the construct creates. */
  readonly createdQueueProps: readonly string[];
  /** Props that only configure a table the construct creates. */
  readonly createdTableProps: readonly string[];
  /**
   * The key of the existing table, as `name (type)` per attribute, when it is a `Table` whose schema is known at
   * synth time.
   */
  readonly existingTableKey: string | undefined;
}

/** The claims-table key in the form of `ConsumerPropsPresence.existingTableKey`: a string partition key. */
const CLAIMS_TABLE_KEY = `${CLAIMS_TABLE.partitionKey.name} (${CLAIMS_TABLE.partitionKey.type})`;

/** The longest visibility timeout SQS accepts. */
const MAX_VISIBILITY_TIMEOUT = Duration.hours(12);
const MAX_MAX_CONCURRENCY = 1000;
const MIN_MAX_CONCURRENCY = 2;
const MAX_BATCH_SIZE_WITHOUT_WINDOW = 10;
/** SQS provisioned mode: pollers Lambda accepts. */
const MIN_POLLERS = 2;
const MAX_MINIMUM_POLLERS = 200;
const MAX_MAXIMUM_POLLERS = 2000;
const MAX_BATCH_SIZE = 10_000;
/** What Lambda accepts for a DynamoDB stream event source mapping. */
const MAX_STREAM_BATCH_SIZE = 10_000;
const MAX_STREAM_RETRY_ATTEMPTS = 10_000;

/** The outbox settings after defaults, as the invariants see them. */
export interface OutboxSettings {
  readonly targetCount: number;
  readonly relayBatchSize: number;
  readonly relayRetryAttempts: number;
}

/** Returns one message per invalid combination of props; empty when the combination is valid. */
export function findPropsViolations(presence: ConsumerPropsPresence): string[] {
  const violations: string[] = [];
  if (presence.existingQueue && presence.existingTable) {
    violations.push(
      'existingQueue and existingTable are both given; the construct exists to create and check at least one of ' +
        'them. Fix: pass only one of them and let the construct create the other.',
    );
  }
  if (presence.existingQueue) {
    for (const name of presence.createdQueueProps) {
      violations.push(
        `${name} configures the queue the construct would create, but existingQueue is given. ` +
          `Fix: remove ${name} and set it on existingQueue instead.`,
      );
    }
  }
  if (presence.existingTable) {
    for (const name of presence.createdTableProps) {
      violations.push(
        `${name} configures the claims table the construct would create, but existingTable is given. ` +
          `Fix: remove ${name} and set it on existingTable instead.`,
      );
    }
  }
  const key = presence.existingTableKey;
  if (key !== undefined && key !== CLAIMS_TABLE_KEY) {
    violations.push(
      `existingTable is keyed on ${key}, but the runtime keys claims on ${CLAIMS_TABLE_KEY} alone. ` +
        `Fix: pass a table whose only key is the partition key ${CLAIMS_TABLE_KEY}, with TTL on ` +
        `${CLAIMS_TABLE.ttlAttribute}.`,
    );
  }
  return violations;
}

/** Returns one message per runtime setting the chosen mode cannot honour. */
export function findModeViolations(
  settings: Pick<ExactlyOnceConsumerSettings, 'mode' | 'readBeforeClaim'>,
): string[] {
  if (settings.mode !== 'optimistic' || settings.readBeforeClaim !== 'never') return [];
  return [
    "readBeforeClaim is 'never', but optimistic mode must read the batch when duplicates come: a duplicate it " +
      'missed would cancel the grouped transaction of its whole batch. Fix: remove readBeforeClaim, or use mode ' +
      "'lease'.",
  ];
}

/** Returns one message per outbox setting the relay could not work with; empty without an outbox. */
export function findOutboxViolations(outbox: OutboxSettings | undefined): string[] {
  if (outbox === undefined) return [];
  const violations: string[] = [];
  if (outbox.targetCount === 0) {
    violations.push(
      'outbox.targets is empty, so the relay may send to no queue and every staged message would end in the ' +
        'relay DLQ. Fix: list every queue the handler passes to ctx.outbox.send.',
    );
  }
  if (!isIntegerIn(outbox.relayBatchSize, 1, MAX_STREAM_BATCH_SIZE)) {
    violations.push(
      `outbox.relayBatchSize (${outbox.relayBatchSize}) is outside 1..${MAX_STREAM_BATCH_SIZE}, the range Lambda ` +
        `accepts for a DynamoDB stream. Fix: set it to a whole number between 1 and ${MAX_STREAM_BATCH_SIZE}.`,
    );
  }
  if (!isIntegerIn(outbox.relayRetryAttempts, 0, MAX_STREAM_RETRY_ATTEMPTS)) {
    violations.push(
      `outbox.relayRetryAttempts (${outbox.relayRetryAttempts}) is outside 0..${MAX_STREAM_RETRY_ATTEMPTS}; ` +
        'unbounded retries (-1) would hold every later outbox item of the shard behind one bad batch until the ' +
        `stream drops it after 24 hours. Fix: set it to a whole number between 0 and ${MAX_STREAM_RETRY_ATTEMPTS}.`,
    );
  }
  return violations;
}

/** Returns one message per broken invariant of docs/design.md section 9 (and per value Lambda or SQS would refuse). */
export function findTimingViolations(settings: ConsumerTimingSettings): string[] {
  return [
    ...leaseViolations(settings),
    ...visibilityViolations(settings),
    ...dedupWindowViolations(settings),
    ...parkedCopyViolations(settings),
    ...deadLetterQueueViolations(settings),
    ...eventSourceViolations(settings),
  ];
}

function leaseViolations(s: ConsumerTimingSettings): string[] {
  const minimum = s.functionTimeout.plus(s.clockSkewMargin);
  if (seconds(s.leaseDuration) >= seconds(minimum)) return [];
  return [
    `leaseDuration (${human(s.leaseDuration)}) is shorter than functionTimeout (${human(s.functionTimeout)}) + ` +
      `clock-skew margin (${human(s.clockSkewMargin)}) = ${human(minimum)}; the lease could end while Lambda is ` +
      'still running the handler, and another consumer would take the message over. ' +
      `Fix: set leaseDuration to at least ${human(minimum)}, or lower functionTimeout.`,
  ];
}

function visibilityViolations(s: ConsumerTimingSettings): string[] {
  const where = s.existingQueue ? 'visibilityTimeout on existingQueue' : 'leaseDuration or functionTimeout';
  const violations: string[] = [];
  const fromTimeout = Duration.seconds(
    VISIBILITY_TIMEOUT_FUNCTION_TIMEOUT_FACTOR * s.functionTimeout.toSeconds(),
  );
  if (seconds(s.visibilityTimeout) < seconds(fromTimeout)) {
    violations.push(
      `the source queue's visibility timeout (${human(s.visibilityTimeout)}) is shorter than ` +
        `${VISIBILITY_TIMEOUT_FUNCTION_TIMEOUT_FACTOR} x functionTimeout (${human(fromTimeout)}); a batch Lambda ` +
        'retries after throttling could become visible again while it is still being processed. ' +
        `Fix: set visibilityTimeout on existingQueue to at least ${human(fromTimeout)}, or lower functionTimeout.`,
    );
  }
  if (seconds(s.visibilityTimeout) < seconds(s.leaseDuration)) {
    violations.push(
      `the source queue's visibility timeout (${human(s.visibilityTimeout)}) is shorter than leaseDuration ` +
        `(${human(s.leaseDuration)}); a message could be delivered again while its lease is still live. ` +
        `Fix: set visibilityTimeout on existingQueue to at least ${human(s.leaseDuration)}, or lower leaseDuration.`,
    );
  }
  if (seconds(s.visibilityTimeout) > seconds(MAX_VISIBILITY_TIMEOUT)) {
    violations.push(
      `the source queue's visibility timeout would be ${human(s.visibilityTimeout)}, above the ` +
        `${human(MAX_VISIBILITY_TIMEOUT)} SQS allows. Fix: lower ${where}.`,
    );
  }
  return violations;
}

function dedupWindowViolations(s: ConsumerTimingSettings): string[] {
  const minimum = s.retentionPeriod.plus(s.deliveryDelay).plus(s.leaseDuration).plus(s.producerRetryHorizon);
  if (seconds(s.dedupWindow) >= seconds(minimum)) return [];
  const retention = s.existingQueue ? "existingQueue's retention period" : 'retentionPeriod';
  return [
    `dedupWindow (${human(s.dedupWindow)}) is shorter than ${retention} (${human(s.retentionPeriod)}) + ` +
      `delivery delay (${human(s.deliveryDelay)}) + leaseDuration (${human(s.leaseDuration)}) + ` +
      `producerRetryHorizon (${human(s.producerRetryHorizon)}) = ${human(minimum)}; a copy of a message could ` +
      'arrive after its claim record expired and be applied twice. ' +
      `Fix: set dedupWindow to at least ${human(minimum)}, or shorten ${retention} or producerRetryHorizon.`,
  ];
}

/** SQS keeps a message 14 days at most: the retention assumed for a dead-letter queue whose own is not known. */
const MAX_RETENTION_PERIOD = Duration.days(14);

/**
 * Parking is at least once, so the DLQ can hold a second copy of a message that was later applied; redriving that
 * copy after the claim record expired would apply it again (docs/design.md section 9).
 */
function parkedCopyViolations(s: ConsumerTimingSettings): string[] {
  const dlq = s.deadLetterQueue;
  if (dlq === undefined) return [];
  const retention = dlq.retentionPeriod ?? MAX_RETENTION_PERIOD;
  const minimum = retention.plus(s.leaseDuration);
  if (seconds(s.dedupWindow) >= seconds(minimum)) return [];
  const known = dlq.retentionPeriod === undefined ? ' (not known: SQS keeps messages 14 days at most)' : '';
  return [
    `dedupWindow (${human(s.dedupWindow)}) is shorter than the dead-letter queue's retention period ` +
      `(${human(retention)}${known}) + leaseDuration (${human(s.leaseDuration)}) = ${human(minimum)}; parking is ` +
      'at least once, so the DLQ can hold a copy of a message that was later applied, and redriving that copy ' +
      'after its claim record expired would apply it again. ' +
      `Fix: set dedupWindow to at least ${human(minimum)}, or shorten the dead-letter queue's retention period.`,
  ];
}

function deadLetterQueueViolations(s: ConsumerTimingSettings): string[] {
  const dlq = s.deadLetterQueue;
  if (dlq === undefined) {
    return [
      'existingQueue has no dead-letter queue, so a message that keeps failing is retried until its retention ' +
        'ends and is then dropped. Fix: create the queue with deadLetterQueue: { queue, maxReceiveCount: 10 }.',
    ];
  }
  const violations: string[] = [];
  if (dlq.maxReceiveCount < MIN_MAX_RECEIVE_COUNT) {
    const where = s.existingQueue ? "maxReceiveCount in existingQueue's deadLetterQueue" : 'maxReceiveCount';
    const subject = s.existingQueue ? "existingQueue's maxReceiveCount" : 'maxReceiveCount';
    violations.push(
      `${subject} (${dlq.maxReceiveCount}) is below ${MIN_MAX_RECEIVE_COUNT}; each time a message is handed ` +
        'back because another consumer holds its lease counts as a receive, so it could be parked in the DLQ ' +
        `without ever failing. Fix: set ${where} to ${MIN_MAX_RECEIVE_COUNT} or more.`,
    );
  }
  if (dlq.retentionPeriod !== undefined && seconds(dlq.retentionPeriod) <= seconds(s.retentionPeriod)) {
    const where = s.existingQueue ? "existingQueue's retention period" : 'retentionPeriod';
    violations.push(
      `the dead-letter queue's retention period (${human(dlq.retentionPeriod)}) is not longer than the source ` +
        `queue's (${human(s.retentionPeriod)}); SQS keeps a message's original enqueue time when it moves it to the ` +
        'DLQ, so a parked message could expire before anyone sees it. ' +
        `Fix: lower ${where} below ${human(dlq.retentionPeriod)}` +
        (s.existingQueue
          ? ", or lengthen the dead-letter queue's retention (SQS allows up to 14 days)."
          : '.'),
    );
  }
  if (dlq.fifo !== s.fifo) {
    violations.push(
      `the source queue is ${queueKind(s.fifo)} but its dead-letter queue is ${queueKind(dlq.fifo)}; SQS requires ` +
        `both to be of the same type. Fix: give existingQueue a ${queueKind(s.fifo)} dead-letter queue.`,
    );
  }
  return violations;
}

function eventSourceViolations(s: ConsumerTimingSettings): string[] {
  const violations: string[] = [];
  if (s.fifo && s.batchSize > MAX_BATCH_SIZE_WITHOUT_WINDOW) {
    violations.push(
      `batchSize (${s.batchSize}) is above ${MAX_BATCH_SIZE_WITHOUT_WINDOW}, the most Lambda reads from a FIFO ` +
        `queue at once. Fix: set batchSize to ${MAX_BATCH_SIZE_WITHOUT_WINDOW} or less.`,
    );
  } else if (s.batchSize < 1 || s.batchSize > MAX_BATCH_SIZE) {
    violations.push(
      `batchSize (${s.batchSize}) is outside 1..${MAX_BATCH_SIZE}, the range Lambda accepts. ` +
        `Fix: set batchSize between 1 and ${MAX_BATCH_SIZE}.`,
    );
  } else if (s.batchSize > MAX_BATCH_SIZE_WITHOUT_WINDOW && s.maxBatchingWindow === undefined) {
    violations.push(
      `batchSize (${s.batchSize}) is above ${MAX_BATCH_SIZE_WITHOUT_WINDOW} without maxBatchingWindow; Lambda ` +
        `only accepts such batches with a batching window. Fix: set maxBatchingWindow (for example ` +
        `Duration.seconds(1)), or batchSize to ${MAX_BATCH_SIZE_WITHOUT_WINDOW} or less.`,
    );
  }
  if (s.fifo && s.maxBatchingWindow !== undefined) {
    violations.push(
      'maxBatchingWindow is set for a FIFO queue, and Lambda supports no batching window on FIFO queues. ' +
        'Fix: remove maxBatchingWindow.',
    );
  }
  if (
    s.maxConcurrency !== undefined &&
    (s.maxConcurrency < MIN_MAX_CONCURRENCY || s.maxConcurrency > MAX_MAX_CONCURRENCY)
  ) {
    violations.push(
      `maxConcurrency (${s.maxConcurrency}) is outside ${MIN_MAX_CONCURRENCY}..${MAX_MAX_CONCURRENCY}, the range ` +
        `Lambda accepts. Fix: set maxConcurrency between ${MIN_MAX_CONCURRENCY} and ${MAX_MAX_CONCURRENCY}.`,
    );
  }
  violations.push(...provisionedPollerViolations(s));
  return violations;
}

/** SQS provisioned mode: the ranges Lambda accepts, and no maximum concurrency beside it. */
function provisionedPollerViolations(s: ConsumerTimingSettings): string[] {
  const pollers = s.provisionedPollers;
  if (pollers === undefined) return [];
  const violations: string[] = [];
  if (s.maxConcurrency !== undefined) {
    violations.push(
      `maxConcurrency (${s.maxConcurrency}) is set with provisionedPollers, and Lambda refuses a maximum ` +
        'concurrency on an SQS event source mapping in provisioned mode. Fix: remove maxConcurrency and bound ' +
        'concurrency with provisionedPollers.maximumPollers.',
    );
  }
  const { minimumPollers, maximumPollers } = pollers;
  if (!isIntegerIn(minimumPollers, MIN_POLLERS, MAX_MINIMUM_POLLERS)) {
    violations.push(
      `provisionedPollers.minimumPollers (${minimumPollers}) is outside ${MIN_POLLERS}..${MAX_MINIMUM_POLLERS}, ` +
        `the range Lambda accepts for SQS. Fix: set it between ${MIN_POLLERS} and ${MAX_MINIMUM_POLLERS}.`,
    );
  }
  if (!isIntegerIn(maximumPollers, MIN_POLLERS, MAX_MAXIMUM_POLLERS)) {
    violations.push(
      `provisionedPollers.maximumPollers (${maximumPollers}) is outside ${MIN_POLLERS}..${MAX_MAXIMUM_POLLERS}, ` +
        `the range Lambda accepts for SQS. Fix: set it between ${MIN_POLLERS} and ${MAX_MAXIMUM_POLLERS}.`,
    );
  } else if (maximumPollers < minimumPollers) {
    violations.push(
      `provisionedPollers.maximumPollers (${maximumPollers}) is below minimumPollers (${minimumPollers}). ` +
        'Fix: raise maximumPollers to at least minimumPollers.',
    );
  }
  return violations;
}

/** The lifetime a chunk needs after a message that uses it is sent: every copy and redrive must still read it. */
export function requiredChunkLifetime(s: ConsumerTimingSettings, chunkReuseMaxAge: Duration): Duration {
  const dlqRetention = s.deadLetterQueue?.retentionPeriod ?? MAX_RETENTION_PERIOD;
  return s.dedupWindow.plus(s.retentionPeriod).plus(dlqRetention).plus(chunkReuseMaxAge);
}

/**
 * Large payloads: a chunk is reused by messages sent up to `chunkReuseMaxAge` after it was put, and each of them may
 * come back (a duplicate, a redrive from the DLQ) until the dedup window, the queue's and the DLQ's retention have
 * passed. The bucket's expiration must outlast all of it.
 */
export function findLargePayloadViolations(
  s: ConsumerTimingSettings,
  largePayloads: { readonly chunkExpiration: Duration; readonly chunkReuseMaxAge: Duration } | undefined,
): string[] {
  if (largePayloads === undefined) return [];
  const { chunkExpiration, chunkReuseMaxAge } = largePayloads;
  const violations: string[] = [];
  if (!Number.isInteger(chunkExpiration.toHours({ integral: false }) / 24) || seconds(chunkExpiration) <= 0) {
    violations.push(
      `largePayloads.chunkExpiration (${human(chunkExpiration)}) is not a whole number of days, and S3 lifecycle ` +
        'rules expire objects in whole days. Fix: give it in Duration.days.',
    );
  }
  const minimum = requiredChunkLifetime(s, chunkReuseMaxAge);
  if (seconds(chunkExpiration) < seconds(minimum)) {
    const dlqRetention = s.deadLetterQueue?.retentionPeriod ?? MAX_RETENTION_PERIOD;
    violations.push(
      `largePayloads.chunkExpiration (${human(chunkExpiration)}) is shorter than dedupWindow ` +
        `(${human(s.dedupWindow)}) + the source queue's retention (${human(s.retentionPeriod)}) + the dead-letter ` +
        `queue's retention (${human(dlqRetention)}) + chunkReuseMaxAge (${human(chunkReuseMaxAge)}) = ` +
        `${human(minimum)}; a duplicate or a redrive could find its payload's chunks expired and be parked. ` +
        `Fix: set chunkExpiration to at least ${human(minimum)}, or leave it out.`,
    );
  }
  return violations;
}

const isIntegerIn = (value: number, min: number, max: number): boolean =>
  Number.isInteger(value) && value >= min && value <= max;
const seconds = (duration: Duration): number => duration.toSeconds({ integral: false });
const human = (duration: Duration): string => duration.toHumanString();
const queueKind = (fifo: boolean): string => (fifo ? 'FIFO' : 'standard');
