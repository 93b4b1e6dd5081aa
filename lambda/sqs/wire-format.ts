import type { SQSRecord } from 'aws-lambda';
import { MalformedMessageError, MessageIdValidationError } from '../core/errors.js';
import { validateMessageId } from '../core/message-id.js';

/** What producers put in the SQS body: JSON `{ messageId, timestamp, payload }`. */
export interface WireMessage<Payload = unknown> {
  readonly messageId: string;
  readonly timestamp: string | number;
  readonly payload: Payload;
}

/** A received message, as the handler sees it. */
export interface OnceflowMessage<Payload = unknown> extends WireMessage<Payload> {
  /** How many times SQS has delivered this SQS message (ApproximateReceiveCount). */
  readonly receiveCount: number;
  /** SQS's own id of this delivery's message; a producer re-send has a new one, the messageId stays. */
  readonly sqsMessageId: string;
}

/** Encodes a message for SQS. */
export function toWireBody(message: WireMessage): string {
  return JSON.stringify({
    messageId: message.messageId,
    timestamp: message.timestamp,
    payload: message.payload,
  });
}

/** Decodes an SQS record; throws MalformedMessageError (with the messageId when there is a valid one). */
export function readMessage(record: SQSRecord): OnceflowMessage {
  let body: unknown;
  try {
    body = JSON.parse(record.body);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new MalformedMessageError(`Body is not JSON: ${detail}`, undefined, { cause: error });
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new MalformedMessageError(
      'Body must be a JSON object { messageId, timestamp, payload }.',
      undefined,
    );
  }
  const fields: Record<string, unknown> = { ...body };
  let messageId: string;
  try {
    messageId = validateMessageId(fields.messageId);
  } catch (error) {
    if (!(error instanceof MessageIdValidationError)) throw error;
    throw new MalformedMessageError(`Invalid messageId: ${error.message}`, undefined, { cause: error });
  }
  const { timestamp } = fields;
  if (typeof timestamp !== 'string' && typeof timestamp !== 'number') {
    throw new MalformedMessageError('timestamp must be a string or a number.', messageId);
  }
  if (!('payload' in fields)) {
    throw new MalformedMessageError('payload is missing.', messageId);
  }
  return {
    messageId,
    timestamp,
    payload: fields.payload,
    receiveCount: Number(record.attributes?.ApproximateReceiveCount ?? 1),
    sqsMessageId: record.messageId,
  };
}
