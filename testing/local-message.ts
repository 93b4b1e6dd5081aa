import { randomUUID } from 'node:crypto';
import { bodyOf, type InMemoryMessage } from './sqs-event.js';

/** A message for a local queue: as `InMemoryMessage`, plus the FIFO group it belongs to on a FIFO queue. */
export type LocalMessage<Payload = unknown> = InMemoryMessage<Payload> & {
  /** MessageGroupId on a FIFO queue. @default - none (standard queue) */
  readonly groupId?: string;
};

/** The SendMessageBatch entry of a message, encoded as OnceflowProducer encodes it. */
export function toSendEntry(message: LocalMessage): {
  MessageBody: string;
  MessageGroupId?: string;
  MessageDeduplicationId?: string;
} {
  return {
    MessageBody: bodyOf(message, Date.now()),
    // SQS deduplicates FIFO sends by this id; each send here is its own delivery, as a test expects.
    ...(message.groupId === undefined
      ? {}
      : { MessageGroupId: message.groupId, MessageDeduplicationId: randomUUID() }),
  };
}
