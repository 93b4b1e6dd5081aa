import type { Logger } from '@aws-lambda-powertools/logger';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import pLimit from 'p-limit';
import { OUTBOX_TABLE } from '../contract/index.js';
import { toWireBody } from '../core/wire-message.js';
import { type OutboxItem, outboxMessageId } from './outbox.js';
import { toSdkImage } from './stream-image.js';

export interface OutboxRelayOptions {
  readonly sqs: SQSClient;
  readonly dynamoDb: DynamoDBDocumentClient;
  /** The outbox table, whose items are deleted once delivered. */
  readonly tableName: string;
  /** Where items that can never be delivered are parked. Without it they are retried until the stream's DLQ. */
  readonly deadLetterQueueUrl: string | undefined;
  readonly logger: Logger;
  /** Source messages relayed at once; the items of one source message always go in order. @default 10 */
  readonly concurrency?: number;
}

export interface RelayReport extends DynamoDBBatchResponse {
  readonly delivered: number;
  readonly parked: number;
}

/** SQS errors that will not pass by retrying the same send. */
const PERMANENT_SEND_ERRORS = new Set([
  'QueueDoesNotExist',
  'AWS.SimpleQueueService.NonExistentQueue',
  'InvalidParameterValue',
  'InvalidMessageContents',
]);

/**
 * Delivers outbox items from the table's stream to their target queues, at least once, as Onceflow messages with
 * messageId `<sourceMessageId>#<index>`, so the downstream consumer drops copies. An item is deleted only after
 * SQS acknowledged its send. The stream position is the checkpoint: a relay that dies between send and delete
 * sends again from there, and the downstream deduplicates.
 *
 * @example
 * const relay = new OutboxRelay({ sqs, dynamoDb, tableName: 'outbox', deadLetterQueueUrl, logger });
 * export const handler = (event) => relay.process(event);
 */
export class OutboxRelay {
  constructor(private readonly options: OutboxRelayOptions) {}

  async process(event: DynamoDBStreamEvent): Promise<RelayReport> {
    const bySource = new Map<string, { record: DynamoDBRecord; item: OutboxItem | undefined }[]>();
    for (const record of event.Records) {
      if (record.eventName !== 'INSERT') continue; // our own deletes, and TTL expiry
      const item = readItem(record);
      const key = item?.sourceMessageId ?? `unreadable:${record.dynamodb?.SequenceNumber ?? ''}`;
      bySource.set(key, [...(bySource.get(key) ?? []), { record, item }]);
    }
    const limit = pLimit(this.options.concurrency ?? 10);
    let parked = 0;
    const sent: { record: DynamoDBRecord; item: OutboxItem }[] = [];
    const failedSequenceNumbers: string[] = [];
    await Promise.all(
      [...bySource.values()].map((entries) =>
        limit(async () => {
          entries.sort((a, b) => (a.item?.index ?? 0) - (b.item?.index ?? 0));
          for (const { record, item } of entries) {
            const result = await this.relay(record, item);
            if (result === 'sent' && item !== undefined) sent.push({ record, item });
            if (result === 'parked') parked += 1;
            if (result === 'failed') {
              // Later items of this source wait for it: their order is part of the contract.
              failedSequenceNumbers.push(record.dynamodb?.SequenceNumber ?? '');
              return;
            }
          }
        }),
      ),
    );
    // Only now, with every send acknowledged, are the items marked delivered (deleted), 25 to a request.
    const unmarked = await this.markDelivered(sent.map((s) => s.item));
    for (const { record, item } of sent) {
      if (unmarked.has(outboxMessageId(item.sourceMessageId, item.index))) {
        failedSequenceNumbers.push(record.dynamodb?.SequenceNumber ?? '');
      }
    }
    const delivered = sent.length - unmarked.size;
    // Lambda resumes from the lowest failed sequence number: the stream position is the checkpoint.
    const lowest = failedSequenceNumbers.sort(compareSequenceNumbers)[0];
    return {
      batchItemFailures: lowest === undefined ? [] : [{ itemIdentifier: lowest }],
      delivered,
      parked,
    };
  }

