import type { SQSRecord } from 'aws-lambda';
import type { WireMessage } from '../core/wire-message.js';
import { type MessageSource, MessageSources, readFromSource } from './message-source.js';

/** A received message, as the handler sees it. */
export interface OnceflowMessage<Payload = unknown> extends WireMessage<Payload> {
  /** How many times SQS has delivered this SQS message (ApproximateReceiveCount). */
  readonly receiveCount: number;
  /** SQS's own id of this delivery's message; a producer re-send has a new one, the messageId stays. */
  readonly sqsMessageId: string;
}

const WIRE_FORMAT = MessageSources.onceflow();

/**
 * Decodes an SQS record with its source (the wire format by default); throws MalformedMessageError (with the
 * messageId when there is a valid one).
 */
export function readMessage(record: SQSRecord, source: MessageSource = WIRE_FORMAT): OnceflowMessage {
  return {
    ...readFromSource(record, source),
    receiveCount: Number(record.attributes?.ApproximateReceiveCount ?? 1),
    sqsMessageId: record.messageId,
  };
}
