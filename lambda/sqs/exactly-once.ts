import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { LRUCache } from 'lru-cache';
import { ClaimStore } from '../core/claim-store.js';
import { RUNTIME_DEFAULTS } from '../core/defaults.js';
import { ConfigurationError } from '../core/errors.js';
import {
  DEFAULT_SERVICE_NAME,
  defaultSqsClientConfig,
  ENVIRONMENT,
  METRICS_NAMESPACE,
} from '../runtime-contract.js';
import {
  BatchProcessor,
  type BatchReport,
  type MessageHandler,
  type ProcessingMode,
} from './batch-processor.js';
import { DeadLetterQueue } from './dead-letter-queue.js';
import { queueUrlFromArn, SourceQueue } from './source-queue.js';

export interface ExactlyOnceOptions {
  /** The claims table. @default process.env.ONCEFLOW_CLAIMS_TABLE (required one way or the other) */
  readonly tableName?: string;
  /** 'lease' claims before the handler runs (safe for external side effects); 'optimistic' claims at commit. @default process.env.ONCEFLOW_MODE ?? 'lease' */
  readonly mode?: ProcessingMode;
  /** @default process.env.ONCEFLOW_LEASE_MS ?? 60_000 */
  readonly leaseMs?: number;
  /** @default process.env.ONCEFLOW_DEDUP_WINDOW_SECONDS ?? 604_800 (7 days) */
  readonly dedupWindowSeconds?: number;
  /** Where permanent failures are parked. @default process.env.ONCEFLOW_DLQ_URL */
  readonly deadLetterQueueUrl?: string;
  /** For visibility changes. @default process.env.ONCEFLOW_SOURCE_QUEUE_URL, else derived from the record's eventSourceARN */
  readonly sourceQueueUrl?: string;
  /** The transactional outbox table for ctx.outbox. @default process.env.ONCEFLOW_OUTBOX_TABLE */
  readonly outboxTableName?: string;
  /** @default a client for the Lambda's region */
  readonly dynamoDb?: DynamoDBDocumentClient;
  /** @default a client for the Lambda's region */
  readonly sqs?: SQSClient;
  /** Epoch milliseconds. @default Date.now */
  readonly clock?: () => number;
  /** Records of one batch processed at once. @default 10 */
  readonly concurrency?: number;
  /** DONE messageIds remembered per container. @default 10_000 */
  readonly doneCacheSize?: number;
  /** @default a Powertools Logger with service POWERTOOLS_SERVICE_NAME ?? 'onceflow' */
  readonly logger?: Logger;
  /** @default Powertools Metrics in namespace 'Onceflow' */
  readonly metrics?: Metrics;
}

/** The Lambda handler `exactlyOnce` returns; `processBatch` also tells each record's outcome. */
export type ExactlyOnceHandler = ((event: SQSEvent, context?: Context) => Promise<SQSBatchResponse>) & {
  processBatch(event: SQSEvent, context?: Context): Promise<BatchReport>;
};

/**
 * Wraps a message handler into an SQS Lambda handler that applies each messageId exactly once. Writes staged on
 * `ctx.tx` commit atomically with the DONE record; a `PermanentError` parks the message in the DLQ; any other
 * error returns it to the queue. Clients are built once per container, on the first invocation.
 *
 * @example
 * export const handler = exactlyOnce(async (message, ctx) => {
 *   ctx.tx.put({ TableName: 'orders', Item: { orderId: message.messageId, ...message.payload } });
 * }, { tableName: 'claims' });
 */
export function exactlyOnce<Payload = unknown>(
  handler: MessageHandler<Payload>,
  options: ExactlyOnceOptions = {},
): ExactlyOnceHandler {
  let processor: BatchProcessor | undefined;
  const processBatch = (event: SQSEvent, context?: Context): Promise<BatchReport> => {
    // The payload type is the caller's claim about its producers, unchecked on the wire: validate it in the handler.
    processor ??= buildProcessor(handler as MessageHandler, options);
    return processor.process(event, context);
  };
  const lambdaHandler = async (event: SQSEvent, context?: Context): Promise<SQSBatchResponse> => {
    const { batchItemFailures } = await processBatch(event, context);
    return { batchItemFailures };
  };
  return Object.assign(lambdaHandler, { processBatch });
}

function buildProcessor(handler: MessageHandler, options: ExactlyOnceOptions): BatchProcessor {
  const env = process.env;
  const tableName = options.tableName ?? env[ENVIRONMENT.claimsTableName];
  if (tableName === undefined || tableName === '') {
    throw new ConfigurationError(
      `exactlyOnce: no claims table. Pass options.tableName or set ${ENVIRONMENT.claimsTableName}.`,
    );
  }
  const mode = options.mode ?? parseMode(env[ENVIRONMENT.mode]);
  const sqs = options.sqs ?? new SQSClient(defaultSqsClientConfig());
  const dynamoDb =
    options.dynamoDb ??
    DynamoDBDocumentClient.from(new DynamoDBClient({}), { marshallOptions: { removeUndefinedValues: true } });
  const clock = options.clock ?? Date.now;
  const deadLetterQueueUrl = options.deadLetterQueueUrl ?? env[ENVIRONMENT.deadLetterQueueUrl];
  const sourceQueueUrl = options.sourceQueueUrl ?? env[ENVIRONMENT.sourceQueueUrl];
  const serviceName = env.POWERTOOLS_SERVICE_NAME ?? DEFAULT_SERVICE_NAME;
  return new BatchProcessor({
    store: new ClaimStore({
      tableName,
      dynamoDb,
      clock,
      leaseMs: options.leaseMs ?? parseNumber(ENVIRONMENT.leaseMs) ?? RUNTIME_DEFAULTS.leaseMs,
      dedupWindowSeconds:
        options.dedupWindowSeconds ??
        parseNumber(ENVIRONMENT.dedupWindowSeconds) ??
        RUNTIME_DEFAULTS.dedupWindowSeconds,
    }),
    handler,
    mode,
    deadLetters: deadLetterQueueUrl === undefined ? undefined : new DeadLetterQueue(sqs, deadLetterQueueUrl),
    sourceQueue: new SourceQueue(
      sqs,
      sourceQueueUrl ?? ((record: SQSRecord) => queueUrlFromArn(record.eventSourceARN)),
    ),
    doneCache: new LRUCache<string, true>({ max: options.doneCacheSize ?? RUNTIME_DEFAULTS.doneCacheSize }),
    logger: options.logger ?? new Logger({ serviceName }),
    metrics: options.metrics ?? new Metrics({ namespace: METRICS_NAMESPACE, serviceName }),
    concurrency: options.concurrency ?? RUNTIME_DEFAULTS.concurrency,
    clock,
    outboxTableName: options.outboxTableName ?? env[ENVIRONMENT.outboxTableName],
  });
}

function parseMode(value: string | undefined): ProcessingMode {
  if (value === undefined || value === '') return RUNTIME_DEFAULTS.mode;
  if (value === 'lease' || value === 'optimistic') return value;
  throw new ConfigurationError(`${ENVIRONMENT.mode} must be 'lease' or 'optimistic', not '${value}'.`);
}

function parseNumber(variable: string): number | undefined {
  const value = process.env[variable];
  if (value === undefined || value === '') return undefined;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0) {
    throw new ConfigurationError(`${variable} must be a positive number, not '${value}'.`);
  }
  return parsed;
}
