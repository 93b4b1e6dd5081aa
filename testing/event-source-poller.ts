import {
  DeleteMessageBatchCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSMessageAttributes, SQSRecord } from 'aws-lambda';

export type SqsBatchHandler<Response extends SQSBatchResponse = SQSBatchResponse> = (
  event: SQSEvent,
) => Promise<Response>;

export interface EventSourcePollerOptions<Response extends SQSBatchResponse = SQSBatchResponse> {
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly handler: SqsBatchHandler<Response>;
  /** Records per invocation. @default 10 */
  readonly batchSize?: number;
  /** How long to gather a batch before invoking with fewer records. @default 0 */
  readonly maxBatchingWindowMs?: number;
  /** Long-poll wait per receive. @default 1 */
  readonly waitTimeSeconds?: number;
  /** @default 'us-east-1' */
  readonly region?: string;
}

/** What one poll did. */
export interface PollResult<Response extends SQSBatchResponse = SQSBatchResponse> {
  /** The event the handler got (empty when nothing was received). */
  readonly event: SQSEvent;
  /** What the handler answered; undefined when it threw or nothing was received. */
  readonly response?: Response;
  readonly received: number;
  readonly deleted: number;
  /** Records left on the queue (batchItemFailures, or all of them when the handler threw). */
  readonly returned: number;
  readonly handlerError?: unknown;
}

/**
 * Behaves like the Lambda SQS event source mapping: receives a batch, invokes the handler with an SQSEvent, and
 * deletes only the records not listed in batchItemFailures (none when the handler throws). Receive counts,
 * visibility timeouts and redrive to the DLQ are the queue's own.
 *
 * @example
 * const poller = new EventSourcePoller({ sqs, queueUrl, queueArn, handler });
 * poller.start();
 * await poller.stop();
 */
export class EventSourcePoller<Response extends SQSBatchResponse = SQSBatchResponse> {
  private running: Promise<void> | undefined;
  private stopping = false;

  constructor(private readonly options: EventSourcePollerOptions<Response>) {}

  /** Receives one batch (waiting up to the long-poll time) and processes it. */
  async pollOnce(): Promise<PollResult<Response>> {
    const event = await this.receive();
    const messages = event.Records;
    if (messages.length === 0) return { event, received: 0, deleted: 0, returned: 0 };
    let failed: Set<string>;
    let handlerError: unknown;
    let response: Response | undefined;
    try {
      response = await this.options.handler(event);
      failed = new Set((response?.batchItemFailures ?? []).map((failure) => failure.itemIdentifier));
    } catch (error) {
      handlerError = error;
      failed = new Set(event.Records.map((record) => record.messageId));
    }
    const done = messages.filter((record) => !failed.has(record.messageId));
    await this.delete(done);
    return {
      event,
      ...(response === undefined ? {} : { response }),
      received: messages.length,
      deleted: done.length,
      returned: messages.length - done.length,
      ...(handlerError === undefined ? {} : { handlerError }),
    };
  }

  /** Polls until stop(); a failing poll is retried after a short pause. */
  start(onPoll?: (result: PollResult<Response>) => void): void {
    if (this.running !== undefined) return;
    this.stopping = false;
    this.running = (async () => {
      while (!this.stopping) {
        try {
          const result = await this.pollOnce();
          onPoll?.(result);
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.running;
    this.running = undefined;
  }

  /** Receives one batch as the SQSEvent Lambda would get, without invoking anything. */
  async receive(): Promise<SQSEvent> {
    const messages = await this.receiveBatch();
    return { Records: messages.map((message) => this.toRecord(message)) };
  }

  private async receiveBatch(): Promise<Message[]> {
    const batchSize = this.options.batchSize ?? 10;
    const windowEndsMs = Date.now() + (this.options.maxBatchingWindowMs ?? 0);
    const messages: Message[] = [];
    do {
      const { Messages } = await this.options.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: this.options.queueUrl,
          MaxNumberOfMessages: Math.min(10, batchSize - messages.length),
          WaitTimeSeconds: messages.length === 0 ? (this.options.waitTimeSeconds ?? 1) : 0,
          MessageSystemAttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }),
      );
      messages.push(...(Messages ?? []));
      if ((Messages ?? []).length === 0 && messages.length > 0) break;
    } while (messages.length < batchSize && Date.now() < windowEndsMs && !this.stopping);
    return messages;
  }

  private async delete(records: readonly SQSRecord[]): Promise<void> {
    for (let start = 0; start < records.length; start += 10) {
      const entries = records.slice(start, start + 10).map((record, index) => ({
        Id: String(index),
        ReceiptHandle: record.receiptHandle,
      }));
      await this.options.sqs.send(
        new DeleteMessageBatchCommand({ QueueUrl: this.options.queueUrl, Entries: entries }),
      );
    }
  }

  private toRecord(message: Message): SQSRecord {
    const attributes = message.Attributes ?? {};
    return {
      messageId: message.MessageId ?? '',
      receiptHandle: message.ReceiptHandle ?? '',
      body: message.Body ?? '',
      attributes: {
        ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
        SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
        SenderId: attributes.SenderId ?? 'local',
        ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
        ...(attributes.MessageGroupId === undefined ? {} : { MessageGroupId: attributes.MessageGroupId }),
        ...(attributes.MessageDeduplicationId === undefined
          ? {}
          : { MessageDeduplicationId: attributes.MessageDeduplicationId }),
        ...(attributes.SequenceNumber === undefined ? {} : { SequenceNumber: attributes.SequenceNumber }),
      },
      messageAttributes: toLambdaAttributes(message.MessageAttributes ?? {}),
      md5OfBody: message.MD5OfBody ?? '',
      eventSource: 'aws:sqs',
      eventSourceARN: this.options.queueArn,
      awsRegion: this.options.region ?? 'us-east-1',
    };
  }
}

function toLambdaAttributes(attributes: Record<string, MessageAttributeValue>): SQSMessageAttributes {
  return Object.fromEntries(
    Object.entries(attributes).map(([name, value]) => [
      name,
      {
        dataType: value.DataType ?? 'String',
        ...(value.StringValue === undefined ? {} : { stringValue: value.StringValue }),
        ...(value.BinaryValue === undefined
          ? {}
          : { binaryValue: Buffer.from(value.BinaryValue).toString('base64') }),
        stringListValues: [],
        binaryListValues: [],
      },
    ]),
  );
}
