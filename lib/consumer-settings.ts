import { Duration } from 'aws-cdk-lib';
import { CfnQueue, Queue } from 'aws-cdk-lib/aws-sqs';
import type { ProcessingMode, ReadBeforeClaim } from '../lambda/contract/index.js';
import {
  CLOCK_SKEW_MARGIN,
  CONSUMER_DEFAULTS,
  DEAD_LETTER_QUEUE_RETENTION_PERIOD,
  defaultLeaseDuration,
  defaultVisibilityTimeout,
  PROVISIONED_POLLER_DEFAULTS,
  SQS_ATTRIBUTE_DEFAULTS,
} from './exactly-once-consumer-defaults.js';

/**
 * A consumer's settings: what the props give, what the defaults fill in, and what is derived from both. Apart
 * from the construct, so the local stack (`npm start`) can resolve the same settings without the construct graph.
 */

/** `lease` claims before running the handler (safe for external side effects); `optimistic` claims at commit. */
export type ConsumerMode = ProcessingMode;

/** The props of `ExactlyOnceConsumer` that settle its timing, queues and runtime settings. */
export interface ConsumerSettingsInput {
  /** Claim before running the handler (`lease`) or only at commit (`optimistic`). @default 'lease' */
  readonly mode?: ConsumerMode;
  /**
   * When the batch's DONE records are read (one BatchGetItem, half a read unit per id) before claiming or the
   * optimistic commit, so a known duplicate makes no claim and runs no handler. `auto` reads while more than 10%
   * (lease) or 0.5% (optimistic) of a container's recent deliveries were duplicates already DONE; `always`; `never`
   * (refused with optimistic). Written to ONCEFLOW_READ_BEFORE_CLAIM.
   * @default 'auto'
   */
  readonly readBeforeClaim?: ReadBeforeClaim;
  /** Records per invocation. Above 10 needs `maxBatchingWindow`; FIFO queues allow at most 10. @default 10 */
  readonly batchSize?: number;
  /** How long Lambda gathers records before invoking. Not allowed on FIFO queues. @default - no batching window */
  readonly maxBatchingWindow?: Duration;
  /**
   * Most concurrent invocations the event source mapping starts (2..1000). Not with `provisionedPollers`: AWS
   * refuses the two together; the pollers then bound concurrency.
   * @default 10 (none with provisionedPollers)
   */
  readonly maxConcurrency?: number;
  /**
   * SQS provisioned mode of the event source mapping: at least `minimumPollers` pollers always ready (2..200),
   * scaling to at most `maximumPollers` (2..2000), each polling up to 10 concurrent invocations. For bursts that
   * must not wait for the default mode to scale up; billed per event poller unit.
   * @default - on-demand polling (no provisioned pollers)
   */
  readonly provisionedPollers?: ProvisionedPollers;
  /** The function timeout. The lease and the queue visibility timeout are derived from it. @default Duration.seconds(30) */
  readonly functionTimeout?: Duration;
  /** Function memory, in MB. @default 512 */
  readonly memorySize?: number;
  /**
   * How far the clocks of two workers may disagree; the lease must outlast functionTimeout by at least this.
   * @default Duration.seconds(30)
   */
  readonly clockSkewMargin?: Duration;
  /**
   * How long a claim is owned before another consumer may take it over. Must be at least functionTimeout +
   * clockSkewMargin.
   * @default - functionTimeout + clockSkewMargin (60 seconds with the defaults)
   */
  readonly leaseDuration?: Duration;
  /**
   * How long a DONE claim is remembered (the TTL of the claim record). Must cover retention + delivery delay +
   * lease + producer retry horizon.
   * @default Duration.days(7)
   */
  readonly dedupWindow?: Duration;
  /** How long after its first send a producer may still resend the same messageId. @default Duration.days(1) */
  readonly producerRetryHorizon?: Duration;
  /** Create FIFO source and dead-letter queues. Not with `existingQueue`. @default false */
  readonly fifo?: boolean;
  /** Retention of the created source queue; must stay below the DLQ's 14 days. Not with `existingQueue`. @default Duration.days(4) */
  readonly retentionPeriod?: Duration;
  /** Delivery delay of the created source queue. Not with `existingQueue`. @default Duration.seconds(0) */
  readonly deliveryDelay?: Duration;
  /** Receives before SQS moves a message to the DLQ; at least 5. Not with `existingQueue`. @default 10 */
  readonly maxReceiveCount?: number;
  /**
   * A source queue to consume instead of creating one. It must be a `Queue` of this CDK app with a dead-letter
   * queue, so its visibility timeout, retention and redrive settings can be checked at synth time.
   * Not together with `existingTable`.
   * @default - a new queue and dead-letter queue
   */
  readonly existingQueue?: Queue;
  /** The Powertools service name, the `service` dimension of the runtime's metrics. @default 'onceflow' */
  readonly serviceName?: string;
}

/** The SQS provisioned mode of the event source mapping. */
export interface ProvisionedPollers {
  /** Pollers kept ready, 2..200. @default 2 */
  readonly minimumPollers?: number;
  /** Most pollers, 2..2000, at least minimumPollers. @default 200 */
  readonly maximumPollers?: number;
}

