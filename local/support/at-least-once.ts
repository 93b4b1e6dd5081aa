import { type DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSBatchItemFailure, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { MessageHandler } from 'onceflow';
import { StagedTransaction } from '../../lambda/core/staged-writes.js';
import { Outbox } from '../../lambda/outbox/outbox.js';
import { PayloadResolver } from '../../lambda/sqs/payload-resolver.js';
import { readMessage } from '../../lambda/sqs/wire-format.js';

/**
 * The at-least-once floor, with NO deduplication: runs the handler and applies its staged writes directly, one
 * transaction per record. It exists to measure against (the "raw writes" baseline) and to prove the audit can
 * fail (`npm start` with dedup switched off). Never use it to process real messages.
 */
export function atLeastOnce(
  handler: MessageHandler,
  dynamoDb: DynamoDBDocumentClient,
  options: { readonly outboxTableName?: string } = {},
): (event: SQSEvent) => Promise<SQSBatchResponse> {
  // Large payloads arrive as manifests; read them as exactlyOnce does, or every one would fail forever.
  const payloads = new PayloadResolver(
    {},
    { addMetric: () => undefined, publishStoredMetrics: () => undefined },
  );
  return async (event) => {
    const batchItemFailures: SQSBatchItemFailure[] = [];
    await Promise.all(
      event.Records.map(async (record) => {
        try {
          const message = await payloads.resolve(readMessage(record));
          const tx = new StagedTransaction();
          await handler(message, {
            tx,
            outbox: new Outbox(tx, message.messageId, options.outboxTableName, Date.now(), 86_400),
            fencingToken: 0,
            idempotencyKey: message.messageId,
            attempt: message.receiveCount,
            logger: console,
            lambdaContext: undefined,
            // The baseline has no lease to end or extend: its handlers run to completion, unbounded.
            signal: new AbortController().signal,
            extendLease: async () => undefined,
          });
          if (tx.staged.length > 0) {
            await dynamoDb.send(new TransactWriteCommand({ TransactItems: [...tx.staged] }));
          }
        } catch {
          batchItemFailures.push({ itemIdentifier: record.messageId });
        }
      }),
    );
    return { batchItemFailures };
  };
}
