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

/**
 * A valid timestamp: any string (Onceflow does not parse it; ISO 8601 by convention), or a number of epoch
 * milliseconds (or seconds: fractions pass) within the range JavaScript, the SDK and DynamoDB all hold without
 * loss, ±(2^53 - 1). Onceflow never compares it with a clock, so a negative or far-future value passes unchanged.
 * A number past that range (`1e20`, or `1e999`, which parses as Infinity) is refused: a handler storing it would
 * fail at commit.
 */
export function isWireTimestamp(value: unknown): value is string | number {
  return (
    typeof value === 'string' ||
    (typeof value === 'number' && Number.isFinite(value) && Math.abs(value) <= Number.MAX_SAFE_INTEGER)
  );
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
  if (!isWireTimestamp(timestamp)) {
    throw new MalformedMessageError(
      `timestamp must be a string, or a number within ±${Number.MAX_SAFE_INTEGER}; got ${describeValue(timestamp)}.`,
      messageId,
    );
  }
  // Own keys only: a `__proto__` key in the body is data, never a way to reach the prototype's properties.
  if (!Object.hasOwn(fields, 'payload')) {
    throw new MalformedMessageError('payload is missing.', messageId);
  }
  return { messageId, timestamp, payload: fields.payload };
}

function describeValue(value: unknown): string {
  if (typeof value === 'number') return String(value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value === undefined) return 'nothing';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