/** The settings the docs/design.md section 9 invariants relate, after defaults are merged and existing queues read. */
export interface ConsumerTimingSettings {
  readonly functionTimeout: Duration;
  /** How far worker clocks may disagree. */
  readonly clockSkewMargin: Duration;
  readonly leaseDuration: Duration;
  readonly visibilityTimeout: Duration;
  readonly retentionPeriod: Duration;
  readonly deliveryDelay: Duration;
  readonly producerRetryHorizon: Duration;
  readonly dedupWindow: Duration;
  readonly fifo: boolean;
  readonly batchSize: number;
  readonly maxBatchingWindow: Duration | undefined;
  /** Undefined with provisioned pollers, unless the props gave one (which the invariants then refuse). */
  readonly maxConcurrency: number | undefined;
  /** With both bounds filled in from SQS's defaults; undefined for on-demand polling. */
  readonly provisionedPollers: Required<ProvisionedPollers> | undefined;
  /** Whether the queue is one the user passed in: the fixes then point at that queue, not at construct props. */
  readonly existingQueue: boolean;
  /** Undefined when an existing queue has no dead-letter queue. */
  readonly deadLetterQueue:
    | {
        readonly maxReceiveCount: number;
        /** Undefined when the DLQ is imported and its retention cannot be read at synth time. */
        readonly retentionPeriod: Duration | undefined;
        readonly fifo: boolean;
      }
    | undefined;
}

/** The settings in force after defaults, user props and an existing queue are merged. */
export interface ExactlyOnceConsumerSettings extends ConsumerTimingSettings {
  readonly mode: ConsumerMode;
  readonly readBeforeClaim: ReadBeforeClaim;
  readonly memorySize: number;
  readonly serviceName: string;
}

/**
 * Merges defaults, then user props, then the attributes of an existing queue, then derives what depends on them.
 * The local stack (`npm start`) derives its queues and lease from this too, so both agree on one definition.
 * Generic, so an object literal that also holds other construct props (such as `entry`) is accepted as it is.
 */
export function resolveConsumerSettings(props: ConsumerSettingsInput): ExactlyOnceConsumerSettings {
  const d = CONSUMER_DEFAULTS;
  const functionTimeout = props.functionTimeout ?? d.functionTimeout;
  const clockSkewMargin = props.clockSkewMargin ?? CLOCK_SKEW_MARGIN;
  const leaseDuration = props.leaseDuration ?? defaultLeaseDuration(functionTimeout, clockSkewMargin);
  const common = {
    mode: props.mode ?? d.mode,
    readBeforeClaim: props.readBeforeClaim ?? d.readBeforeClaim,
    memorySize: props.memorySize ?? d.memorySize,
    serviceName: props.serviceName ?? d.serviceName,
    functionTimeout,
    clockSkewMargin,
    leaseDuration,
    dedupWindow: props.dedupWindow ?? d.dedupWindow,
    producerRetryHorizon: props.producerRetryHorizon ?? d.producerRetryHorizon,
    batchSize: props.batchSize ?? d.batchSize,
    maxBatchingWindow: props.maxBatchingWindow,
    maxConcurrency:
      props.maxConcurrency ?? (props.provisionedPollers === undefined ? d.maxConcurrency : undefined),
    provisionedPollers:
      props.provisionedPollers === undefined
        ? undefined
        : {
            minimumPollers:
              props.provisionedPollers.minimumPollers ?? PROVISIONED_POLLER_DEFAULTS.minimumPollers,
            maximumPollers:
              props.provisionedPollers.maximumPollers ?? PROVISIONED_POLLER_DEFAULTS.maximumPollers,
          },
  };
  if (props.existingQueue) {
    return { ...common, ...readQueueSettings(props.existingQueue), existingQueue: true };
  }
  const retentionPeriod = props.retentionPeriod ?? d.retentionPeriod;
  const fifo = props.fifo ?? d.fifo;
  return {
    ...common,
    existingQueue: false,
    fifo,
    retentionPeriod,
    deliveryDelay: props.deliveryDelay ?? d.deliveryDelay,
    visibilityTimeout: defaultVisibilityTimeout(functionTimeout, leaseDuration),
    deadLetterQueue: {
      maxReceiveCount: props.maxReceiveCount ?? d.maxReceiveCount,
      retentionPeriod: DEAD_LETTER_QUEUE_RETENTION_PERIOD,
      fifo,
    },
  };
}

/** Reads the attributes the invariants need from a queue defined in this app, with SQS's own defaults. */
function readQueueSettings(
  queue: Queue,
): Pick<
  ConsumerTimingSettings,
  'fifo' | 'visibilityTimeout' | 'retentionPeriod' | 'deliveryDelay' | 'deadLetterQueue'
> {
  const attributes = queueAttributes(queue);
  const redrive = queue.deadLetterQueue;
  return {
    fifo: queue.fifo,
    visibilityTimeout: attributes.visibilityTimeout,
    retentionPeriod: attributes.retentionPeriod,
    deliveryDelay: attributes.deliveryDelay,
    deadLetterQueue:
      redrive === undefined
        ? undefined
        : {
            maxReceiveCount: redrive.maxReceiveCount,
            retentionPeriod:
              redrive.queue instanceof Queue ? queueAttributes(redrive.queue).retentionPeriod : undefined,
            fifo: redrive.queue.fifo,
          },
  };
}

function queueAttributes(queue: Queue): {
  visibilityTimeout: Duration;
  retentionPeriod: Duration;
  deliveryDelay: Duration;
} {
  const cfn = queue.node.defaultChild;
  const seconds = (value: number | undefined, fallback: Duration): Duration =>
    value === undefined ? fallback : Duration.seconds(value);
  if (!(cfn instanceof CfnQueue)) return SQS_ATTRIBUTE_DEFAULTS;
  return {
    visibilityTimeout: seconds(cfn.visibilityTimeout, SQS_ATTRIBUTE_DEFAULTS.visibilityTimeout),
    retentionPeriod: seconds(cfn.messageRetentionPeriod, SQS_ATTRIBUTE_DEFAULTS.retentionPeriod),
    deliveryDelay: seconds(cfn.delaySeconds, SQS_ATTRIBUTE_DEFAULTS.deliveryDelay),
  };
}
