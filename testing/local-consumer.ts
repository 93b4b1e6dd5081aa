import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { type DynamoDBDocumentClient, GetCommand, paginateScan } from '@aws-sdk/lib-dynamodb';
import {
  CLAIMS_TABLE,
  OUTBOX_TABLE,
  type ProcessingMode,
  QUEUE_DEFAULTS,
  RUNTIME_DEFAULTS,
  toConsumerEnvironment,
} from '../lambda/contract/index.js';
import { type ClaimRecord, toClaimRecord } from '../lambda/core/claim-record.js';
import { outboxMessageId } from '../lambda/outbox/outbox.js';
import { type ExactlyOnceHandler, exactlyOnce } from '../lambda/sqs/exactly-once.js';
import type { MessageHandler } from '../lambda/sqs/handler-contract.js';
import { withEnvironment } from './environment.js';
import { type LocalMessage, toSendEntry } from './local-message.js';
import { type LocalRunOptions, type LocalRunResult, readParked, runOnQueue } from './local-run.js';
import type { ParkedMessage } from './parked-message.js';
import { createQueuePair, type QueuePair } from './queues.js';
import { createClaimsTable, createOutboxTable } from './tables.js';

/** The clients on the local services, and the variables that point the SDK at them. */
export interface LocalServices {
  readonly dynamoDb: DynamoDBClient;
  readonly documentClient: DynamoDBDocumentClient;
  readonly sqs: SQSClient;
  readonly environment: Readonly<Record<string, string>>;
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

/** Creates what the construct creates for one consumer, from the same definitions, and a way to run a handler. */
export async function createLocalConsumer(
  services: LocalServices,
  options: LocalConsumerOptions,
): Promise<LocalConsumer> {
  consumers += 1;
  const name = `${options.name ?? 'consumer'}-${process.pid}-${consumers}`;
  const claimsTableName = `${name}-claims`;
  const outboxTableName = options.outbox === true ? `${name}-outbox` : undefined;
  const [queues] = await Promise.all([
    createQueuePair(services.sqs, name, {
      fifo: options.fifo ?? false,
      maxReceiveCount: options.maxReceiveCount,
    }),
    createClaimsTable(services.dynamoDb, claimsTableName),
    outboxTableName === undefined ? undefined : createOutboxTable(services.dynamoDb, outboxTableName),
  ]);
  const environment = {
    ...services.environment,
    ...toConsumerEnvironment({
      claimsTableName,
      sourceQueueUrl: queues.queueUrl,
      deadLetterQueueUrl: queues.deadLetterQueueUrl,
      mode: options.mode ?? RUNTIME_DEFAULTS.mode,
      leaseMs: options.leaseMs ?? RUNTIME_DEFAULTS.leaseMs,
      dedupWindowSeconds: RUNTIME_DEFAULTS.dedupWindowSeconds,
      outboxTableName,
      serviceName: name,
      maxReceiveCount: options.maxReceiveCount ?? QUEUE_DEFAULTS.maxReceiveCount,
      visibilityTimeoutSeconds: QUEUE_DEFAULTS.visibilityTimeoutSeconds,
    }),
  };
  const send = (messages: readonly LocalMessage[]) => sendMessages(services.sqs, queues.queueUrl, messages);
  return {
    ...queues,
    claimsTableName,
    environment,
    send,
    async run(handler, messages = [], runOptions = {}) {
      await send(messages);
      const wrapped = 'messageHandler' in handler ? handler : exactlyOnce(handler);
      const { documentClient, sqs } = services;
      return withEnvironment(options.environment ?? {}, () =>
        runOnQueue({
          handler: wrapped,
          modeOverride: options.mode,
          sqs,
          documentClient,
          queues,
          environment,
          ...runOptions,
        }),
      );
    },
    parked: () => readParked(services.sqs, queues.deadLetterQueueUrl),
    claimRecord: (messageId) => readClaimRecord(services.documentClient, claimsTableName, messageId),
    outboxMessages: async () =>
      outboxTableName === undefined ? [] : readOutboxMessages(services.documentClient, outboxTableName),
  };
}

/** Sends messages to a queue ten at a time, as OnceflowProducer encodes them; a refused entry fails the test. */
async function sendMessages(
  sqs: SQSClient,
  queueUrl: string,
  messages: readonly LocalMessage[],
): Promise<void> {
  for (let start = 0; start < messages.length; start += 10) {
    const entries = messages.slice(start, start + 10).map((message, index) => ({
      Id: String(index),
      ...toSendEntry(message),
    }));
    const { Failed } = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
    if (Failed !== undefined && Failed.length > 0) {
      throw new Error(`Sending to ${queueUrl} failed: ${Failed.map((f) => f.Message).join('; ')}`);
    }
  }
}

async function readClaimRecord(
  documentClient: DynamoDBDocumentClient,
  tableName: string,
  messageId: string,
): Promise<ClaimRecord | undefined> {
  const { Item } = await documentClient.send(
    new GetCommand({
      TableName: tableName,
      Key: { [CLAIMS_TABLE.partitionKey.name]: messageId },
      ConsistentRead: true,
    }),
  );
  return Item === undefined ? undefined : toClaimRecord(Item);
}

/** The outbox table's items as the relay would send them, ordered by source message and index. */
async function readOutboxMessages(
  documentClient: DynamoDBDocumentClient,
  tableName: string,
): Promise<OutboxMessage[]> {
  const items: Record<string, unknown>[] = [];
  for await (const page of paginateScan({ client: documentClient }, { TableName: tableName })) {
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
}
