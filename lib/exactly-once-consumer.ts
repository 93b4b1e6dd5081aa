import { Duration, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import { type Attribute, type ITable, Table } from 'aws-cdk-lib/aws-dynamodb';
import type { Role } from 'aws-cdk-lib/aws-iam';
import { EventSourceMapping } from 'aws-cdk-lib/aws-lambda';
import type { BundlingOptions, NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { LogGroup } from 'aws-cdk-lib/aws-logs';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { CfnQueue, type IQueue, Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { type ProcessingMode, toConsumerEnvironment } from '../lambda/contract/index.js';
import {
  bundledHandlerFile,
  createBundledFunction,
  createFunctionLogGroup,
  createFunctionRole,
} from './bundled-function.js';
import { ClaimsTable } from './claims-table.js';
import { ConsumerAlarms, type ConsumerAlarmThresholds, resolveAlarmThresholds } from './consumer-alarms.js';
import { ConsumerDashboard } from './consumer-dashboard.js';
import {
  type ConsumerTimingSettings,
  findOutboxViolations,
  findPropsViolations,
  findTimingViolations,
} from './consumer-invariants.js';
import { ConsumerMetrics } from './consumer-metrics.js';
import { ConsumerConfigurationError } from './errors.js';
import {
  CLOCK_SKEW_MARGIN,
  CONSUMER_DEFAULTS,
  DEAD_LETTER_QUEUE_RETENTION_PERIOD,
  defaultLeaseDuration,
  defaultVisibilityTimeout,
  OUTBOX_DEFAULTS,
  SQS_ATTRIBUTE_DEFAULTS,
} from './exactly-once-consumer-defaults.js';
import { esbuildViolations, findHandlerProject } from './handler-project.js';
import { type OutboxProps, TransactionalOutbox } from './transactional-outbox.js';

/** `lease` claims before running the handler (safe for external side effects); `optimistic` claims at commit. */
export type ConsumerMode = ProcessingMode;

export interface ExactlyOnceConsumerProps {
  /**
   * The handler entry file (TypeScript or JavaScript). It must export `handler`, the Onceflow SQS batch handler.
   * A relative path is read from the current working directory (where `cdk` runs: your app's root).
   */
  readonly entry: string;
  /** Claim before running the handler (`lease`) or only at commit (`optimistic`). @default 'lease' */
  readonly mode?: ConsumerMode;
  /** Records per invocation. Above 10 needs `maxBatchingWindow`; FIFO queues allow at most 10. @default 10 */
  readonly batchSize?: number;
  /** How long Lambda gathers records before invoking. Not allowed on FIFO queues. @default - no batching window */
  readonly maxBatchingWindow?: Duration;
  /** Most concurrent invocations the event source mapping starts (2..1000). @default 10 */
  readonly maxConcurrency?: number;
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
   * How long a claim is owned before another consumer may take it over. Must be at least functionTimeout + 30 s
   * of clock-skew margin.
   * @default - functionTimeout + 30 seconds (60 seconds with the default timeout)
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
  /**
   * A claims table to use instead of creating one: partition key `messageId` (string), TTL on
   * `expiresAtEpochSeconds`. Not together with `existingQueue`.
   * @default - a new ClaimsTable
   */
  readonly existingTable?: ITable;
  /** What happens to the created claims table when the stack is deleted. Not with `existingTable`. @default RemovalPolicy.RETAIN */
  readonly claimsTableRemovalPolicy?: RemovalPolicy;
  /** Alarm thresholds. @default - see ConsumerAlarmThresholds */
  readonly alarmThresholds?: ConsumerAlarmThresholds;
  /** Topic notified when any alarm fires. @default - no alarm action */
  readonly alarmTopic?: ITopic;
  /** The Powertools service name, the `service` dimension of the runtime's metrics. @default 'onceflow' */
  readonly serviceName?: string;
  /** More environment variables for the handler, such as the application's table names. @default - none */
  readonly environment?: Readonly<Record<string, string>>;
  /**
   * The directory the bundler resolves modules from; `entry` must be inside it.
   * @default - the directory of `depsLockFilePath`
   */
  readonly projectRoot?: string;
  /**
   * The lock file that pins the bundled dependencies (package-lock.json, yarn.lock, pnpm-lock.yaml, bun.lock).
   * @default - the nearest lock file in `projectRoot`, or else in the entry's directory or any directory above it
   */
  readonly depsLockFilePath?: string;
  /**
   * esbuild options laid over Onceflow's (ESM, node22, source maps, AWS SDK bundled): `minify`, `define`,
   * `nodeModules`, `externalModules`... Bundling always runs on this machine, never in Docker.
   * @default - Onceflow's bundling
   */
  readonly bundling?: BundlingOptions;
  /**
   * A transactional outbox for `ctx.outbox.send`: an outbox table whose items commit with the DONE record, and a
   * relay function on its stream that sends them to `targets`, with a relay DLQ and alarms. The handler gets
   * `ONCEFLOW_OUTBOX_TABLE` and may only put items into the table.
   * @default - no outbox; `ctx.outbox.send` then throws a ConfigurationError
   */
  readonly outbox?: OutboxProps;
}

/** The settings in force after defaults, user props and an existing queue are merged. */
export interface ExactlyOnceConsumerSettings extends ConsumerTimingSettings {
  readonly mode: ConsumerMode;
  readonly memorySize: number;
  readonly serviceName: string;
}

/**
 * Exactly-once consumption of an SQS queue: the source queue and its DLQ, the claims table, the handler function
 * (bundled locally with esbuild), the event source mapping with partial batch responses, least-privilege grants,
 * alarms and a dashboard. Invalid settings are reported all at once at synth time, each with its fix.
 *
 * @example
 * const consumer = new ExactlyOnceConsumer(this, 'Payments', {
 *   entry: 'lambda/handlers/ledger.ts',
 *   functionTimeout: Duration.seconds(20),
 *   alarmTopic: topic,
 * });
 * accounts.grant(consumer.function, 'dynamodb:UpdateItem');
 * consumer.function.addEnvironment('LEDGER_ACCOUNTS_TABLE', accounts.tableName);
 */
export class ExactlyOnceConsumer extends Construct {
  readonly settings: ExactlyOnceConsumerSettings;
  /** The source queue. */
  readonly queue: IQueue;
  /** Where SQS moves messages after maxReceiveCount receives, and where the runtime parks permanent failures. */
  readonly deadLetterQueue: IQueue;
  /** The claims table (created or existing). */
  readonly table: ITable;
  /** The created claims table construct; undefined with `existingTable`. */
  readonly claimsTable: ClaimsTable | undefined;
  readonly function: NodejsFunction;
  /** The function's role: only the grants listed in the README, nothing managed. */
  readonly role: Role;
  readonly logGroup: LogGroup;
  readonly eventSourceMapping: EventSourceMapping;
  readonly metrics: ConsumerMetrics;
  readonly alarms: ConsumerAlarms;
  readonly dashboard: ConsumerDashboard;
  /** The outbox table, relay function and relay DLQ; undefined without the `outbox` prop. */
  readonly outbox: TransactionalOutbox | undefined;
  /**
   * Absolute path of the bundled handler (`index.mjs`) inside the cloud assembly, for tests that run the very
   * artifact that would be deployed. Undefined when bundling was skipped for this stack.
   */
  readonly bundledHandlerFile: string | undefined;

  constructor(scope: Construct, id: string, props: ExactlyOnceConsumerProps) {
    super(scope, id);
    this.settings = resolveConsumerSettings(props);
    const project = findHandlerProject(props);
    const violations = [
      ...('violations' in project ? project.violations : []),
      // Only when this stack is bundled (cdk synth/deploy of it): `cdk deploy OtherStack` need not have esbuild.
      ...(Stack.of(this).bundlingRequired ? esbuildViolations() : []),
      ...findPropsViolations({
        existingQueue: props.existingQueue !== undefined,
        existingTable: props.existingTable !== undefined,
        createdQueueProps: givenNames({
          fifo: props.fifo,
          retentionPeriod: props.retentionPeriod,
          deliveryDelay: props.deliveryDelay,
          maxReceiveCount: props.maxReceiveCount,
        }),
        createdTableProps: givenNames({ claimsTableRemovalPolicy: props.claimsTableRemovalPolicy }),
        existingTableKey: props.existingTable instanceof Table ? describeKey(props.existingTable) : undefined,
      }),
      ...findTimingViolations(this.settings),
      ...findOutboxViolations(
        props.outbox === undefined
          ? undefined
          : {
              targetCount: props.outbox.targets.length,
              relayBatchSize: props.outbox.relayBatchSize ?? OUTBOX_DEFAULTS.relayBatchSize,
              relayRetryAttempts: props.outbox.relayRetryAttempts ?? OUTBOX_DEFAULTS.relayRetryAttempts,
            },
      ),
    ];
    // Checked before anything is created, so a bad configuration fails fast and never reaches the bundler.
    if (violations.length > 0 || 'violations' in project) {
      throw new ConsumerConfigurationError(this.node.path, violations);
    }

    const queues = props.existingQueue
      ? existingQueues(props.existingQueue)
      : this.createQueues(this.settings);
    this.queue = queues.queue;
    this.deadLetterQueue = queues.deadLetterQueue;

    if (props.existingTable) {
      this.table = props.existingTable;
      this.claimsTable = undefined;
    } else {
      this.claimsTable = new ClaimsTable(this, 'Claims', {
        removalPolicy: props.claimsTableRemovalPolicy ?? CONSUMER_DEFAULTS.claimsTableRemovalPolicy,
      });
      this.table = this.claimsTable.table;
    }

    this.outbox =
      props.outbox === undefined
        ? undefined
        : new TransactionalOutbox(this, 'Outbox', {
            serviceName: this.settings.serviceName,
            ...props.outbox,
          });

    this.logGroup = createFunctionLogGroup(this, 'LogGroup');
    this.role = createFunctionRole(
      this,
      'Role',
      this.logGroup,
      'Onceflow consumer: claims-table writes, DLQ parking, visibility changes, its own log group.',
    );
    this.function = createBundledFunction(this, 'Function', {
      ...project,
      role: this.role,
      logGroup: this.logGroup,
      timeout: this.settings.functionTimeout,
      memorySize: this.settings.memorySize,
      bundling: props.bundling,
      environment: {
        ...props.environment,
        ...toConsumerEnvironment({
          claimsTableName: this.table.tableName,
          sourceQueueUrl: this.queue.queueUrl,
          deadLetterQueueUrl: this.deadLetterQueue.queueUrl,
          mode: this.settings.mode,
          leaseMs: this.settings.leaseDuration.toMilliseconds(),
          dedupWindowSeconds: this.settings.dedupWindow.toSeconds(),
          outboxTableName: this.outbox?.table.tableName,
          serviceName: this.settings.serviceName,
        }),
      },
    });

    // Exactly what the runtime calls; TransactWriteItems is authorized per item action, so UpdateItem covers it.
    // DescribeTable: the runtime checks the table once per container, so a wrong one fails with its name.
    this.table.grant(this.role, 'dynamodb:UpdateItem', 'dynamodb:DescribeTable');
    this.deadLetterQueue.grant(this.role, 'sqs:SendMessage');
    this.queue.grant(this.role, 'sqs:ChangeMessageVisibility');
    // What the event source mapping itself needs: receive, delete, attributes.
    this.queue.grantConsumeMessages(this.role);
    // ctx.outbox.send stages a Put in the commit transaction; the relay, not the consumer, reads and deletes.
    this.outbox?.table.grant(this.role, 'dynamodb:PutItem');

    this.eventSourceMapping = new EventSourceMapping(this, 'EventSourceMapping', {
      target: this.function,
      eventSourceArn: this.queue.queueArn,
      batchSize: this.settings.batchSize,
      maxBatchingWindow: this.settings.maxBatchingWindow,
      maxConcurrency: this.settings.maxConcurrency,
      reportBatchItemFailures: true,
    });

    const thresholds = resolveAlarmThresholds(props.alarmThresholds);
    this.metrics = new ConsumerMetrics({
      queue: this.queue,
      deadLetterQueue: this.deadLetterQueue,
      function: this.function,
      table: this.table,
      serviceName: this.settings.serviceName,
      period: thresholds.period,
      outbox: this.outbox,
    });
    this.alarms = new ConsumerAlarms(this, 'Alarms', {
      metrics: this.metrics,
      thresholds,
      alarmTopic: props.alarmTopic,
    });
    this.dashboard = new ConsumerDashboard(this, 'Dashboard', { metrics: this.metrics });
    this.bundledHandlerFile = bundledHandlerFile(this.function);
  }

  private createQueues(settings: ExactlyOnceConsumerSettings): { queue: Queue; deadLetterQueue: Queue } {
    const fifo = settings.fifo ? true : undefined;
    const deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      fifo,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: DEAD_LETTER_QUEUE_RETENTION_PERIOD,
    });
    const queue = new Queue(this, 'Queue', {
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
}

/**
 * Merges defaults, then user props, then the attributes of an existing queue, then derives what depends on them.
 * The local stack (`npm start`) derives its queues and lease from this too, so both agree on one definition.
 */
export function resolveConsumerSettings(props: ExactlyOnceConsumerProps): ExactlyOnceConsumerSettings {
  const d = CONSUMER_DEFAULTS;
  const functionTimeout = props.functionTimeout ?? d.functionTimeout;
  const clockSkewMargin = props.clockSkewMargin ?? CLOCK_SKEW_MARGIN;
  const leaseDuration = props.leaseDuration ?? defaultLeaseDuration(functionTimeout, clockSkewMargin);
  const common = {
    mode: props.mode ?? d.mode,
    memorySize: props.memorySize ?? d.memorySize,
    serviceName: props.serviceName ?? d.serviceName,
    functionTimeout,
    clockSkewMargin,
    leaseDuration,
    dedupWindow: props.dedupWindow ?? d.dedupWindow,
    producerRetryHorizon: props.producerRetryHorizon ?? d.producerRetryHorizon,
    batchSize: props.batchSize ?? d.batchSize,
    maxBatchingWindow: props.maxBatchingWindow,
    maxConcurrency: props.maxConcurrency ?? d.maxConcurrency,
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

function existingQueues(queue: Queue): { queue: IQueue; deadLetterQueue: IQueue } {
  // The invariants already refused a queue without a dead-letter queue; this keeps the compiler honest.
  const redrive = queue.deadLetterQueue;
  if (redrive === undefined) throw new Error('existingQueue has no dead-letter queue.');
  return { queue, deadLetterQueue: redrive.queue };
}

/** A table's key as `name (type)` per attribute, sort keys marked, to compare with what the runtime writes. */
function describeKey(table: Table): string {
  const { partitionKeys, sortKeys } = table.schemaV2();
  const attribute = (key: Attribute) => `${key.name} (${key.type})`;
  return [...partitionKeys.map(attribute), ...sortKeys.map((key) => `sort key ${attribute(key)}`)].join(', ');
}

/** The names of the props that were given, for the "not with existingX" rules. */
function givenNames(values: Readonly<Record<string, unknown>>): string[] {
  return Object.entries(values)
    .filter(([, value]) => value !== undefined)
    .map(([name]) => name);
}
