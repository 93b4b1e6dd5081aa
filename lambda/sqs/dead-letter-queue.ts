import type { SQSRecord } from 'aws-lambda';
import type { SignedSqs, SqsMessageAttribute } from '../aws/signed-sqs.js';

/** Message attributes a parked message carries, besides its own. */
export const PARK_ATTRIBUTE = {
  reason: 'onceflow.reason',
  errorType: 'onceflow.errorType',
  sourceMessageId: 'onceflow.sourceSqsMessageId',
  /** The original attributes, as JSON, when together they would pass SQS's limit of 10. */
  originalAttributes: 'onceflow.originalAttributes',
} as const;

const MAX_MESSAGE_ATTRIBUTES = 10;
const MAX_REASON_CHARS = 1024;

/**
 * Parks messages in the DLQ: the original body and attributes, plus why. Send first, acknowledge after: a send
 * that fails throws, and the caller leaves the message on the source queue.
 *
 * @example
 * await new DeadLetterQueue(sqs, dlqUrl).park(record, 'amountCents must be an integer', 'PermanentError');
 */
export class DeadLetterQueue {
  constructor(
    private readonly sqs: Pick<SignedSqs, 'sendMessage'>,
    readonly queueUrl: string,
  ) {}

  async park(record: SQSRecord, reason: string, errorType: string): Promise<void> {
    const fifo = this.queueUrl.endsWith('.fifo');
    await this.sqs.sendMessage({
      QueueUrl: this.queueUrl,
      MessageBody: record.body,
      MessageAttributes: parkedAttributes(record, reason, errorType),
      ...(fifo
        ? {
            MessageGroupId: record.attributes?.MessageGroupId ?? 'onceflow-parked',
            MessageDeduplicationId: record.messageId,
          }
        : {}),
    });
  }
}

function parkedAttributes(
  record: SQSRecord,
  reason: string,
  errorType: string,
): Record<string, SqsMessageAttribute> {
  const ours: Record<string, SqsMessageAttribute> = {
    [PARK_ATTRIBUTE.reason]: {
      DataType: 'String',
      StringValue: reason.length > 0 ? reason.slice(0, MAX_REASON_CHARS) : 'unknown',
    },
    [PARK_ATTRIBUTE.errorType]: { DataType: 'String', StringValue: errorType },
    [PARK_ATTRIBUTE.sourceMessageId]: { DataType: 'String', StringValue: record.messageId },
  };
  const original = Object.entries(record.messageAttributes ?? {}).map(
    ([name, value]): [string, SqsMessageAttribute] => [
      name,
      {
        DataType: value.dataType,
        ...(value.stringValue === undefined ? {} : { StringValue: value.stringValue }),
        ...(value.binaryValue === undefined ? {} : { BinaryValue: Buffer.from(value.binaryValue, 'base64') }),
      },
    ],
  );
  if (original.length + Object.keys(ours).length <= MAX_MESSAGE_ATTRIBUTES) {
    return { ...Object.fromEntries(original), ...ours };
  }
  return {
    ...ours,
    [PARK_ATTRIBUTE.originalAttributes]: {
      DataType: 'String',
      StringValue: JSON.stringify(record.messageAttributes),
    },
  };
}
