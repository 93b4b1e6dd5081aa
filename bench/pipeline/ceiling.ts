import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { SendMessageBatchCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SQSRecord } from 'aws-lambda';
import { EmfMetrics, exactlyOnce, OutboxRelay } from 'onceflow';
import { LOCAL_AWS_CONFIG, sqsRecord } from 'onceflow/testing';
import { ledgerHandler } from '../../lambda/app/ledger.js';
import { notificationsHandler } from '../../lambda/app/notifications.js';
import { planMessages } from '../../local/pipeline/plan.js';
import { resolveSettings } from '../../local/pipeline/run.js';
import { startLocalStack } from '../../local/stack/local-stack.js';
import { StreamPoller } from '../../local/stack/stream-poller.js';
import { seededRandom } from '../../local/support/random.js';
import { sleep } from '../../local/support/stats.js';
import { offlineSqs } from '../handler-level/containers.js';

/** What DynamoDB Local did with the pipeline's own work, driven from one process. */
export interface CeilingMeasurement {
  readonly payments: number;
  /** Unique payments through both stages per second, first ledger batch to the last notification. */
  readonly paymentsPerSecond: number;
  readonly elapsedMs: number;
}

export interface CeilingOptions {
  readonly messages: number;
  readonly mode: 'lease' | 'optimistic';
  /** Batches in flight per stage, as the pipeline's servers each poll one. @default 4 */
  readonly lanes?: number;
  /** DynamoDB Local's JVM options. @default what `npm start` uses */
  readonly jvmOptions?: readonly string[];
}

/** SQS takes at most 10 messages a batch, and so does the pipeline's event source. */
const BATCH_SIZE = 10;

/**
 * The local pipeline's ceiling: DynamoDB Local (started as `npm start` starts it, same tables) doing exactly the
 * DynamoDB work of a pipeline run with faults off — the ledger's claims and grouped commits with their outbox items,
 * the relay's stream reads and deletes, the notifications' optimistic commits — for the same planned payments
 * (30% re-sent), driven from this one process by the deployed handlers themselves. No SQS: batches are built
 * in memory, the relay's sends are captured, and a record handed back is delivered again at once. What the pipeline
 * adds on top (the SQS emulator, its requests, separate processes) is what `npm start` loses against this figure.
 */
