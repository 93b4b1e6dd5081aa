import { MessageIdValidationError } from './errors.js';

/** Longest messageId accepted, in bytes of UTF-8. DynamoDB allows 2,048; we keep room for derived ids. */
export const MAX_MESSAGE_ID_BYTES = 512;

/** A UTF-16 surrogate half without its partner: a string JSON can carry (`"\\ud800"`) but UTF-8 cannot. */
const UNPAIRED_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Returns the messageId when it is a non-empty, well-formed string of at most 512 UTF-8 bytes; throws otherwise.
 */
export function validateMessageId(messageId: unknown): string {
  if (typeof messageId !== 'string') {
    throw new MessageIdValidationError(`messageId must be a string, got ${describe(messageId)}.`, messageId);
  }
  if (messageId.length === 0) {
    throw new MessageIdValidationError('messageId must not be empty.', messageId);
  }
  if (UNPAIRED_SURROGATE.test(messageId)) {
    // UTF-8 has no form for it: encoders write U+FFFD, so two different ids would become one key.
    throw new MessageIdValidationError(
      'messageId must be well-formed Unicode; it has an unpaired surrogate (\\uD800-\\uDFFF).',
      messageId,
    );
  }
  const bytes = Buffer.byteLength(messageId, 'utf8');
  if (bytes > MAX_MESSAGE_ID_BYTES) {
    throw new MessageIdValidationError(
      `messageId is ${bytes} bytes of UTF-8; at most ${MAX_MESSAGE_ID_BYTES} are allowed.`,
      messageId,
    );
  }
  return messageId;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  return typeof value;
}
