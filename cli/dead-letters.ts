import {
  ChangeMessageVisibilityBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { PARK_ATTRIBUTE } from '../lambda/index.js';
import type { AwsClients } from './aws.js';

/** A message read from a DLQ, with why it was parked. */
export interface DeadLetter {
  /** The DLQ's own id of this copy. */
  readonly sqsMessageId: string;
  readonly receiptHandle: string;
  readonly body: string;
  /** The Onceflow messageId in the body; undefined for a body without a valid one. */
  readonly messageId: string | undefined;
  /** `onceflow.reason`; undefined when SQS's own redrive moved it (after maxReceiveCount, with no reason). */
  readonly reason: string | undefined;
  readonly errorType: string | undefined;
  /** `onceflow.sourceSqsMessageId`: two copies of one park share it. */
  readonly sourceSqsMessageId: string | undefined;
  /** When it reached the DLQ (epoch ms). */
  readonly parkedAtMs: number | undefined;
  /** FIFO queues: its message group. */
  readonly groupId: string | undefined;
  readonly attributes: Readonly<Record<string, MessageAttributeValue>>;
}

const OURS = new Set<string>(Object.values(PARK_ATTRIBUTE));

export function toDeadLetter(message: Message): DeadLetter {
  const attributes = message.MessageAttributes ?? {};
  const text = (name: string) => attributes[name]?.StringValue;
  const sentTimestamp = Number(message.Attributes?.SentTimestamp);
  return {
    sqsMessageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    messageId: messageIdOf(message.Body ?? ''),
    reason: text(PARK_ATTRIBUTE.reason),
    errorType: text(PARK_ATTRIBUTE.errorType),
    sourceSqsMessageId: text(PARK_ATTRIBUTE.sourceMessageId),
    parkedAtMs: Number.isFinite(sentTimestamp) && sentTimestamp > 0 ? sentTimestamp : undefined,
    groupId: message.Attributes?.MessageGroupId,
    attributes,
  };
}

/**
 * The attributes the message had before it was parked: its own, without Onceflow's, or, when the park had to fold
 * them into `onceflow.originalAttributes` (SQS allows 10), those, as the Lambda record carried them.
 */
export function originalAttributes(letter: DeadLetter): Record<string, MessageAttributeValue> {
  const folded = letter.attributes[PARK_ATTRIBUTE.originalAttributes]?.StringValue;
  if (folded !== undefined) return unfold(folded);
  return Object.fromEntries(Object.entries(letter.attributes).filter(([name]) => !OURS.has(name)));
}

/** Lambda's record shape (`stringValue`, `binaryValue` in base64, `dataType`) back to SendMessage's. */
function unfold(json: string): Record<string, MessageAttributeValue> {
  const parsed: unknown = JSON.parse(json);
  if (parsed === null || typeof parsed !== 'object') return {};
  const restored: Record<string, MessageAttributeValue> = {};
  for (const [name, value] of Object.entries(parsed)) {
    if (value === null || typeof value !== 'object') continue;
    const dataType: unknown = Reflect.get(value, 'dataType');
    const stringValue: unknown = Reflect.get(value, 'stringValue');
    const binaryValue: unknown = Reflect.get(value, 'binaryValue');
    if (typeof dataType !== 'string') continue;
    restored[name] = {
      DataType: dataType,
      ...(typeof stringValue === 'string' ? { StringValue: stringValue } : {}),
      ...(typeof binaryValue === 'string' ? { BinaryValue: Buffer.from(binaryValue, 'base64') } : {}),
    };
  }
  return restored;
}

function messageIdOf(body: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(body);
    if (parsed === null || typeof parsed !== 'object') return undefined;
    const id: unknown = Reflect.get(parsed, 'messageId');
    return typeof id === 'string' && id !== '' ? id : undefined;
  } catch {
    return undefined;
  }
}

/** SQS's approximate counts for a queue: visible and in flight. */
export async function queueDepth(
  clients: AwsClients,
  sqs: SQSClient,
  queueUrl: string,
): Promise<{ visible: number; inFlight: number }> {
  const { Attributes } = await clients.call('SQS', 'sqs:GetQueueAttributes', queueUrl, () =>
    sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    ),
  );
  return {
    visible: Number(Attributes?.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0),
  };
}

/**
 * Reads a DLQ in one pass without consuming it: each message is received once (hidden meanwhile, so the pass
 * ends) and whatever the caller did not delete is made visible again by `restore`. SQS's receive samples its
 * servers, so with many messages a pass can miss some: callers compare with the queue's approximate count.
 */
export class DeadLetterReader {
  /** Received and not deleted, by DLQ message id: the latest receipt handle is the one that counts. */
  private readonly held = new Map<string, string>();

  constructor(
    private readonly clients: AwsClients,
    private readonly sqs: SQSClient,
    readonly queueUrl: string,
    /** Long enough for the whole pass: a message that reappears before the end is counted once anyway. */
    private readonly visibilityTimeoutSeconds: number,
  ) {}

  /** The next batch (up to 10) not seen before in this pass; empty when the queue has none left to give. */
  async next(): Promise<DeadLetter[]> {
    const { Messages = [] } = await this.clients.call('SQS', 'sqs:ReceiveMessage', this.queueUrl, () =>
      this.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: this.queueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 1,
          VisibilityTimeout: this.visibilityTimeoutSeconds,
          MessageAttributeNames: ['All'],
          MessageSystemAttributeNames: ['SentTimestamp', 'MessageGroupId'],
        }),
      ),
    );
    // Only messages already seen (their visibility ran out during the pass): the pass has gone round.
    const fresh = Messages.map(toDeadLetter).filter((letter) => !this.held.has(letter.sqsMessageId));
    for (const message of Messages.map(toDeadLetter))
      this.held.set(message.sqsMessageId, message.receiptHandle);
    return fresh;
  }

  /** The message is gone from the DLQ: nothing to restore. */
  forget(letter: DeadLetter): void {
    this.held.delete(letter.sqsMessageId);
  }

  /** Makes every message still held visible again now. */
  async restore(): Promise<void> {
    const handles = [...this.held.values()];
    this.held.clear();
    for (let start = 0; start < handles.length; start += 10) {
      const entries = handles
        .slice(start, start + 10)
        .map((handle, index) => ({ Id: String(index), ReceiptHandle: handle, VisibilityTimeout: 0 }));
      await this.clients.call('SQS', 'sqs:ChangeMessageVisibility', this.queueUrl, () =>
        this.sqs.send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: this.queueUrl, Entries: entries })),
      );
    }
  }
}
