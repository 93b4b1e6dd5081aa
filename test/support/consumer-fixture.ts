import { Logger } from '@aws-lambda-powertools/logger';
import { ChangeMessageVisibilityCommand, SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createQueuePair, EventSourcePoller, type PollResult, type QueuePair } from 'onceflow/testing';
import { auditLedger, type LedgerTables, ledgerHandler, type SentPayment } from '../../lambda/app/ledger.js';
import { EmfMetrics } from '../../lambda/aws/emf-metrics.js';
import {
  type BatchReport,
  type ExactlyOnceHandler,
  type ExactlyOnceOptions,
  exactlyOnce,
  type MessageHandler,
  toWireBody,
} from '../../lambda/index.js';
import { PARK_ATTRIBUTE } from '../../lambda/sqs/dead-letter-queue.js';
import { createLedgerTables } from '../../local/stack/tables.js';
import {
  drainVisible,
  localDocumentClient,
  localSqs,
  localSqsSettings,
  newClaimsTable,
  uniqueName,
} from './local-aws.js';

export interface ConsumerFixture {
  readonly dynamoDb: DynamoDBDocumentClient;
  readonly sqs: SQSClient;
  readonly claimsTable: string;
  readonly tables: LedgerTables;
  readonly queues: QueuePair;
  /** A new consumer: a fresh container (its own cache), sharing the tables and queues. */
  consumer(
    options?: Partial<ExactlyOnceOptions> & { handler?: MessageHandler },
  ): ReturnType<typeof exactlyOnce>;
  send(payments: readonly (Partial<SentPayment> & { body?: string; groupId?: string })[]): Promise<void>;
  /** One poll as the Lambda event source mapping does it: receive, invoke, delete the acknowledged records. */
  poll(consumer: Pick<ExactlyOnceHandler, 'processBatch'>): Promise<PollResult<BatchReport>>;
  /** Receives what is visible (up to 10) as the Lambda event would carry it, invoking nothing. */
  receive(): Promise<SQSEvent>;
  /** Makes these records visible again now, as if their visibility timeout (or a deferral) had passed. */
  expire(event: SQSEvent): Promise<void>;
  /** The DLQ's messages: messageId (when the body had one), reason and error type. */
  parked(): Promise<{ body: string; messageId: string | undefined; reason: string; errorType: string }[]>;
  audit(sent: readonly SentPayment[], parked?: ReadonlySet<string>): ReturnType<typeof auditLedger>;
}

export const FIXTURE_LEASE_MS = 10_000;

export const silentLogger = () => new Logger({ logLevel: 'SILENT' });

/** Claims table, ledger tables, a source queue and DLQ on the real local services, all freshly named. */
export async function consumerFixture(options: { fifo?: boolean; dynamoDb?: DynamoDBDocumentClient } = {}) {
  const dynamoDb = options.dynamoDb ?? localDocumentClient();
  const sqs = localSqs();
  const claimsTable = await newClaimsTable(dynamoDb);
  const tables: LedgerTables = {
    accountsTableName: uniqueName('accounts'),
    entriesTableName: uniqueName('entries'),
  };
  await createLedgerTables(dynamoDb, tables);
  const queues = await createQueuePair(sqs, uniqueName('ledger'), { fifo: options.fifo ?? false });

  const poller = <R extends SQSBatchResponse>(handler: (event: SQSEvent) => Promise<R>) =>
    new EventSourcePoller({
      sqs,
      queueUrl: queues.queueUrl,
      queueArn: queues.queueArn,
      handler,
      waitTimeSeconds: 0,
    });
  const fixture: ConsumerFixture = {
    dynamoDb,
    sqs,
    claimsTable,
    tables,
    queues,
    consumer: ({ handler, ...overrides } = {}) =>
      exactlyOnce(handler ?? ledgerHandler(tables), {
        tableName: claimsTable,
        dynamoDb,
        sqs: localSqsSettings(),
        deadLetterQueueUrl: queues.deadLetterQueueUrl,
        sourceQueueUrl: queues.queueUrl,
        // Short enough that tests moving an injected clock reach expiry in one step.
        leaseMs: FIXTURE_LEASE_MS,
        logger: silentLogger(),
        metrics: new EmfMetrics({
          namespace: 'OnceflowTest',
          serviceName: 'onceflow',
          write: () => undefined,
        }),
        ...overrides,
      }),
    async send(payments) {
      for (let start = 0; start < payments.length; start += 10) {
        const entries = payments.slice(start, start + 10).map((payment, index) => ({
          Id: String(index),
          MessageBody:
            payment.body ??
            toWireBody({
              messageId: payment.messageId ?? uniqueName('m'),
              timestamp: Date.now(),
              payload: { accountId: payment.accountId, amountCents: payment.amountCents },
            }),
          ...(payment.groupId === undefined
            ? {}
            : { MessageGroupId: payment.groupId, MessageDeduplicationId: uniqueName('d') }),
        }));
        const { Failed } = await sqs.send(
          new SendMessageBatchCommand({ QueueUrl: queues.queueUrl, Entries: entries }),
        );
        if (Failed !== undefined && Failed.length > 0)
          throw new Error(`send failed: ${JSON.stringify(Failed)}`);
      }
    },
    poll: (consumer) => poller(consumer.processBatch).pollOnce(),
    receive: () => poller(async () => ({ batchItemFailures: [] })).receive(),
    async expire(event) {
      await Promise.all(
        event.Records.map(
          (record) =>
            sqs
              .send(
                new ChangeMessageVisibilityCommand({
                  QueueUrl: queues.queueUrl,
                  ReceiptHandle: record.receiptHandle,
                  VisibilityTimeout: 0,
                }),
              )
              .catch(() => undefined), // already deleted: nothing to expire
        ),
      );
    },
    async parked() {
      const messages = await drainVisible(sqs, queues.deadLetterQueueUrl);
      return messages.map((message) => {
        let messageId: string | undefined;
        try {
          const parsed: unknown = JSON.parse(message.Body ?? '');
          if (parsed !== null && typeof parsed === 'object' && 'messageId' in parsed) {
            messageId = typeof parsed.messageId === 'string' ? parsed.messageId : undefined;
          }
        } catch {
          messageId = undefined;
        }
        return {
          body: message.Body ?? '',
          messageId,
          reason: message.MessageAttributes?.[PARK_ATTRIBUTE.reason]?.StringValue ?? '',
          errorType: message.MessageAttributes?.[PARK_ATTRIBUTE.errorType]?.StringValue ?? '',
        };
      });
    },
    audit: (sent, parked) => auditLedger(dynamoDb, tables, sent, parked),
  };
  return fixture;
}

/** n payments on a few accounts, with fresh messageIds. */
export function payments(n: number, accounts = 3): SentPayment[] {
  return Array.from({ length: n }, (_, i) => ({
    messageId: uniqueName('m'),
    accountId: `acct-${i % accounts}`,
    amountCents: 100 + i,
  }));
}
