import { Duration, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import { type Attribute, type ITable, Table } from 'aws-cdk-lib/aws-dynamodb';
import type { IGrantable, Role } from 'aws-cdk-lib/aws-iam';
import { EventSourceMapping } from 'aws-cdk-lib/aws-lambda';
import type { BundlingOptions, NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { LogGroup } from 'aws-cdk-lib/aws-logs';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { toConsumerEnvironment } from '../lambda/contract/index.js';
import {
  bundledHandlerFile,
  createBundledFunction,
  createFunctionLogGroup,
  createFunctionRole,
} from './bundled-function.js';
import { ClaimsTable } from './claims-table.js';
import { ConsumerAlarms, type ConsumerAlarmThresholds } from './consumer-alarms.js';
import { ConsumerDashboard } from './consumer-dashboard.js';
import {
  findLargePayloadViolations,
  findModeViolations,
  findOutboxViolations,
  findPropsViolations,
  findTimingViolations,
  requiredChunkLifetime,
} from './consumer-invariants.js';
import { ConsumerMetrics } from './consumer-metrics.js';
import { createConsumerQueues, existingQueues } from './consumer-queues.js';
import {
  type ConsumerSettingsInput,
  type ExactlyOnceConsumerSettings,
  resolveConsumerSettings,
} from './consumer-settings.js';
import { ConsumerConfigurationError, OnceflowConstructError } from './errors.js';
import { ALARM_DEFAULTS, CONSUMER_DEFAULTS, OUTBOX_DEFAULTS } from './exactly-once-consumer-defaults.js';
import { esbuildViolations, findHandlerProject, type HandlerProject } from './handler-project.js';
import { LARGE_PAYLOAD_DEFAULTS, type LargePayloadsProps, PayloadBucket } from './payload-bucket.js';
import { type OutboxProps, TransactionalOutbox } from './transactional-outbox.js';

/** The IAM description of the consumer's role: what it may do, for whoever reads the role in the console. */
const ROLE_DESCRIPTION =
  'Onceflow consumer: claims-table reads and writes, DLQ parking, visibility changes, its own log group.';

/** The props of `ExactlyOnceConsumer`; the timing, queue and runtime settings come from `ConsumerSettingsInput`. */
export interface ExactlyOnceConsumerProps extends ConsumerSettingsInput {
  /**
   * The handler entry file (TypeScript or JavaScript). It must export `handler`, the Onceflow SQS batch handler.
   * A relative path is read from the current working directory (where `cdk` runs: your app's root).
   */
  readonly entry: string;
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
  /**
   * An S3 bucket for payloads too large for SQS (`OnceflowProducer` `largePayloads`): encrypted, TLS only, public
   * access blocked, chunks expired by a lifecycle rule checked against the dedup window and both retentions. The
   * consumer may read it; grant producers with `grantSendLargePayloads`. Adds the `PayloadErrors` alarm.
   * @default - no bucket
   */
  readonly largePayloads?: LargePayloadsProps;
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
  /** The bucket of large payloads' chunks; undefined without the `largePayloads` prop. */
  readonly payloadBucket: PayloadBucket | undefined;
  /**
   * Absolute path of the bundled handler (`index.mjs`) inside the cloud assembly, for tests that run the very
   * artifact that would be deployed. Undefined when bundling was skipped for this stack.
   */
  readonly bundledHandlerFile: string | undefined;

  constructor(scope: Construct, id: string, props: ExactlyOnceConsumerProps) {
    super(scope, id);
    this.settings = resolveConsumerSettings(props);
    const project = checkedHandlerProject(this, props, this.settings);
    const queues = props.existingQueue
      ? existingQueues(props.existingQueue)
      : createConsumerQueues(this, this.settings);
    this.queue = queues.queue;
    this.deadLetterQueue = queues.deadLetterQueue;
    const claims = claimsTableOf(this, props);
    this.table = claims.table;
    this.claimsTable = claims.claimsTable;
    this.outbox =
      props.outbox === undefined
        ? undefined
        : new TransactionalOutbox(this, 'Outbox', {
            serviceName: this.settings.serviceName,
            ...props.outbox,
          });

    this.payloadBucket =
      props.largePayloads === undefined
        ? undefined
        : new PayloadBucket(this, 'Payloads', {
            chunkExpiration: chunkExpirationOf(this.settings, props.largePayloads),
            removalPolicy: props.largePayloads.removalPolicy ?? LARGE_PAYLOAD_DEFAULTS.removalPolicy,
          });

    this.logGroup = createFunctionLogGroup(this, 'LogGroup');
    this.role = createFunctionRole(this, 'Role', this.logGroup, ROLE_DESCRIPTION);
    this.function = createBundledFunction(this, 'Function', {
      ...project,
      role: this.role,
      logGroup: this.logGroup,
      timeout: this.settings.functionTimeout,
      memorySize: this.settings.memorySize,
      bundling: props.bundling,
      environment: { ...props.environment, ...runtimeEnvironment(this) },
    });
    grantConsumerRuntime(this);
    this.payloadBucket?.grantReadChunks(this.role);
    this.eventSourceMapping = new EventSourceMapping(this, 'EventSourceMapping', {
      target: this.function,
      eventSourceArn: this.queue.queueArn,
      batchSize: this.settings.batchSize,
      maxBatchingWindow: this.settings.maxBatchingWindow,
      maxConcurrency: this.settings.maxConcurrency,
      provisionedPollerConfig: this.settings.provisionedPollers,
      reportBatchItemFailures: true,
    });

    this.metrics = new ConsumerMetrics({
      queue: this.queue,
      deadLetterQueue: this.deadLetterQueue,
      function: this.function,
      table: this.table,
      serviceName: this.settings.serviceName,
      // The one threshold the metrics carry; the alarms resolve the others.
      period: props.alarmThresholds?.period ?? ALARM_DEFAULTS.period,
      outbox: this.outbox,
    });
    this.alarms = new ConsumerAlarms(this, 'Alarms', {
      metrics: this.metrics,
      largePayloads: this.payloadBucket !== undefined,
      thresholds: props.alarmThresholds,
      alarmTopic: props.alarmTopic,
    });
    this.dashboard = new ConsumerDashboard(this, 'Dashboard', { metrics: this.metrics });
    this.bundledHandlerFile = bundledHandlerFile(this.function);
  }

  /**
   * Lets a producer send large payloads to this consumer: `sqs:SendMessage` on the queue, and checking and putting
   * chunks in the payload bucket. Throws without the `largePayloads` prop.
   *
   * @example
   * consumer.grantSendLargePayloads(producerFunction);
   * producerFunction.addEnvironment('PAYLOAD_BUCKET', consumer.payloadBucket!.bucket.bucketName);
   */
  grantSendLargePayloads(grantee: IGrantable): void {
    if (this.payloadBucket === undefined) {
      throw new OnceflowConstructError(
        `ExactlyOnceConsumer ${this.node.path} has no payload bucket: set the largePayloads prop.`,
      );
    }
    this.queue.grantSendMessages(grantee);
    this.payloadBucket.grantWriteChunks(grantee);
  }
}

/** The bucket's expiration: as given, or the lifetime a chunk needs, rounded up to whole days. */
function chunkExpirationOf(settings: ExactlyOnceConsumerSettings, props: LargePayloadsProps): Duration {
  if (props.chunkExpiration !== undefined) return props.chunkExpiration;
  const needed = requiredChunkLifetime(
    settings,
    props.chunkReuseMaxAge ?? LARGE_PAYLOAD_DEFAULTS.chunkReuseMaxAge,
  );
  return Duration.days(Math.ceil(needed.toHours({ integral: false }) / 24));
}

/** The claims table to use: `existingTable`, or a `ClaimsTable` created in `scope`. */
function claimsTableOf(
  scope: Construct,
  props: ExactlyOnceConsumerProps,
): { table: ITable; claimsTable: ClaimsTable | undefined } {
  if (props.existingTable) return { table: props.existingTable, claimsTable: undefined };
  const claimsTable = new ClaimsTable(scope, 'Claims', {
    removalPolicy: props.claimsTableRemovalPolicy ?? CONSUMER_DEFAULTS.claimsTableRemovalPolicy,
  });
  return { table: claimsTable.table, claimsTable };
}

/**
 * The handler project, once every prop and setting is checked. Checked before anything is created, so a bad
 * configuration fails fast and never reaches the bundler; every problem is thrown at once.
 */
function checkedHandlerProject(
  consumer: Construct,
  props: ExactlyOnceConsumerProps,
  settings: ExactlyOnceConsumerSettings,
): HandlerProject {
  const project = findHandlerProject(props);
  const violations = [
    ...('violations' in project ? project.violations : []),
    // Only when this stack is bundled (cdk synth/deploy of it): `cdk deploy OtherStack` need not have esbuild.
    ...(Stack.of(consumer).bundlingRequired ? esbuildViolations() : []),
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
    ...findTimingViolations(settings),
    ...findModeViolations(settings),
    ...findLargePayloadViolations(
      settings,
      props.largePayloads === undefined
        ? undefined
        : {
            chunkExpiration: chunkExpirationOf(settings, props.largePayloads),
            chunkReuseMaxAge: props.largePayloads.chunkReuseMaxAge ?? LARGE_PAYLOAD_DEFAULTS.chunkReuseMaxAge,
          },
    ),
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
  if (violations.length > 0 || 'violations' in project) {
    throw new ConsumerConfigurationError(consumer.node.path, violations);
  }
  return project;
}

/** What the runtime reads from its environment: where its table and queues are, and how it claims. */
function runtimeEnvironment(
  consumer: Pick<ExactlyOnceConsumer, 'settings' | 'table' | 'queue' | 'deadLetterQueue' | 'outbox'>,
): Record<string, string> {
  const { settings } = consumer;
  return toConsumerEnvironment({
    claimsTableName: consumer.table.tableName,
    sourceQueueUrl: consumer.queue.queueUrl,
    deadLetterQueueUrl: consumer.deadLetterQueue.queueUrl,
    mode: settings.mode,
    readBeforeClaim: settings.readBeforeClaim,
    leaseMs: settings.leaseDuration.toMilliseconds(),
    dedupWindowSeconds: settings.dedupWindow.toSeconds(),
    outboxTableName: consumer.outbox?.table.tableName,
    serviceName: settings.serviceName,
    maxReceiveCount: settings.deadLetterQueue?.maxReceiveCount,
    visibilityTimeoutSeconds: settings.visibilityTimeout.toSeconds(),
  });
}

/** Grants the consumer's role exactly what the runtime and the event source mapping call, nothing more. */
function grantConsumerRuntime(
  consumer: Pick<ExactlyOnceConsumer, 'role' | 'table' | 'queue' | 'deadLetterQueue' | 'outbox'>,
): void {
  const { role } = consumer;
  // Exactly what the runtime calls; TransactWriteItems is authorized per item action, so UpdateItem covers it.
  // DescribeTable: the runtime checks the table once per container, so a wrong one fails with its name.
  // BatchGetItem: the read of a batch's DONE records before its claims (lease) or its commit (optimistic).
  consumer.table.grant(role, 'dynamodb:UpdateItem', 'dynamodb:BatchGetItem', 'dynamodb:DescribeTable');
  consumer.deadLetterQueue.grant(role, 'sqs:SendMessage');
  consumer.queue.grant(role, 'sqs:ChangeMessageVisibility');
  // What the event source mapping itself needs: receive, delete, attributes.
  consumer.queue.grantConsumeMessages(role);
  // ctx.outbox.send stages a Put in the commit transaction; the relay, not the consumer, reads and deletes.
  consumer.outbox?.table.grant(role, 'dynamodb:PutItem');
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
