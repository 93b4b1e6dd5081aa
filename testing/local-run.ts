import {
  ChangeMessageVisibilityCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  ACKNOWLEDGED_KINDS,
  type EnvironmentVariables,
  type ProcessingMode,
} from '../lambda/contract/index.js';
import { PARK_ATTRIBUTE } from '../lambda/sqs/dead-letter-queue.js';
import { type ExactlyOnceHandler, type ExactlyOnceOptions, exactlyOnce } from '../lambda/sqs/exactly-once.js';
import type { BatchReport, RecordOutcome } from '../lambda/sqs/handler-contract.js';
import { EventSourcePoller } from './event-source-poller.js';
import type { ParkedMessage } from './parked-message.js';
import { messagesOnQueue, type QueuePair } from './queues.js';
import { settledOutcomes } from './settled.js';

export interface LocalRunOptions {
  /** Give up (and throw, naming what did not settle) after this long. @default 30_000 */
  readonly timeoutMs?: number;
  /** Records per invocation. @default 10, as the construct */
  readonly batchSize?: number;
  /**
   * Where the handler's log lines go. @default collected in `LocalRunResult.logs`, none printed
   */
  readonly logger?: ExactlyOnceOptions['logger'];
}

/** One log line the handler or Onceflow wrote during the run. */
export interface LocalLogLine {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly message: string;
  readonly extra: unknown;
}

export interface LocalRunResult {
  /** Every record of every invocation, in order: a message retried twice appears three times. */
  readonly outcomes: readonly RecordOutcome[];
  /** The outcome that settled each message (see `settledOutcomes`): Processed or Parked if it was, else its last. */
  readonly final: ReadonlyMap<string, RecordOutcome>;
  /** What is on the DLQ after the run (also messages parked before it). */
  readonly parked: readonly ParkedMessage[];
  /** Handler invocations (batches). */
  readonly invocations: number;
  /** Invocations that failed as a whole (a configuration error, say), with their errors. */
  readonly invocationErrors: readonly unknown[];
  readonly logs: readonly LocalLogLine[];
}