  private async relay(
    record: DynamoDBRecord,
    item: OutboxItem | undefined,
  ): Promise<'sent' | 'parked' | 'failed'> {
    const { sqs, logger } = this.options;
    if (item === undefined) {
      return this.park(
        record,
        undefined,
        'the outbox item is not readable (missing target, payload or keys)',
      );
    }
    const messageId = outboxMessageId(item.sourceMessageId, item.index);
    try {
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: item.target,
          MessageBody: toWireBody({ messageId, timestamp: item.timestamp, payload: item.payload }),
          ...(item.target.endsWith('.fifo')
            ? { MessageGroupId: item.sourceMessageId, MessageDeduplicationId: messageId }
            : {}),
        }),
      );
    } catch (error) {
      const name = error instanceof Error ? error.name : 'Error';
      if (PERMANENT_SEND_ERRORS.has(name))
        return this.park(record, item, `${name}: cannot send to ${item.target}`);
      logger.warn('Outbox send failed; the stream will hand it to us again', { messageId, error: name });
      return 'failed';
    }
    return 'sent';
  }

  /**
   * Deleting is the "delivered" mark. Returns the messageIds whose mark failed: they are sent again later, and the
   * downstream deduplicates.
   */
  private async markDelivered(items: readonly OutboxItem[]): Promise<Set<string>> {
    const unmarked = new Set<string>();
    for (let start = 0; start < items.length; start += 25) {
      let pending = items.slice(start, start + 25);
      for (let attempt = 0; pending.length > 0 && attempt < 3; attempt++) {
        try {
          const { UnprocessedItems } = await this.options.dynamoDb.send(
            new BatchWriteCommand({
              RequestItems: {
                [this.options.tableName]: pending.map((item) => ({
                  DeleteRequest: {
                    Key: {
                      [OUTBOX_TABLE.partitionKey.name]: item.sourceMessageId,
                      [OUTBOX_TABLE.sortKey.name]: item.index,
                    },
                  },
                })),
              },
            }),
          );
          const left = new Set(
            (UnprocessedItems?.[this.options.tableName] ?? []).map((request) =>
              JSON.stringify(request.DeleteRequest?.Key ?? {}),
            ),
          );
          pending = pending.filter((item) =>
            left.has(
              JSON.stringify({
                [OUTBOX_TABLE.partitionKey.name]: item.sourceMessageId,
                [OUTBOX_TABLE.sortKey.name]: item.index,
              }),
            ),
          );
        } catch (error) {
          this.options.logger.warn('Could not mark outbox items delivered; they will be sent again', {
            count: pending.length,
            error: error instanceof Error ? error.name : String(error),
          });
          break;
        }
      }
      for (const item of pending) unmarked.add(outboxMessageId(item.sourceMessageId, item.index));
    }
    return unmarked;
  }

  private async park(
    record: DynamoDBRecord,
    item: OutboxItem | undefined,
    reason: string,
  ): Promise<'parked' | 'failed'> {
    const { deadLetterQueueUrl, sqs, logger } = this.options;
    if (deadLetterQueueUrl === undefined) {
      logger.error('Undeliverable outbox item and no relay DLQ configured', { reason });
      return 'failed';
    }
    try {
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: deadLetterQueueUrl,
          MessageBody: JSON.stringify({ reason, record: record.dynamodb?.NewImage ?? null }),
          MessageAttributes: { 'onceflow.reason': { DataType: 'String', StringValue: reason } },
        }),
      );
    } catch {
      return 'failed';
    }
    if (item !== undefined && (await this.markDelivered([item])).size > 0) return 'failed';
    logger.warn('Outbox item parked in the relay DLQ', { reason });
    return 'parked';
  }
}

/** Reads the stream record's new image as an outbox item; undefined when it is not one. */
export function readItem(record: DynamoDBRecord): OutboxItem | undefined {
  const image = record.dynamodb?.NewImage;
  if (image === undefined) return undefined;
  const item = unmarshall(toSdkImage(image));
  const { sourceMessageId, index, target, timestamp, createdAtMs, expiresAtEpochSeconds } = item;
  if (typeof sourceMessageId !== 'string' || typeof index !== 'number' || typeof target !== 'string') {
    return undefined;
  }
  return {
    sourceMessageId,
    index,
    target,
    payload: item.payload,
    timestamp: typeof timestamp === 'string' || typeof timestamp === 'number' ? timestamp : Date.now(),
    createdAtMs: typeof createdAtMs === 'number' ? createdAtMs : 0,
    expiresAtEpochSeconds: typeof expiresAtEpochSeconds === 'number' ? expiresAtEpochSeconds : 0,
  };
}

/** Stream sequence numbers are decimal strings of varying length. */
function compareSequenceNumbers(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}
