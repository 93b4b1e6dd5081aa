import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
} from '@aws-sdk/client-sqs';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { PARK_ATTRIBUTE } from 'onceflow';
import type { SentPayment } from '../../lambda/app/ledger.js';
import type { LocalStack } from '../stack/local-stack.js';
import { sleep } from '../support/stats.js';

const DRAIN_TIMEOUT_MS = 10 * 60_000;

/**
 * Done when both queues and the outbox have held nothing, visible or in flight, for a few checks in a row, and no
 * process is `busy` (a frozen zombie still holds a message).
 */
export async function waitUntilDrained(
  stack: LocalStack,
  fleet: { busy(): boolean },
  signal: AbortSignal | undefined,
): Promise<void> {
  const deadline = Date.now() + DRAIN_TIMEOUT_MS;
  let emptyChecks = 0;
  while (emptyChecks < 3) {
    if (signal?.aborted === true) throw new Error('Stopped.');
    if (Date.now() > deadline) throw new Error('The queues and the outbox did not drain within 10 minutes.');
    await sleep(500);
    const left =
      (await messagesLeft(stack, stack.queues.queueUrl)) +
      (await messagesLeft(stack, stack.notificationsQueues.queueUrl)) +
      (await outboxItemsLeft(stack));
    emptyChecks = left === 0 && !fleet.busy() ? emptyChecks + 1 : 0;
  }
}

export async function messagesLeft(stack: LocalStack, queueUrl: string): Promise<number> {
  const { Attributes = {} } = await stack.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: [
        'ApproximateNumberOfMessages',
        'ApproximateNumberOfMessagesNotVisible',
        'ApproximateNumberOfMessagesDelayed',
      ],
    }),
  );
  return (
    Number(Attributes.ApproximateNumberOfMessages ?? 0) +
    Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0) +
    Number(Attributes.ApproximateNumberOfMessagesDelayed ?? 0)
  );
}

/** Outbox items not yet delivered (the relay deletes what it delivered). */
export async function outboxItemsLeft(stack: LocalStack): Promise<number> {
  const { Count } = await stack.dynamoDb.send(
    new ScanCommand({ TableName: stack.outboxTableName, Select: 'COUNT', ConsistentRead: true }),
  );
  return Count ?? 0;
}

export interface DeadLetters {
  /** The messageIds the parked bodies carry. */
  readonly messageIds: ReadonlySet<string>;
  /** Parked messages that are not one of the valid payments: the malformed ones. */
  withoutValidPayment(valid: readonly SentPayment[]): number;
}

/** Everything parked in the DLQ: the messageIds it carries, and how many bodies had no valid payment. */
export async function drainDeadLetters(stack: LocalStack): Promise<DeadLetters> {
  const bodies = await receiveAllParked(stack);
  const messageIds = new Set<string>();
  for (const body of bodies) {
    const id = messageIdOf(body);
    if (id !== undefined) messageIds.add(id);
  }
  return {
    messageIds,
    withoutValidPayment: (valid) => {
      const validIds = new Set(valid.map((p) => p.messageId));
      return bodies.filter((body) => {
        const id = messageIdOf(body);
        return id === undefined || !validIds.has(id);
      }).length;
    },
  };
}

/** Receives and deletes until the DLQ is empty; one body per parked source message. */
async function receiveAllParked(stack: LocalStack): Promise<string[]> {
  // Parking is at least once: a server killed after its DLQ send and before its SQS delete parks the same SQS
  // message again. Each parked message is counted once, by the source SQS message id it carries.
  const parked = new Map<string, string>();
  for (;;) {
    const { Messages = [] } = await stack.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: stack.queues.deadLetterQueueUrl,
        MaxNumberOfMessages: 10,
        MessageAttributeNames: ['All'],
      }),
    );
    if (Messages.length === 0) break;
    for (const message of Messages) {
      const body = message.Body ?? '';
      const source = message.MessageAttributes?.[PARK_ATTRIBUTE.sourceMessageId]?.StringValue;
      parked.set(source ?? `${message.MessageId ?? ''}:${body}`, body);
    }
    await stack.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: stack.queues.deadLetterQueueUrl,
        Entries: Messages.map((m, index) => ({ Id: String(index), ReceiptHandle: m.ReceiptHandle })),
      }),
    );
  }
  return [...parked.values()];
}

function messageIdOf(body: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(body);
    if (parsed !== null && typeof parsed === 'object' && 'messageId' in parsed) {
      return typeof parsed.messageId === 'string' ? parsed.messageId : undefined;
    }
  } catch {
    return undefined;
  }
  return undefined;
}
