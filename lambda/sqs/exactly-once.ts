import { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { defaultDocumentClient } from '../aws/clients.js';
import { EmfMetrics } from '../aws/emf-metrics.js';
import { checkRequestSettings } from '../aws/signed-requests.js';
import { SignedSqs, type SqsSettings } from '../aws/signed-sqs.js';
import {
  type ConsumerEnvironment,
  DEFAULT_SERVICE_NAME,
  ENVIRONMENT,
  type EnvironmentVariables,
  isReadBeforeClaim,
  METRICS_NAMESPACE,
  type ProcessingMode,
  type ReadBeforeClaim,
  RUNTIME_DEFAULTS,
  readConsumerEnvironment,
} from '../contract/index.js';
import { ClaimStore } from '../core/claim-store.js';
import { checkClaimsTable } from '../core/claims-table-check.js';
import { ConfigurationError } from '../core/errors.js';
import type { PayloadMismatchAction } from './batch-dependencies.js';
import { BatchProcessor } from './batch-processor.js';
import { DeadLetterQueue } from './dead-letter-queue.js';
import { createDoneCache } from './done-cache.js';
import type { BatchReport, MessageHandler, MetricsSink } from './handler-contract.js';
import type { MessageSource } from './message-source.js';
import { type LargePayloadReadOptions, PayloadResolver } from './payload-resolver.js';
import { type StandardSchemaV1, validatingHandler } from './payload-schema.js';
import { queueUrlFromArn, SourceQueue } from './source-queue.js';

/**
 * Options of `exactlyOnce`. Deployed with `ExactlyOnceConsumer`, leave the table, queues, mode, lease and window
 * out: the construct sets them in the environment, and an option given here overrides what it set.
 */
export interface ExactlyOnceOptions {
  /** The claims table. Overrides what the construct set. @default process.env.ONCEFLOW_CLAIMS_TABLE (required one way or the other) */
  readonly tableName?: string;
  /** 'lease' claims before the handler runs (safe for external side effects); 'optimistic' claims at commit. @default process.env.ONCEFLOW_MODE ?? 'lease' */
  readonly mode?: ProcessingMode;
  /**
   * When to read the batch's DONE records (one eventually consistent BatchGetItem, half a read unit per id) before
   * claiming, so a known duplicate makes no claim (lease: a refused claim costs 1 WRU; optimistic: it cancels the
   * batch's whole transaction) and runs no handler. 'auto' reads while more than 10% (lease) or 0.5% (optimistic) of
   * the deliveries this container recently read, claimed or committed were duplicates already DONE, where the read
   * costs less than what it saves; 'always' reads every batch; 'never' (lease mode only) claims straight away.
   * @default process.env.ONCEFLOW_READ_BEFORE_CLAIM ?? 'auto'
   */
  readonly readBeforeClaim?: ReadBeforeClaim;
  /** @default process.env.ONCEFLOW_LEASE_MS ?? 60_000 */
  readonly leaseMs?: number;
  /** @default process.env.ONCEFLOW_DEDUP_WINDOW_SECONDS ?? 1_296_000 (15 days) */
  readonly dedupWindowSeconds?: number;
  /**
   * Receives before SQS moves a message to the DLQ by itself. On the last one the runtime parks a message it would
   * return, with the last error as the reason. @default process.env.ONCEFLOW_MAX_RECEIVE_COUNT (unset: SQS redrives it, with no reason)
   */
  readonly maxReceiveCount?: number;
  /** The source queue's visibility timeout, so extending a lease never shortens it. @default process.env.ONCEFLOW_VISIBILITY_TIMEOUT_SECONDS */
  readonly visibilityTimeoutSeconds?: number;
  /** Where permanent failures are parked. @default process.env.ONCEFLOW_DLQ_URL */
  readonly deadLetterQueueUrl?: string;
  /** For visibility changes. @default process.env.ONCEFLOW_SOURCE_QUEUE_URL, else derived from the record's eventSourceARN */
  readonly sourceQueueUrl?: string;
  /** The transactional outbox table for ctx.outbox. @default process.env.ONCEFLOW_OUTBOX_TABLE */
  readonly outboxTableName?: string;
  /** @default a client for the Lambda's region */
  readonly dynamoDb?: DynamoDBDocumentClient;
  /**
   * Region, endpoint and credentials for the runtime's SQS calls (parking in the DLQ, visibility changes), made
   * without the SQS client. @default as the AWS SDK's SQS client would find them (AWS_REGION,
   * AWS_ENDPOINT_URL_SQS, the function's role)
   */
  readonly sqs?: SqsSettings;
  /** Epoch milliseconds. @default Date.now */
  readonly clock?: () => number;
  /** Records of one batch processed at once. @default 10 */
  readonly concurrency?: number;
  /** DONE messageIds remembered per container. @default 10_000 */
  readonly doneCacheSize?: number;
  /** @default a Powertools Logger with service POWERTOOLS_SERVICE_NAME ?? 'onceflow' */
  readonly logger?: Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;
  /**
   * @default EMF lines on stdout in namespace 'Onceflow', dimension `service` (what Powertools Metrics writes);
   * a Powertools `Metrics` fits here too
   */
  readonly metrics?: MetricsSink;
  /**
   * Extends each running handler's lease by one lease every third of a lease (lease mode), and the record's SQS
   * visibility with it, so long work (encoding, large uploads) keeps its claim; `ctx.signal` fires if an extension
   * is refused. Outside Lambda nothing else bounds a handler that never returns. @default false
   */
  readonly heartbeat?: boolean;
  /** Where unset settings are read from. @default process.env */
  readonly environment?: EnvironmentVariables;
  /**
   * Where each record's messageId, timestamp and payload come from: `MessageSources.jsonBody`, `.sns`,
   * `.eventBridge`, `.custom`. A record the source cannot read is parked with the reason.
   * @default MessageSources.onceflow(), the wire format `{ messageId, timestamp, payload }`
   */
  readonly source?: MessageSource;
  /**
   * A Standard Schema (zod, valibot, arktype...) the payload must pass before the handler runs; the handler gets
   * its output, typed. A payload that fails is parked as PayloadValidationError with the schema's issues.
   * @default - none: the payload type is the caller's claim, unchecked
   */
  readonly schema?: StandardSchemaV1;
  /**
   * A messageId delivered again with another payload (SHA-256 of its canonical JSON, kept on the claim record):
   * 'park' parks it as PayloadMismatch with both fingerprints; 'count' treats it as a duplicate and only logs it.
   * Both add to the PayloadMismatch metric. @default 'park'
   */
  readonly payloadMismatch?: PayloadMismatchAction;
  /**
   * Keep the handler's return value (JSON, at most MAX_STORED_RESULT_BYTES) on the DONE record; every later
   * duplicate's outcome carries it as `result`. A larger value parks the message as StoredResultError. Duplicates
   * then read the claim record instead of the container's cache. @default false
   */
  readonly storeResult?: boolean;
  /** Payloads the producer sent as a manifest (its `largePayloads`). @default read and verified before the handler runs */
  readonly largePayloads?: LargePayloadReadOptions;
}

/** The Lambda handler `exactlyOnce` returns; `processBatch` also tells each record's outcome. */
export type ExactlyOnceHandler<Payload = unknown> = ((
  event: SQSEvent,
  context?: Context,
) => Promise<SQSBatchResponse>) & {
  processBatch(event: SQSEvent, context?: Context): Promise<BatchReport>;
  /** The wrapped message handler and its options, so a test kit can run the same handler elsewhere. */
  readonly messageHandler: MessageHandler<Payload>;
  readonly options: ExactlyOnceOptions;
};

/** The settings in force once options, the environment and the defaults are merged. */
export interface ConsumerConfiguration extends Omit<ConsumerEnvironment, 'claimsTableName'> {
  readonly tableName: string;
  /** Where the table name came from, for error messages. */
  readonly tableNameSource: string;
  readonly concurrency: number;
  readonly doneCacheSize: number;
  readonly heartbeat: boolean;
  readonly readBeforeClaim: ReadBeforeClaim;
}

/**
 * Wraps a message handler into an SQS Lambda handler that applies each messageId exactly once. Writes staged on
 * `ctx.tx` commit atomically with the DONE record; a `PermanentError` parks the message in the DLQ; any other
 * error returns it to the queue. The configuration is read and the claims table checked once per container, at
 * the first invocation; a wrong setting fails that invocation with a message naming the setting.
 *
 * @example
 * export const handler = exactlyOnce<Order>(async (message, ctx) => {
 *   ctx.tx.put({ TableName: process.env.ORDERS_TABLE, Item: { orderId: message.messageId, ...message.payload } });
 * });
 */
export function exactlyOnce<Schema extends StandardSchemaV1>(
  handler: MessageHandler<StandardSchemaV1.InferOutput<Schema>>,
  options: ExactlyOnceOptions & { readonly schema: Schema },
): ExactlyOnceHandler<StandardSchemaV1.InferOutput<Schema>>;
export function exactlyOnce<Payload = unknown>(
  handler: MessageHandler<Payload>,
  options?: ExactlyOnceOptions,
): ExactlyOnceHandler<Payload>;
export function exactlyOnce<Payload = unknown>(
  handler: MessageHandler<Payload>,
  options: ExactlyOnceOptions = {},
): ExactlyOnceHandler<Payload> {
  // Without a schema the payload type is the caller's claim about its producers, unchecked on the wire.
  const checked =
    options.schema === undefined
      ? (handler as MessageHandler)
      : validatingHandler(options.schema, handler as MessageHandler);
  let processor: Promise<BatchProcessor> | undefined;
  const processBatch = async (event: SQSEvent, context?: Context): Promise<BatchReport> => {
    processor ??= startProcessor(checked, options).catch((error: unknown) => {
      processor = undefined;
      throw error;
    });
    return (await processor).process(event, context);
  };
  const lambdaHandler = async (event: SQSEvent, context?: Context): Promise<SQSBatchResponse> => {
    const { batchItemFailures } = await processBatch(event, context);
    return { batchItemFailures };
  };
  return Object.assign(lambdaHandler, { processBatch, messageHandler: handler, options });
}

/** Merges options over the environment over the defaults; throws a ConfigurationError naming what is wrong. */
export function resolveConfiguration(
  options: ExactlyOnceOptions,
  env: EnvironmentVariables = options.environment ?? process.env,
): ConsumerConfiguration {
  const fromEnv = readConsumerEnvironment(env);
  const tableName = options.tableName ?? fromEnv.claimsTableName;
  if (tableName === undefined || tableName === '') {
    throw new ConfigurationError(
      `exactlyOnce: no claims table. Deploy with ExactlyOnceConsumer (it sets ${ENVIRONMENT.claimsTableName}), set ${ENVIRONMENT.claimsTableName}, or pass options.tableName.`,
    );
  }
  const mode = options.mode ?? fromEnv.mode ?? RUNTIME_DEFAULTS.mode;
  return {
    tableName,
    tableNameSource: options.tableName === undefined ? ENVIRONMENT.claimsTableName : 'options.tableName',
    mode,
    readBeforeClaim: resolveReadBeforeClaim(options.readBeforeClaim, fromEnv.readBeforeClaim, mode),
    leaseMs: options.leaseMs ?? fromEnv.leaseMs ?? RUNTIME_DEFAULTS.leaseMs,
    dedupWindowSeconds:
      options.dedupWindowSeconds ?? fromEnv.dedupWindowSeconds ?? RUNTIME_DEFAULTS.dedupWindowSeconds,
    deadLetterQueueUrl: options.deadLetterQueueUrl ?? fromEnv.deadLetterQueueUrl,
    sourceQueueUrl: options.sourceQueueUrl ?? fromEnv.sourceQueueUrl,
    outboxTableName: options.outboxTableName ?? fromEnv.outboxTableName,
    maxReceiveCount: options.maxReceiveCount ?? fromEnv.maxReceiveCount,
    visibilityTimeoutSeconds: options.visibilityTimeoutSeconds ?? fromEnv.visibilityTimeoutSeconds,
    serviceName: fromEnv.serviceName ?? DEFAULT_SERVICE_NAME,
    concurrency: options.concurrency ?? RUNTIME_DEFAULTS.concurrency,
    doneCacheSize: options.doneCacheSize ?? RUNTIME_DEFAULTS.doneCacheSize,
    heartbeat: options.heartbeat ?? false,
  };
}

/** The read-before-claim setting in force; a value optimistic mode cannot honour is a ConfigurationError. */
function resolveReadBeforeClaim(
  option: unknown,
  fromEnv: ReadBeforeClaim | undefined,
  mode: ProcessingMode,
): ReadBeforeClaim {
  // Checked here too: a JavaScript caller's option reaches the runtime unchecked by the compiler.
  if (option !== undefined && !isReadBeforeClaim(option)) {
    throw new ConfigurationError(
      `options.readBeforeClaim must be 'auto', 'always' or 'never', not '${String(option)}'.`,
    );
  }
  const setting = option ?? fromEnv ?? RUNTIME_DEFAULTS.readBeforeClaim;
  if (mode === 'optimistic' && setting === 'never') {
    const source = option === undefined ? ENVIRONMENT.readBeforeClaim : 'options.readBeforeClaim';
    throw new ConfigurationError(
      `${source} is 'never', but optimistic mode must read the batch when duplicates come (one it missed cancels its whole batch's transaction); leave it unset or use lease mode.`,
    );
  }
  return setting;
}

async function startProcessor(handler: MessageHandler, options: ExactlyOnceOptions): Promise<BatchProcessor> {
  const env = options.environment ?? process.env;
  const config = resolveConfiguration(options, env);
  const sqs = new SignedSqs(checkRequestSettings(options.sqs, 'options.sqs', 'sqs'));
  const logger = options.logger ?? new Logger({ serviceName: config.serviceName });
  const overridden = env[ENVIRONMENT.claimsTableName];
  if (options.tableName !== undefined && overridden !== undefined && overridden !== options.tableName) {
    logger.warn(
      `options.tableName '${options.tableName}' overrides ${ENVIRONMENT.claimsTableName} '${overridden}'; leave the option out to use the table the construct created.`,
    );
  }
  const dynamoDb = options.dynamoDb ?? defaultDocumentClient();
  await checkClaimsTable(dynamoDb, config.tableName, config.tableNameSource);
  const clock = options.clock ?? Date.now;
  const metrics =
    options.metrics ?? new EmfMetrics({ namespace: METRICS_NAMESPACE, serviceName: config.serviceName });
  return new BatchProcessor({
    store: new ClaimStore({
      tableName: config.tableName,
      dynamoDb,
      clock,
      leaseMs: config.leaseMs,
      dedupWindowSeconds: config.dedupWindowSeconds,
    }),
    handler,
    mode: config.mode,
    readBeforeClaim: config.readBeforeClaim,
    deadLetters:
      config.deadLetterQueueUrl === undefined
        ? undefined
        : new DeadLetterQueue(sqs, config.deadLetterQueueUrl),
    sourceQueue: new SourceQueue(
      sqs,
      config.sourceQueueUrl ?? ((record: SQSRecord) => queueUrlFromArn(record.eventSourceARN)),
    ),
    doneCache: createDoneCache(config.doneCacheSize),
    logger,
    metrics,
    concurrency: config.concurrency,
    heartbeat: config.heartbeat,
    maxReceiveCount: config.maxReceiveCount,
    visibilityTimeoutSeconds: config.visibilityTimeoutSeconds,
    clock,
    outboxTableName: config.outboxTableName,
    source: options.source,
    payloadMismatch: options.payloadMismatch,
    storeResult: options.storeResult,
    payloads: new PayloadResolver(options.largePayloads ?? {}, metrics),
  });
}
