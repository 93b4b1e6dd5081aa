import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { QUEUE_DEFAULTS } from '../lambda/contract/index.js';

export interface QueuePairOptions {
  readonly fifo?: boolean;
  /** @default 30 (SQS's own default) */
  readonly visibilityTimeoutSeconds?: number;
  /** @default 4 days, as the construct */
  readonly retentionPeriodSeconds?: number;
  /** Deliveries before SQS moves a message to the DLQ by itself. @default 10, as the construct */
  readonly maxReceiveCount?: number;
  /** @default 14 days, as the construct */
  readonly deadLetterRetentionPeriodSeconds?: number;
}

export interface QueuePair {
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly deadLetterQueueUrl: string;
  readonly deadLetterQueueArn: string;
}

/** A source queue and its DLQ, wired with a redrive policy, with the construct's defaults. */
export async function createQueuePair(
  sqs: SQSClient,
  name: string,
  options: QueuePairOptions = {},
): Promise<QueuePair> {
  const suffix = options.fifo === true ? '.fifo' : '';
  const fifoAttributes: Record<string, string> = options.fifo === true ? { FifoQueue: 'true' } : {};
  const dlq = await createQueue(sqs, `${name}-dlq${suffix}`, {
    ...fifoAttributes,
    MessageRetentionPeriod: String(
      options.deadLetterRetentionPeriodSeconds ?? QUEUE_DEFAULTS.deadLetterRetentionPeriodSeconds,
    ),
  });
  const source = await createQueue(sqs, `${name}${suffix}`, {
    ...fifoAttributes,
    VisibilityTimeout: String(options.visibilityTimeoutSeconds ?? QUEUE_DEFAULTS.visibilityTimeoutSeconds),
    MessageRetentionPeriod: String(options.retentionPeriodSeconds ?? QUEUE_DEFAULTS.retentionPeriodSeconds),
    RedrivePolicy: JSON.stringify({
      deadLetterTargetArn: dlq.arn,
      maxReceiveCount: options.maxReceiveCount ?? QUEUE_DEFAULTS.maxReceiveCount,
    }),
  });
  return {
    queueUrl: source.url,
    queueArn: source.arn,
    deadLetterQueueUrl: dlq.url,
    deadLetterQueueArn: dlq.arn,
  };
}

async function createQueue(sqs: SQSClient, name: string, attributes: Record<string, string>) {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  if (QueueUrl === undefined) throw new Error(`CreateQueue ${name} returned no URL`);
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }),
  );
  const arn = Attributes?.QueueArn;
  if (arn === undefined) throw new Error(`Queue ${name} has no ARN`);
  return { url: QueueUrl, arn };
}

/** Messages waiting or in flight on a queue, by SQS's own count. */
export async function messagesOnQueue(sqs: SQSClient, queueUrl: string): Promise<number> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return (
    Number(Attributes?.ApproximateNumberOfMessages ?? 0) +
    Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
  );
}

/**
 * Every message on a queue now, consumed by nobody: each is received once (hidden meanwhile, so the loop ends)
 * and made visible again at the end, unless `keepHidden`.
 */
export async function peekMessages(
  sqs: SQSClient,
  queueUrl: string,
  options: { readonly keepHidden?: boolean } = {},
): Promise<Message[]> {
  const messages: Message[] = [];
  for (;;) {
    const { Messages } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        VisibilityTimeout: 30,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['All'],
      }),
    );
    if (Messages === undefined || Messages.length === 0) break;
    messages.push(...Messages);
  }
  if (options.keepHidden !== true) {
    await Promise.all(messages.map((message) => makeVisible(sqs, queueUrl, message.ReceiptHandle)));
  }
  return messages;
}

/** Makes a received message visible again now. */
export async function makeVisible(
  sqs: SQSClient,
  queueUrl: string,
  receiptHandle: string | undefined,
): Promise<void> {
  if (receiptHandle === undefined) return;
  const command = new ChangeMessageVisibilityCommand({
    QueueUrl: queueUrl,
    ReceiptHandle: receiptHandle,
    VisibilityTimeout: 0,
  });
  // Already deleted, or moved to the DLQ by redrive: nothing to make visible.
  await sqs.send(command).catch(() => undefined);
}
