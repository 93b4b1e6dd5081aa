import { type IQueue, Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { ConsumerTimingSettings } from './consumer-settings.js';
import { CONSUMER_DEFAULTS, DEAD_LETTER_QUEUE_RETENTION_PERIOD } from './exactly-once-consumer-defaults.js';

/** The queue a consumer reads and the dead-letter queue it parks into. */
export interface ConsumerQueues {
  readonly queue: IQueue;
  readonly deadLetterQueue: IQueue;
}

/**
 * A dead-letter queue: SQS-managed encryption, TLS only, and the longest retention SQS allows. `fifo` is true or
 * absent, so a standard queue leaves `FifoQueue` out of the template.
 */
export function createDeadLetterQueue(scope: Construct, id: string, fifo?: true): Queue {
  return new Queue(scope, id, {
    fifo,
    encryption: QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: DEAD_LETTER_QUEUE_RETENTION_PERIOD,
  });
}

/** The source queue and its dead-letter queue, created in `scope` with the resolved settings. */
export function createConsumerQueues(scope: Construct, settings: ConsumerTimingSettings): ConsumerQueues {
  const fifo = settings.fifo ? true : undefined;
  const deadLetterQueue = createDeadLetterQueue(scope, 'DeadLetterQueue', fifo);
  const queue = new Queue(scope, 'Queue', {
    fifo,
    encryption: QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    visibilityTimeout: settings.visibilityTimeout,
    retentionPeriod: settings.retentionPeriod,
    deliveryDelay: settings.deliveryDelay,
    deadLetterQueue: {
      queue: deadLetterQueue,
      maxReceiveCount: settings.deadLetterQueue?.maxReceiveCount ?? CONSUMER_DEFAULTS.maxReceiveCount,
    },
  });
  return { queue, deadLetterQueue };
}

/** The queues of `existingQueue`: the queue itself and the dead-letter queue of its redrive policy. */
export function existingQueues(queue: Queue): ConsumerQueues {
  // The invariants already refused a queue without a dead-letter queue; this keeps the compiler honest.
  const redrive = queue.deadLetterQueue;
  if (redrive === undefined) throw new Error('existingQueue has no dead-letter queue.');
  return { queue, deadLetterQueue: redrive.queue };
}
