import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { AttributeType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import { ConsumerConfigurationError } from '../../../lib/errors.js';
import { ExactlyOnceConsumer, type ExactlyOnceConsumerProps } from '../../../lib/exactly-once-consumer.js';
import { appWithoutBundling, FIXTURE_ENTRY } from '../support.js';

type Build = (stack: Stack) => Partial<ExactlyOnceConsumerProps>;

/** The error a consumer with these props throws; fails the test when it throws none or another kind. */
function configurationError(build: Build): ConsumerConfigurationError {
  const stack = new Stack(appWithoutBundling(), 'Test');
  try {
    new ExactlyOnceConsumer(stack, 'Consumer', { entry: FIXTURE_ENTRY, ...build(stack) });
  } catch (error) {
    if (error instanceof ConsumerConfigurationError) return error;
    throw error;
  }
  throw new Error('expected a ConsumerConfigurationError, but the consumer was created');
}

const HEADER_ONE = 'ExactlyOnceConsumer Test/Consumer has 1 configuration problem:\n';
const header = (count: number) => `ExactlyOnceConsumer Test/Consumer has ${count} configuration problems:\n`;

/** A queue of the app with a dead-letter queue, valid for the defaults unless `overrides` says otherwise. */
function ownQueue(
  stack: Stack,
  overrides: {
    visibilityTimeout?: Duration;
    retentionPeriod?: Duration;
    maxReceiveCount?: number;
    fifo?: boolean;
  } = {},
): Queue {
  const deadLetterQueue = new Queue(stack, 'OwnDeadLetters', { retentionPeriod: Duration.days(14) });
  return new Queue(stack, 'Own', {
    fifo: overrides.fifo,
    visibilityTimeout: overrides.visibilityTimeout ?? Duration.minutes(3),
    retentionPeriod: overrides.retentionPeriod,
    deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: overrides.maxReceiveCount ?? 10 },
  });
}

