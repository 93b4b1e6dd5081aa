import { MalformedMessageError, MessageIdValidationError } from './errors.js';
import { validateMessageId } from './message-id.js';

/** What producers put in the SQS body: JSON `{ messageId, timestamp, payload }`. */
export interface WireMessage<Payload = unknown> {
  readonly messageId: string;
  readonly timestamp: string | number;
  readonly payload: Payload;
}

/** Encodes a message for SQS. */
export function toWireBody(message: WireMessage): string {
  return JSON.stringify({
    messageId: message.messageId,
    timestamp: message.timestamp,
    payload: message.payload,
  });
}

/** Decodes a message body; throws MalformedMessageError (with the messageId when there is a valid one). */
export function parseWireBody(body: string): WireMessage {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new MalformedMessageError(`Body is not JSON: ${detail}`, undefined, { cause: error });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new MalformedMessageError(
      'Body must be a JSON object { messageId, timestamp, payload }.',
      undefined,
    );
  }
  const fields: Record<string, unknown> = { ...parsed };
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
  return { messageId, timestamp, payload: fields.payload };
}
