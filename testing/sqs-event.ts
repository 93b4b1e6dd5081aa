import { createHash, randomUUID } from 'node:crypto';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { toWireBody } from '../lambda/core/wire-message.js';

/** The eventSourceARN of records built here: a queue that exists nowhere. */
export const IN_MEMORY_QUEUE_ARN = 'arn:aws:sqs:us-east-1:000000000000:in-memory';

/**
 * A message to deliver: an Onceflow message (encoded as a producer would), or a raw SQS body, to test what
 * the consumer does with malformed input.
 */
export type InMemoryMessage<Payload = unknown> =
  | {
      readonly messageId: string;
      readonly payload: Payload;
      /** @default the clock's epoch milliseconds, as OnceflowProducer sends */
      readonly timestamp?: string | number;
    }
  | { readonly body: string };

export interface SqsRecordOptions {
  /** SQS's own id of the message; a redelivery keeps it. @default a random UUID, like SQS */
  readonly sqsMessageId?: string;
  /** ApproximateReceiveCount: 1 on the first delivery. @default 1 */
  readonly receiveCount?: number;
  /** @default IN_MEMORY_QUEUE_ARN */
  readonly eventSourceARN?: string;
  /** Epoch milliseconds, for SentTimestamp and a message without a timestamp. @default Date.now */
  readonly clock?: () => number;
}

export type SqsEventOptions = Omit<SqsRecordOptions, 'sqsMessageId'>;

/**
 * One SQS record as the Lambda event source mapping delivers it, with a fake receipt handle.
 *
 * @example
 * const record = sqsRecord({ messageId: 'order-42', payload: { amountCents: 500 } }, { receiveCount: 2 });
 */
export function sqsRecord<Payload>(
  message: InMemoryMessage<Payload>,
  options: SqsRecordOptions = {},
): SQSRecord {
  const nowMs = (options.clock ?? Date.now)();
  const sqsMessageId = options.sqsMessageId ?? randomUUID();
  const receiveCount = options.receiveCount ?? 1;
  const eventSourceARN = options.eventSourceARN ?? IN_MEMORY_QUEUE_ARN;
  const body = bodyOf(message, nowMs);
  return {
    messageId: sqsMessageId,
    // A new handle per receive, as SQS gives; it names the delivery so a test can tell them apart.
    receiptHandle: `in-memory:${sqsMessageId}:${receiveCount}`,
    body,
    attributes: {
      ApproximateReceiveCount: String(receiveCount),
      SentTimestamp: String(nowMs),
      SenderId: 'in-memory',
      ApproximateFirstReceiveTimestamp: String(nowMs),
    },
    messageAttributes: {},
    md5OfBody: createHash('md5').update(body).digest('hex'),
    eventSource: 'aws:sqs',
    eventSourceARN,
    awsRegion: eventSourceARN.split(':')[3] ?? 'us-east-1',
  };
}

/**
 * An SQSEvent of the messages, each a new SQS message (random SQS id) on the same receive count. Hand it to
 * an exactlyOnce handler's `processBatch` to see each record's outcome.
 *
 * @example
 * const report = await handler.processBatch(
 *   sqsEvent([{ messageId: 'order-42', payload: { amountCents: 500 } }, { body: 'not json' }]),
 * );
 * expect(report.outcomes.map((outcome) => outcome.kind)).toEqual(['Processed', 'Parked']);
 */
export function sqsEvent<Payload>(
  messages: readonly InMemoryMessage<Payload>[],
  options: SqsEventOptions = {},
): SQSEvent {
  return { Records: messages.map((message) => sqsRecord(message, options)) };
}

/** The SQS body of a test message: a raw body as given, else the wire format OnceflowProducer sends. */
export function bodyOf(message: InMemoryMessage, nowMs: number): string {
  if ('body' in message) return message.body;
  return toWireBody({
    messageId: message.messageId,
    timestamp: message.timestamp ?? nowMs,
    payload: message.payload,
  });
}
