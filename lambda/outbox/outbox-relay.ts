import type { Logger } from '@aws-lambda-powertools/logger';
import { SendMessageBatchCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
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

type StreamEntry = { readonly record: DynamoDBRecord; readonly item: OutboxItem | undefined };
type SendResult = 'sent' | 'parked' | 'failed';
type SendAnswer =
  | { readonly kind: 'sent' }
  | { readonly kind: 'refused'; readonly reason: string }
  | { readonly kind: 'failed'; readonly error: string };

/** SendMessageBatch takes 10 entries at most; their bodies are kept under 256 KiB together (SQS's oldest limit). */
const MAX_BATCH_ENTRIES = 10;
const MAX_BATCH_BODY_BYTES = 256 * 1024;

/** Splits one target's entries into SendMessageBatch requests within those limits; a larger body goes alone. */
function packBatches<Entry extends { readonly body: string }>(entries: readonly Entry[]): Entry[][] {
  const batches: Entry[][] = [];
  let current: Entry[] = [];
  let bytes = 0;
  for (const entry of entries) {
    const size = Buffer.byteLength(entry.body);
    if (current.length === MAX_BATCH_ENTRIES || (current.length > 0 && bytes + size > MAX_BATCH_BODY_BYTES)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(entry);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
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
    const bySource = new Map<string, StreamEntry[]>();
    for (const record of event.Records) {
      if (record.eventName !== 'INSERT') continue; // our own deletes, and TTL expiry
      const item = readItem(record);
      const key = item?.sourceMessageId ?? `unreadable:${record.dynamodb?.SequenceNumber ?? ''}`;
      bySource.set(key, [...(bySource.get(key) ?? []), { record, item }]);
    }
    // Each source's items in index order, one per round: item n+1 is sent only once item n is acknowledged.
    const waiting = [...bySource.values()].map((entries) =>
      entries.sort((a, b) => (a.item?.index ?? 0) - (b.item?.index ?? 0)),
    );
    let parked = 0;
    const sent: { record: DynamoDBRecord; item: OutboxItem }[] = [];
    const failedSequenceNumbers: string[] = [];
    while (waiting.some((entries) => entries.length > 0)) {
      const sources = waiting.filter((entries) => entries.length > 0);
      const heads = sources.map((entries) => entries.shift() as StreamEntry);
      const results = await this.sendRound(heads);
      heads.forEach(({ record, item }, index) => {
        const result = results[index];
        if (result === 'sent' && item !== undefined) sent.push({ record, item });
        if (result === 'parked') parked += 1;
        if (result === 'failed') {
          // Later items of this source wait for it: their order is part of the contract.
          failedSequenceNumbers.push(record.dynamodb?.SequenceNumber ?? '');
          sources[index]?.splice(0);
        }
      });
    }
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

  /**
   * Sends one item of each source, grouped by target queue into SendMessageBatch requests (one request per outbox
   * item was most of the relay's cost). An unreadable item, or one SQS refuses for good, is parked.
   */
  private async sendRound(entries: readonly StreamEntry[]): Promise<SendResult[]> {
    const limit = pLimit(this.options.concurrency ?? 10);
    const byTarget = new Map<
      string,
      { index: number; record: DynamoDBRecord; item: OutboxItem; body: string }[]
    >();
    // Every entry is either parked below or sent in one of the batches.
    const results: Promise<SendResult>[] = [];
    entries.forEach(({ record, item }, index) => {
      if (item === undefined) {
        const reason = 'the outbox item is not readable (missing target, payload or keys)';
        results[index] = limit(() => this.park(record, undefined, reason));
        return;
      }
      const body = toWireBody({
        messageId: outboxMessageId(item.sourceMessageId, item.index),
        timestamp: item.timestamp,
        payload: item.payload,
      });
      byTarget.set(item.target, [...(byTarget.get(item.target) ?? []), { index, record, item, body }]);
    });
    for (const batch of [...byTarget.values()].flatMap((pending) => packBatches(pending))) {
      const answers = limit(() => this.sendBatch(batch));
      batch.forEach(({ index, record, item }, position) => {
        results[index] = answers.then((answer) => this.settle(record, item, answer[position]));
      });
    }
    return Promise.all(results);
  }

  /** One SendMessageBatch to one target queue: each entry sent, refused for good (with why), or failed for now. */
  private async sendBatch(batch: readonly { item: OutboxItem; body: string }[]): Promise<SendAnswer[]> {
    const target = batch[0]?.item.target ?? '';
    try {
      const { Failed = [] } = await this.options.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: target,
          Entries: batch.map(({ item, body }, position) => ({
            Id: String(position),
            MessageBody: body,
            ...(target.endsWith('.fifo')
              ? {
                  MessageGroupId: item.sourceMessageId,
                  MessageDeduplicationId: outboxMessageId(item.sourceMessageId, item.index),
                }
              : {}),
          })),
        }),
      );
      const failures = new Map(Failed.map((failure) => [failure.Id, failure]));
      return batch.map((_, position) => {
        const failure = failures.get(String(position));
        if (failure === undefined) return { kind: 'sent' };
        const code = failure.Code ?? 'Error';
        // SenderFault: the entry itself is wrong (too large, bad characters); sending it again changes nothing.
        return PERMANENT_SEND_ERRORS.has(code) || failure.SenderFault === true
          ? {
              kind: 'refused',
              reason: `${code}: cannot send to ${target}${failure.Message ? ` (${failure.Message})` : ''}`,
            }
          : { kind: 'failed', error: code };
      });
    } catch (error) {
      const name = error instanceof Error ? error.name : 'Error';
      return batch.map(() =>
        PERMANENT_SEND_ERRORS.has(name)
          ? { kind: 'refused', reason: `${name}: cannot send to ${target}` }
          : { kind: 'failed', error: name },
      );
    }
  }

  /** What one entry came to: sent, parked when SQS refused it for good, or failed (the stream hands it back). */
  private async settle(
    record: DynamoDBRecord,
    item: OutboxItem,
    answer: SendAnswer | undefined,
  ): Promise<SendResult> {
    if (answer?.kind === 'sent') return 'sent';
    if (answer?.kind === 'refused') return this.park(record, item, answer.reason);
    this.options.logger.warn('Outbox send failed; the stream will hand it to us again', {
      messageId: outboxMessageId(item.sourceMessageId, item.index),
      error: answer?.kind === 'failed' ? answer.error : 'no answer for this entry',
    });
    return 'failed';
  }

  /**
   * Deleting is the "delivered" mark. Returns the messageIds whose mark failed: they are sent again later, and the
   * downstream deduplicates.
   */
  private async markDelivered(items: readonly OutboxItem[]): Promise<Set<string>> {
    const unmarked = new Set<string>();
    const chunks = Array.from({ length: Math.ceil(items.length / 25) }, (_, i) =>
      items.slice(i * 25, i * 25 + 25),
    );
    // The chunks at once: each waits on the database, not on the others.
    await Promise.all(
      chunks.map(async (chunk) => {
        for (const item of await this.deleteItems(chunk)) {
          unmarked.add(outboxMessageId(item.sourceMessageId, item.index));
        }
      }),
    );
    return unmarked;
  }

  /** One BatchWriteItem of up to 25 deletes, with up to 3 attempts for what it leaves unprocessed; returns the rest. */
  private async deleteItems(items: readonly OutboxItem[]): Promise<readonly OutboxItem[]> {
    let pending = items;
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
    return pending;
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
