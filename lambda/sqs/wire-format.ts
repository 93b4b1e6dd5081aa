import type { SQSRecord } from 'aws-lambda';
import { parseWireBody, type WireMessage } from '../core/wire-message.js';

/** A received message, as the handler sees it. */
export interface OnceflowMessage<Payload = unknown> extends WireMessage<Payload> {
  /** How many times SQS has delivered this SQS message (ApproximateReceiveCount). */
  readonly receiveCount: number;
  /** SQS's own id of this delivery's message; a producer re-send has a new one, the messageId stays. */
  readonly sqsMessageId: string;
}

/** Decodes an SQS record; throws MalformedMessageError (with the messageId when there is a valid one). */
export function readMessage(record: SQSRecord): OnceflowMessage {
  return {
    ...parseWireBody(record.body),
    receiveCount: Number(record.attributes?.ApproximateReceiveCount ?? 1),
    sqsMessageId: record.messageId,
  };
}