export async function measureCeiling(options: CeilingOptions): Promise<CeilingMeasurement> {
  const lanes = options.lanes ?? 4;
  const settings = resolveSettings({ messages: options.messages, malformed: 0, mode: options.mode });
  const plan = planMessages(settings, seededRandom(settings.seed));
  const stack = await startLocalStack({ prefix: 'onceflow-ceiling', dynamoDbJvmOptions: options.jvmOptions });
  const pollers: StreamPoller[] = [];
  try {
    const client = new DynamoDBClient({ ...LOCAL_AWS_CONFIG, endpoint: stack.dynamoDbEndpoint });
    const dynamoDb = DynamoDBDocumentClient.from(client, {
      marshallOptions: { removeUndefinedValues: true },
    });
    const notificationsQueue = new InMemoryQueue();
    const sqs = capturingSqs(stack.notificationsQueues.queueUrl, notificationsQueue);
    const quiet = {
      logger: new Logger({ logLevel: 'SILENT' }),
      metrics: new EmfMetrics({ namespace: 'Ceiling', serviceName: 'onceflow', write: () => undefined }),
    };
    const common = {
      dynamoDb,
      // The consumers' own SQS calls (a visibility change, a park) answered in-process, like the queues here.
      sqs: offlineSqs(),
      tableName: stack.claimsTableName,
      leaseMs: stack.leaseMs,
      dedupWindowSeconds: stack.dedupWindowSeconds,
      environment: {},
      ...quiet,
    };
    const ledger = exactlyOnce(
      ledgerHandler(stack.ledgerTables, { notificationsQueueUrl: stack.notificationsQueues.queueUrl }),
      { ...common, mode: options.mode, outboxTableName: stack.outboxTableName },
    );
    const notifications = exactlyOnce(notificationsHandler(stack.notificationsTableName), {
      ...common,
      mode: 'optimistic',
    });
    const relay = new OutboxRelay({
      sqs,
      dynamoDb,
      tableName: stack.outboxTableName,
      deadLetterQueueUrl: stack.relayDeadLetterQueueUrl,
      logger: quiet.logger,
    });
    pollers.push(
      new StreamPoller({
        streams: new DynamoDBStreamsClient({ ...LOCAL_AWS_CONFIG, endpoint: stack.dynamoDbEndpoint }),
        dynamoDb: client,
        tableName: stack.outboxTableName,
        handler: (event) => relay.process(event),
      }),
    );

    const ledgerQueue = new InMemoryQueue();
    // The re-sends arrive among the next few hundred messages, as they do at the pipeline's rates.
    const random = seededRandom(settings.seed + 1);
    const deliveries: SQSRecord[] = [];
    const later: { at: number; record: SQSRecord }[] = [];
    plan.sends.forEach((send, index) => {
      if ('rawBody' in send.message) return;
      const message = { ...send.message, messageId: send.message.messageId ?? '' };
      deliveries.push(sqsRecord(message));
      if (send.resendAfterMs !== undefined)
        later.push({ at: index + Math.floor(random() * 300), record: sqsRecord(message) });
      for (const due of later.filter((each) => each.at === index)) deliveries.push(due.record);
    });
    for (const due of later.filter((each) => each.at >= plan.sends.length)) deliveries.push(due.record);
    ledgerQueue.push(...deliveries);

    const notified = new Set<string>();
    const startedMs = Date.now();
    for (const poller of pollers) poller.start();
    const consume = async (
      queue: InMemoryQueue,
      processBatch: typeof ledger.processBatch,
      onProcessed: (messageIds: string[]) => void,
    ) => {
      while (notified.size < plan.unique.length) {
        const records = queue.take(BATCH_SIZE);
        if (records.length === 0) {
          await sleep(5);
          continue;
        }
        const report = await processBatch({ Records: records });
        const failed = new Set(report.batchItemFailures.map((failure) => failure.itemIdentifier));
        queue.push(...records.filter((record) => failed.has(record.messageId)));
        onProcessed(
          report.outcomes.flatMap((outcome) =>
            outcome.kind === 'Processed' && outcome.messageId !== undefined ? [outcome.messageId] : [],
          ),
        );
      }
    };
    await Promise.all(
      Array.from({ length: lanes }, () => [
        consume(ledgerQueue, ledger.processBatch, () => undefined),
        consume(notificationsQueue, notifications.processBatch, (ids) => {
          for (const id of ids) notified.add(id);
        }),
      ]).flat(),
    );
    const elapsedMs = Date.now() - startedMs;
    return {
      payments: plan.unique.length,
      paymentsPerSecond: Math.round((plan.unique.length / elapsedMs) * 1000),
      elapsedMs,
    };
  } finally {
    await Promise.all(pollers.map((poller) => poller.stop()));
    await stack.stop();
  }
}

/** A queue in memory: what the relay sends to the notifications queue, and the ledger's deliveries. */
class InMemoryQueue {
  private readonly records: SQSRecord[] = [];

  push(...records: SQSRecord[]): void {
    this.records.push(...records);
  }

  take(count: number): SQSRecord[] {
    return this.records.splice(0, count);
  }
}

/**
 * An SQS client that never leaves the process: sends to the notifications queue land in `queue` as records; any
 * other call (a visibility change for a record in flight elsewhere) is answered at once.
 */
function capturingSqs(notificationsQueueUrl: string, queue: InMemoryQueue): SQSClient {
  const sqs = new SQSClient({ ...LOCAL_AWS_CONFIG, endpoint: 'http://127.0.0.1:9' });
  sqs.middlewareStack.add(
    (_next, context) => async (args) => {
      const input = args.input as Record<string, unknown>;
      const bodies =
        context.commandName === SendMessageCommand.name
          ? [input.MessageBody]
          : context.commandName === SendMessageBatchCommand.name
            ? ((input.Entries as { MessageBody?: string }[] | undefined) ?? []).map(
                (entry) => entry.MessageBody,
              )
            : [];
      if (input.QueueUrl === notificationsQueueUrl) {
        queue.push(...bodies.map((body) => sqsRecord({ body: String(body) })));
      }
      const entries = (input.Entries as { Id: string }[] | undefined) ?? [];
      return {
        output: { $metadata: {}, Successful: entries.map((entry) => ({ Id: entry.Id })), Failed: [] },
        response: {},
      } as never;
    },
    { step: 'initialize', name: 'ceilingInMemorySqs' },
  );
  return sqs;
}