describe('ExactlyOnceConsumer synth-time invariants', () => {
  it('accepts its own defaults', () => {
    const stack = new Stack(appWithoutBundling(), 'Test');
    expect(() => new ExactlyOnceConsumer(stack, 'Consumer', { entry: FIXTURE_ENTRY })).not.toThrow();
  });

  it('accepts an existing queue whose settings keep every invariant', () => {
    const stack = new Stack(appWithoutBundling(), 'Test');
    const consumer = new ExactlyOnceConsumer(stack, 'Consumer', {
      entry: FIXTURE_ENTRY,
      existingQueue: ownQueue(stack),
    });
    expect(consumer.settings.visibilityTimeout.toSeconds()).toBe(180);
  });

  it('refuses a lease shorter than the function timeout plus the clock-skew margin', () => {
    const error = configurationError(() => ({ leaseDuration: Duration.seconds(45) }));
    expect(error.message).toBe(
      HEADER_ONE +
        '1. leaseDuration (45 seconds) is shorter than functionTimeout (30 seconds) + clock-skew margin (30 seconds) ' +
        '= 1 minute; the lease could end while Lambda is still running the handler, and another consumer would ' +
        'take the message over. Fix: set leaseDuration to at least 1 minute, or lower functionTimeout.',
    );
  });

  it('refuses a dedup window shorter than retention + delay + lease + producer retries', () => {
    const error = configurationError(() => ({ dedupWindow: Duration.days(5) }));
    expect(error.message).toBe(
      header(2) +
        '1. dedupWindow (5 days) is shorter than retentionPeriod (4 days) + delivery delay (0 seconds) + ' +
        'leaseDuration (1 minute) + producerRetryHorizon (1 day) = 5 days 1 minute; a copy of a message could ' +
        'arrive after its claim record expired and be applied twice. Fix: set dedupWindow to at least 5 days ' +
        '1 minute, or shorten retentionPeriod or producerRetryHorizon.\n' +
        "2. dedupWindow (5 days) is shorter than the dead-letter queue's retention period (14 days) + " +
        'leaseDuration (1 minute) = 14 days 1 minute; parking is at least once, so the DLQ can hold a copy of a ' +
        'message that was later applied, and redriving that copy after its claim record expired would apply it ' +
        "again. Fix: set dedupWindow to at least 14 days 1 minute, or shorten the dead-letter queue's retention " +
        'period.',
    );
  });

  it('refuses a maxReceiveCount that would park messages merely deferred', () => {
    const error = configurationError(() => ({ maxReceiveCount: 2 }));
    expect(error.message).toBe(
      HEADER_ONE +
        '1. maxReceiveCount (2) is below 5; each time a message is handed back because another consumer holds its ' +
        'lease counts as a receive, so it could be parked in the DLQ without ever failing. Fix: set ' +
        'maxReceiveCount to 5 or more.',
    );
  });

  it('refuses a source retention as long as the DLQ retention, together with the dedup window it outgrows', () => {
    const error = configurationError(() => ({ retentionPeriod: Duration.days(14) }));
    expect(error.violations).toHaveLength(2);
    expect(error.message).toBe(
      header(2) +
        '1. dedupWindow (15 days) is shorter than retentionPeriod (14 days) + delivery delay (0 seconds) + ' +
        'leaseDuration (1 minute) + producerRetryHorizon (1 day) = 15 days 1 minute; a copy of a message could ' +
        'arrive after its claim record expired and be applied twice. Fix: set dedupWindow to at least 15 days ' +
        '1 minute, or shorten retentionPeriod or producerRetryHorizon.\n' +
        "2. the dead-letter queue's retention period (14 days) is not longer than the source queue's (14 days); " +
        "SQS keeps a message's original enqueue time when it moves it to the DLQ, so a parked message could " +
        'expire before anyone sees it. Fix: lower retentionPeriod below 14 days.',
    );
  });

  it('refuses a dedup window that a parked copy in the DLQ outlives', () => {
    const error = configurationError(() => ({
      dedupWindow: Duration.days(14),
      retentionPeriod: Duration.days(4),
    }));
    expect(error.message).toBe(
      HEADER_ONE +
        "1. dedupWindow (14 days) is shorter than the dead-letter queue's retention period (14 days) + " +
        'leaseDuration (1 minute) = 14 days 1 minute; parking is at least once, so the DLQ can hold a copy of a ' +
        'message that was later applied, and redriving that copy after its claim record expired would apply it ' +
        "again. Fix: set dedupWindow to at least 14 days 1 minute, or shorten the dead-letter queue's retention " +
        'period.',
    );
  });

  it('assumes the longest retention SQS allows for a dead-letter queue it cannot see', () => {
    const error = configurationError((stack) => {
      const imported = Queue.fromQueueArn(
        stack,
        'Imported',
        'arn:aws:sqs:us-east-1:123456789012:imported-dlq',
      );
      return {
        dedupWindow: Duration.days(10),
        existingQueue: new Queue(stack, 'Own', {
          visibilityTimeout: Duration.minutes(3),
          retentionPeriod: Duration.days(4),
          deadLetterQueue: { queue: imported, maxReceiveCount: 10 },
        }),
      };
    });
    expect(error.message).toBe(
      HEADER_ONE +
        "1. dedupWindow (10 days) is shorter than the dead-letter queue's retention period (14 days (not known: " +
        'SQS keeps messages 14 days at most)) + leaseDuration (1 minute) = 14 days 1 minute; parking is at least ' +
        'once, so the DLQ can hold a copy of a message that was later applied, and redriving that copy after its ' +
        'claim record expired would apply it again. Fix: set dedupWindow to at least 14 days 1 minute, or shorten ' +
        "the dead-letter queue's retention period.",
    );
  });

  it('refuses a lease that would need a visibility timeout above what SQS allows', () => {
    const error = configurationError(() => ({
      leaseDuration: Duration.hours(13),
      dedupWindow: Duration.days(15),
    }));
    expect(error.message).toBe(
      HEADER_ONE +
        "1. the source queue's visibility timeout would be 13 hours, above the 12 hours SQS allows. " +
        'Fix: lower leaseDuration or functionTimeout.',
    );
  });

  it('refuses event source settings Lambda would reject', () => {
    const error = configurationError(() => ({ batchSize: 100, maxConcurrency: 1 }));
    expect(error.message).toBe(
      header(2) +
        '1. batchSize (100) is above 10 without maxBatchingWindow; Lambda only accepts such batches with a ' +
        'batching window. Fix: set maxBatchingWindow (for example Duration.seconds(1)), or batchSize to 10 or less.\n' +
        '2. maxConcurrency (1) is outside 2..1000, the range Lambda accepts. Fix: set maxConcurrency between 2 ' +
        'and 1000.',
    );
  });

  it('refuses provisioned pollers with a maximum concurrency, and poller counts Lambda would reject', () => {
    const error = configurationError(() => ({
      maxConcurrency: 20,
      provisionedPollers: { minimumPollers: 1, maximumPollers: 2001 },
    }));
    expect(error.message).toBe(
      header(3) +
        '1. maxConcurrency (20) is set with provisionedPollers, and Lambda refuses a maximum concurrency on an SQS ' +
        'event source mapping in provisioned mode. Fix: remove maxConcurrency and bound concurrency with ' +
        'provisionedPollers.maximumPollers.\n' +
        '2. provisionedPollers.minimumPollers (1) is outside 2..200, the range Lambda accepts for SQS. Fix: set it ' +
        'between 2 and 200.\n' +
        '3. provisionedPollers.maximumPollers (2001) is outside 2..2000, the range Lambda accepts for SQS. Fix: set ' +
        'it between 2 and 2000.',
    );
  });

  it('refuses fewer maximum pollers than minimum pollers', () => {
    const error = configurationError(() => ({
      provisionedPollers: { minimumPollers: 10, maximumPollers: 5 },
    }));
    expect(error.message).toBe(
      `${HEADER_ONE}1. provisionedPollers.maximumPollers (5) is below minimumPollers (10). Fix: raise ` +
        'maximumPollers to at least minimumPollers.',
    );
  });

  it('refuses FIFO batches above 10 and batching windows on FIFO queues', () => {
    const error = configurationError(() => ({
      fifo: true,
      batchSize: 20,
      maxBatchingWindow: Duration.seconds(1),
    }));
    expect(error.message).toBe(
      header(2) +
        '1. batchSize (20) is above 10, the most Lambda reads from a FIFO queue at once. Fix: set batchSize to 10 ' +
        'or less.\n' +
        '2. maxBatchingWindow is set for a FIFO queue, and Lambda supports no batching window on FIFO queues. ' +
        'Fix: remove maxBatchingWindow.',
    );
  });

  it('refuses an existing queue together with an existing table', () => {
    const error = configurationError((stack) => ({
      existingQueue: ownQueue(stack),
      existingTable: new Table(stack, 'Claims', {
        partitionKey: { name: 'messageId', type: AttributeType.STRING },
      }),
    }));
    expect(error.message).toBe(
      HEADER_ONE +
        '1. existingQueue and existingTable are both given; the construct exists to create and check at least one ' +
        'of them. Fix: pass only one of them and let the construct create the other.',
    );
  });

  it('refuses an existing queue without a dead-letter queue', () => {
    const error = configurationError((stack) => ({
      existingQueue: new Queue(stack, 'Bare', { visibilityTimeout: Duration.minutes(3) }),
    }));
    expect(error.message).toBe(
      HEADER_ONE +
        '1. existingQueue has no dead-letter queue, so a message that keeps failing is retried until its ' +
        'retention ends and is then dropped. Fix: create the queue with deadLetterQueue: { queue, maxReceiveCount: ' +
        '10 }.',
    );
  });

  it('refuses a FIFO queue with a standard dead-letter queue', () => {
    const error = configurationError((stack) => ({ existingQueue: ownQueue(stack, { fifo: true }) }));
    expect(error.message).toBe(
      HEADER_ONE +
        '1. the source queue is FIFO but its dead-letter queue is standard; SQS requires both to be of the same ' +
        'type. Fix: give existingQueue a FIFO dead-letter queue.',
    );
  });

  it('refuses a claims table keyed on anything but messageId, and table props beside an existing table', () => {
    const error = configurationError((stack) => ({
      claimsTableRemovalPolicy: RemovalPolicy.DESTROY,
      existingTable: new Table(stack, 'Claims', {
        partitionKey: { name: 'id', type: AttributeType.STRING },
        sortKey: { name: 'at', type: AttributeType.NUMBER },
      }),
    }));
    expect(error.message).toBe(
      header(2) +
        '1. claimsTableRemovalPolicy configures the claims table the construct would create, but existingTable is ' +
        'given. Fix: remove claimsTableRemovalPolicy and set it on existingTable instead.\n' +
        '2. existingTable is keyed on id (S), sort key at (N), but the runtime keys claims on messageId (S) alone. ' +
        'Fix: pass a table whose only key is the partition key messageId (S), with TTL on expiresAtEpochSeconds.',
    );
  });

  it('collects every problem of an existing queue into one error, each with its fix', () => {
    const error = configurationError((stack) => ({
      fifo: false,
      maxReceiveCount: 10,
      existingQueue: ownQueue(stack, {
        visibilityTimeout: Duration.minutes(1),
        retentionPeriod: Duration.days(14),
        maxReceiveCount: 3,
      }),
    }));
    expect(error.name).toBe('ConsumerConfigurationError');
    expect(error.constructPath).toBe('Test/Consumer');
    expect(error.message).toBe(
      header(6) +
        '1. fifo configures the queue the construct would create, but existingQueue is given. Fix: remove fifo ' +
        'and set it on existingQueue instead.\n' +
        '2. maxReceiveCount configures the queue the construct would create, but existingQueue is given. Fix: ' +
        'remove maxReceiveCount and set it on existingQueue instead.\n' +
        "3. the source queue's visibility timeout (1 minute) is shorter than 6 x functionTimeout (3 minutes); a " +
        'batch Lambda retries after throttling could become visible again while it is still being processed. ' +
        'Fix: set visibilityTimeout on existingQueue to at least 3 minutes, or lower functionTimeout.\n' +
        "4. dedupWindow (15 days) is shorter than existingQueue's retention period (14 days) + delivery delay " +
        '(0 seconds) + leaseDuration (1 minute) + producerRetryHorizon (1 day) = 15 days 1 minute; a copy of a ' +
        'message could arrive after its claim record expired and be applied twice. Fix: set dedupWindow to at ' +
        "least 15 days 1 minute, or shorten existingQueue's retention period or producerRetryHorizon.\n" +
        "5. existingQueue's maxReceiveCount (3) is below 5; each time a message is handed back because another " +
        'consumer holds its lease counts as a receive, so it could be parked in the DLQ without ever failing. ' +
        "Fix: set maxReceiveCount in existingQueue's deadLetterQueue to 5 or more.\n" +
        "6. the dead-letter queue's retention period (14 days) is not longer than the source queue's (14 days); " +
        "SQS keeps a message's original enqueue time when it moves it to the DLQ, so a parked message could " +
        "expire before anyone sees it. Fix: lower existingQueue's retention period below 14 days, or lengthen the " +
        "dead-letter queue's retention (SQS allows up to 14 days).",
    );
  });

  it('refuses an existing queue whose visibility timeout is shorter than the lease', () => {
    const error = configurationError((stack) => ({
      leaseDuration: Duration.minutes(5),
      existingQueue: ownQueue(stack, { visibilityTimeout: Duration.minutes(4) }),
    }));
    expect(error.message).toBe(
      HEADER_ONE +
        "1. the source queue's visibility timeout (4 minutes) is shorter than leaseDuration (5 minutes); a " +
        'message could be delivered again while its lease is still live. Fix: set visibilityTimeout on ' +
        'existingQueue to at least 5 minutes, or lower leaseDuration.',
    );
  });

  it("refuses readBeforeClaim 'never' in optimistic mode, which must read when duplicates come", () => {
    const error = configurationError(() => ({ mode: 'optimistic', readBeforeClaim: 'never' }));
    expect(error.message).toBe(
      HEADER_ONE +
        "1. readBeforeClaim is 'never', but optimistic mode must read the batch when duplicates come: a duplicate " +
        'it missed would cancel the grouped transaction of its whole batch. Fix: remove readBeforeClaim, or use ' +
        "mode 'lease'.",
    );
  });

  it.each([
    ['lease', 'never'],
    ['optimistic', 'always'],
  ] as const)('accepts mode %s with readBeforeClaim %s', (mode, readBeforeClaim) => {
    const stack = new Stack(appWithoutBundling(), 'Test');
    const consumer = new ExactlyOnceConsumer(stack, 'Consumer', {
      entry: FIXTURE_ENTRY,
      mode,
      readBeforeClaim,
    });
    expect(consumer.settings.readBeforeClaim).toBe(readBeforeClaim);
  });

  it('accepts an outbox with a target and the default relay settings', () => {
    const stack = new Stack(appWithoutBundling(), 'Test');
    const consumer = new ExactlyOnceConsumer(stack, 'Consumer', {
      entry: FIXTURE_ENTRY,
      outbox: { targets: [new Queue(stack, 'Downstream')] },
    });
    expect(consumer.outbox).toBeDefined();
  });

  it('refuses an outbox with no target', () => {
    const error = configurationError(() => ({ outbox: { targets: [] } }));
    expect(error.message).toBe(
      HEADER_ONE +
        '1. outbox.targets is empty, so the relay may send to no queue and every staged message would end in the ' +
        'relay DLQ. Fix: list every queue the handler passes to ctx.outbox.send.',
    );
  });

  it('refuses relay batch sizes and retry attempts Lambda would refuse or that never give up, all at once', () => {
    const error = configurationError((stack) => ({
      outbox: { targets: [new Queue(stack, 'Downstream')], relayBatchSize: 20_000, relayRetryAttempts: -1 },
    }));
    expect(error.message).toBe(
      header(2) +
        '1. outbox.relayBatchSize (20000) is outside 1..10000, the range Lambda accepts for a DynamoDB stream. ' +
        'Fix: set it to a whole number between 1 and 10000.\n' +
        '2. outbox.relayRetryAttempts (-1) is outside 0..10000; unbounded retries (-1) would hold every later ' +
        'outbox item of the shard behind one bad batch until the stream drops it after 24 hours. Fix: set it to ' +
        'a whole number between 0 and 10000.',
    );
  });

  it('checks the outbox before creating anything, together with the other settings', () => {
    const error = configurationError(() => ({
      maxReceiveCount: 2,
      outbox: { targets: [], relayBatchSize: 0 },
    }));
    expect(error.violations).toHaveLength(3);
    expect(error.violations[1]).toMatch(/^outbox\.targets is empty/);
    expect(error.violations[2]).toMatch(/^outbox\.relayBatchSize \(0\) is outside 1\.\.10000/);
  });
});