/** Polls one consumer's queue, invoking the handler's local twin, until the queue is empty. */
export async function runOnQueue(
  options: LocalRunOptions & {
    readonly handler: ExactlyOnceHandler<never> | ExactlyOnceHandler;
    readonly modeOverride: ProcessingMode | undefined;
    readonly sqs: SQSClient;
    readonly documentClient: DynamoDBDocumentClient;
    readonly queues: QueuePair;
    readonly environment: EnvironmentVariables;
  },
): Promise<LocalRunResult> {
  const logs: LocalLogLine[] = [];
  // Typed loosely on purpose: it stands in for a Powertools Logger, whose methods take many shapes.
  const collect =
    (level: LocalLogLine['level']) =>
    (message: unknown, ...extra: unknown[]) => {
      logs.push({ level, message: String(message), extra: extra[0] });
    };
  // The user's handler with the user's options, on the local clients and this consumer's settings: a new container.
  const twin = exactlyOnce(options.handler.messageHandler as ExactlyOnceHandler['messageHandler'], {
    ...options.handler.options,
    ...(options.modeOverride === undefined ? {} : { mode: options.modeOverride }),
    dynamoDb: options.documentClient,
    sqs: options.sqs,
    environment: options.environment,
    logger: options.logger ?? {
      debug: collect('debug'),
      info: collect('info'),
      warn: collect('warn'),
      error: collect('error'),
    },
    metrics: { addMetric: () => undefined, publishStoredMetrics: () => undefined },
  });
  const { sqs, queues } = options;
  const poller = new EventSourcePoller<BatchReport>({
    sqs,
    queueUrl: queues.queueUrl,
    queueArn: queues.queueArn,
    batchSize: options.batchSize ?? 10,
    waitTimeSeconds: 0,
    handler: (event) => twin.processBatch(event),
  });
  const outcomes: RecordOutcome[] = [];
  const invocationErrors: unknown[] = [];
  let invocations = 0;
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    const poll = await poller.pollOnce();
    if (poll.received > 0) {
      invocations += 1;
      if (poll.handlerError !== undefined) invocationErrors.push(poll.handlerError);
      outcomes.push(...(poll.response?.outcomes ?? []));
      // Retried and zombie-rejected records come back at once; InFlight ones when the other lease ends, as set.
      const again = (poll.response?.outcomes ?? []).filter(
        (outcome) => !ACKNOWLEDGED_KINDS.has(outcome.kind) && outcome.kind !== 'InFlight',
      );
      const handles = new Map(poll.event.Records.map((record) => [record.messageId, record.receiptHandle]));
      const failedWhole =
        poll.handlerError === undefined ? [] : poll.event.Records.map((r) => r.receiptHandle);
      await Promise.all(
        [...again.map((outcome) => handles.get(outcome.sqsMessageId)), ...failedWhole].map((receiptHandle) =>
          receiptHandle === undefined
            ? undefined
            : sqs
                .send(
                  new ChangeMessageVisibilityCommand({
                    QueueUrl: queues.queueUrl,
                    ReceiptHandle: receiptHandle,
                    VisibilityTimeout: 0,
                  }),
                )
                .catch(() => undefined),
        ),
      );
      if (poll.handlerError !== undefined && invocationErrors.length >= 3) break;
      continue;
    }
    if ((await messagesOnQueue(sqs, queues.queueUrl)) === 0) break;
    if (Date.now() > deadline) {
      throw new Error(
        `run: messages still on ${queues.queueUrl} after ${options.timeoutMs ?? 30_000} ms (in flight elsewhere, or retried each time). Last outcomes: ${JSON.stringify(outcomes.slice(-5))}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  if (invocationErrors.length > 0 && outcomes.length === 0) {
    // Every invocation failed before any record settled: the handler cannot run at all. Say why.
    throw invocationErrors[0];
  }
  return {
    outcomes,
    final: settledOutcomes(outcomes),
    parked: await readParked(sqs, queues.deadLetterQueueUrl),
    invocations,
    invocationErrors,
    logs,
  };
}

/** Reads every message on a DLQ with its park attributes, then makes them visible again (nothing consumed). */
export async function readParked(sqs: SQSClient, deadLetterQueueUrl: string): Promise<ParkedMessage[]> {
  const messages: Message[] = [];
  for (;;) {
    const { Messages } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: deadLetterQueueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        MessageAttributeNames: ['All'],
        VisibilityTimeout: 5,
      }),
    );
    if (Messages === undefined || Messages.length === 0) break;
    messages.push(...Messages);
  }
  await Promise.all(
    messages.map((message) =>
      sqs
        .send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: deadLetterQueueUrl,
            ReceiptHandle: message.ReceiptHandle,
            VisibilityTimeout: 0,
          }),
        )
        .catch(() => undefined),
    ),
  );
  return messages.map((message) => ({
    body: message.Body ?? '',
    messageId: messageIdOf(message.Body ?? ''),
    reason: message.MessageAttributes?.[PARK_ATTRIBUTE.reason]?.StringValue ?? '',
    errorType: message.MessageAttributes?.[PARK_ATTRIBUTE.errorType]?.StringValue ?? '',
    sqsMessageId:
      message.MessageAttributes?.[PARK_ATTRIBUTE.sourceMessageId]?.StringValue ?? message.MessageId ?? '',
  }));
}

function messageIdOf(body: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(body);
    if (
      parsed !== null &&
      typeof parsed === 'object' &&
      'messageId' in parsed &&
      typeof parsed.messageId === 'string'
    ) {
      return parsed.messageId;
    }
  } catch {
    // Not JSON: a malformed message has no messageId.
  }
  return undefined;
}
