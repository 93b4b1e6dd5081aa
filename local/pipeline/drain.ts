import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
} from '@aws-sdk/client-sqs';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { PARK_ATTRIBUTE } from 'onceflow';
import type { LocalStack } from '../stack/local-stack.js';
import { sleep } from '../support/stats.js';

/** Draining fails when nothing has moved (queue depth, outbox, reported outcomes) for this long. */
const STALL_TIMEOUT_MS = 5 * 60_000;
/** While draining, the log says what is left this often, and notes any check slower than SLOW_CHECK_MS. */
const PROGRESS_NOTE_INTERVAL_MS = 30_000;
const SLOW_CHECK_MS = 2_000;

/**
 * Done when both queues and the outbox have held nothing, visible or in flight, for a few checks in a row, and no
 * process is `busy` (a frozen zombie still holds a message). Gives up only when nothing moves for 5 minutes, so a
 * long run (a soak) may take as long as it needs.
 */
export async function waitUntilDrained(
  stack: LocalStack,
  fleet: { busy(): boolean; outcomesReported(): number },
  signal: AbortSignal | undefined,
  log: { note(text: string): void },
): Promise<void> {
  let emptyChecks = 0;
  let lastState = '';
  let lastMoveMs = Date.now();
  let lastNoteMs = Date.now();
  while (emptyChecks < 3) {
    if (signal?.aborted === true) throw new Error('Stopped.');
    if (Date.now() - lastMoveMs > STALL_TIMEOUT_MS)
      throw new Error('The queues and the outbox stopped draining: nothing moved for 5 minutes.');
    await sleep(500);
    const checkStartedMs = Date.now();
    const noteDue = Date.now() - lastNoteMs > PROGRESS_NOTE_INTERVAL_MS;
    const left = [
      await messagesLeft(stack, stack.queues.queueUrl),
      await messagesLeft(stack, stack.notificationsQueues.queueUrl),
      // Counting the outbox scans all of it (seconds, once a soak has held 200,000 items); is-it-empty reads one.
      noteDue ? await outboxItemsLeft(stack) : (await outboxEmpty(stack)) ? 0 : 1,
    ];
    const checkMs = Date.now() - checkStartedMs;
    if (checkMs > SLOW_CHECK_MS) log.note(`drain: one check of the queues and the outbox took ${checkMs} ms`);
    if (noteDue) {
      lastNoteMs = Date.now();
      log.note(`drain: left in ledger queue, notifications queue, outbox: ${left.join(', ')}`);
    }
    const state = `${left.join(',')}:${fleet.outcomesReported()}`;
    if (state !== lastState) lastMoveMs = Date.now();
    lastState = state;
    emptyChecks = left.every((n) => n === 0) && !fleet.busy() ? emptyChecks + 1 : 0;
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

/** True when the outbox holds no item: a scan that stops at the first one. */
async function outboxEmpty(stack: LocalStack): Promise<boolean> {
  const { Items = [], LastEvaluatedKey } = await stack.dynamoDb.send(
    new ScanCommand({ TableName: stack.outboxTableName, Limit: 1, ConsistentRead: true }),
  );
  return Items.length === 0 && LastEvaluatedKey === undefined;
}

/** One message found in a DLQ. */
export interface ParkedMessage {
  readonly body: string;
  /** The messageId its body carries, when it is a JSON object with a string `messageId`. */
  readonly messageId: string | undefined;
  /** The `onceflow.reason` attribute; undefined when missing or empty (SQS's own redrive sets none). */
  readonly reason: string | undefined;
}

/**
 * Receives and deletes until the DLQ is empty; one message per parked source message. Parking is at least once:
 * a server killed after its DLQ send and before its SQS delete parks the same SQS message again, so each is counted
 * once, by the source SQS message id it carries.
 */
export async function drainDeadLetters(stack: LocalStack, queueUrl: string): Promise<ParkedMessage[]> {
  const parked = new Map<string, ParkedMessage>();
  for (;;) {
    const { Messages = [] } = await stack.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        MessageAttributeNames: ['All'],
      }),
    );
    if (Messages.length === 0) break;
    for (const message of Messages) {
      const body = message.Body ?? '';
      const attributes = message.MessageAttributes ?? {};
      const source = attributes[PARK_ATTRIBUTE.sourceMessageId]?.StringValue;
      const reason = attributes[PARK_ATTRIBUTE.reason]?.StringValue;
      parked.set(source ?? `${message.MessageId ?? ''}:${body}`, {
        body,
        messageId: messageIdOf(body),
        reason: reason === undefined || reason.trim() === '' ? undefined : reason,
      });
    }
    await stack.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
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
