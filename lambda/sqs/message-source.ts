import type { SQSRecord } from 'aws-lambda';
import { MalformedMessageError, MessageIdValidationError } from '../core/errors.js';
import { validateMessageId } from '../core/message-id.js';
import { isWireTimestamp, parseWireBody } from '../core/wire-message.js';

/**
 * What a source finds in one SQS record, before Onceflow checks it: the messageId must pass the same checks as
 * the wire format's (a non-empty string of at most 512 UTF-8 bytes; a safe integer is taken as its decimal
 * string), the timestamp must be a string or a safe number (left out: the record's SentTimestamp, epoch ms).
 */
export interface SourcedMessage {
  readonly messageId: unknown;
  readonly timestamp?: unknown;
  readonly payload: unknown;
}

/**
 * Where the messageId, timestamp and payload of a record come from. Build one with `MessageSources`, or write
 * `{ name, read }` yourself. `read` throws to park the record: a `MalformedMessageError` keeps its message as the
 * reason, any other error is parked as a MalformedMessageError with the error's message.
 */
export interface MessageSource {
  /** Named in the reason of a record it cannot read. */
  readonly name: string;
  read(record: SQSRecord): SourcedMessage;
}

/**
 * A dotted path into a JSON value: `'order.id'`, `'items.0.sku'`. Only own properties are followed, so a path
 * never reaches a prototype.
 */
export type FieldPath = string;

/** The fields a plain JSON body (or a wrapped one) holds. */
export interface FieldPaths {
  /** Where the messageId is: a business key that stays the same when the producer sends again. */
  readonly messageId: FieldPath;
  /** @default - the record's SentTimestamp (epoch milliseconds) */
  readonly timestamp?: FieldPath;
  /** @default - the whole body */
  readonly payload?: FieldPath;
}

/** Paths for SNS: each is read in the notification's `Message` (parsed as JSON). */
export interface SnsFieldPaths {
  /**
   * Where the messageId is, in the Message. Left out, the SNS MessageId of the envelope: it is the same on SNS's
   * own redeliveries, but a producer that publishes again gets a new one, so give a business key when producers
   * retry. Raw message delivery has no envelope, so there it is required.
   * @default - the envelope's MessageId
   */
  readonly messageId?: FieldPath;
  /** @default - the envelope's Timestamp, else the record's SentTimestamp */
  readonly timestamp?: FieldPath;
  /** @default - the whole Message (parsed when it is JSON, else the string) */
  readonly payload?: FieldPath;
}

/** Paths for EventBridge: each is read in the whole event. */
export interface EventBridgeFieldPaths {
  /** @default 'id' (EventBridge's event id; a `PutEvents` retry by the producer gets a new one) */
  readonly messageId?: FieldPath;
  /** @default 'time' */
  readonly timestamp?: FieldPath;
  /** @default 'detail' */
  readonly payload?: FieldPath;
}

/**
 * Ready-made sources for `exactlyOnce`'s `source` option.
 *
 * @example
 * // A plain JSON body {"order":{"id":"o-42","placedAt":"2026-12-01T10:00:00Z", ...}}
 * exactlyOnce(handler, { source: MessageSources.jsonBody({ messageId: 'order.id', timestamp: 'order.placedAt', payload: 'order' }) });
 * // SNS to SQS (raw or not), with a business key inside the SNS Message
 * exactlyOnce(handler, { source: MessageSources.sns({ messageId: 'orderId' }) });
 * // EventBridge to SQS: id, time and detail of the event
 * exactlyOnce(handler, { source: MessageSources.eventBridge() });
 * // anything else: a function of the record
 * exactlyOnce(handler, { source: MessageSources.custom('header', (r) => ({ messageId: r.messageAttributes.key?.stringValue, payload: r.body })) });
 */
export const MessageSources = {
  /** The Onceflow wire format `{ messageId, timestamp, payload }` (what `OnceflowProducer` sends). The default. */
  onceflow(): MessageSource {
    return { name: 'onceflow', read: (record) => parseWireBody(record.body) };
  },

  /** A plain JSON body: the fields are read at the paths given. */
  jsonBody(paths: FieldPaths): MessageSource {
    return {
      name: 'jsonBody',
      read: (record) => {
        const body = parseJson(record.body, 'Body');
        return fieldsAt(body, paths, record);
      },
    };
  },

  /** An SNS notification delivered to SQS: the JSON envelope, or the bare Message with raw message delivery. */
  sns(paths: SnsFieldPaths = {}): MessageSource {
    return {
      name: 'sns',
      read: (record) => {
        const envelope = snsEnvelope(record.body);
        const message = envelope?.message ?? parseJsonOrString(record.body);
        if (paths.messageId === undefined && envelope === undefined) {
          throw new MalformedMessageError(
            'Body is not an SNS envelope (raw message delivery?); give MessageSources.sns({ messageId: path }) to read the id from the Message.',
            undefined,
          );
        }
        return {
          messageId: paths.messageId === undefined ? envelope?.messageId : at(message, paths.messageId),
          timestamp:
            paths.timestamp === undefined
              ? (envelope?.timestamp ?? sentTimestamp(record))
              : at(message, paths.timestamp),
          payload: paths.payload === undefined ? message : at(message, paths.payload),
        };
      },
    };
  },

  /** An EventBridge event delivered to SQS (a rule with an SQS target): the paths are read in the event. */
  eventBridge(paths: EventBridgeFieldPaths = {}): MessageSource {
    const resolved = {
      messageId: paths.messageId ?? 'id',
      timestamp: paths.timestamp ?? 'time',
      payload: paths.payload ?? 'detail',
    };
    return {
      name: 'eventBridge',
      read: (record) => fieldsAt(parseJson(record.body, 'Body'), resolved, record),
    };
  },

  /** Any other shape: a function of the record (its body, attributes, message attributes). */
  custom(name: string, read: (record: SQSRecord) => SourcedMessage): MessageSource {
    return { name, read };
  },
} as const;

/** The message a record carries, as `source` reads it; throws MalformedMessageError for the record to be parked. */
export function readFromSource(
  record: SQSRecord,
  source: MessageSource,
): { readonly messageId: string; readonly timestamp: string | number; readonly payload: unknown } {
  let sourced: SourcedMessage;
  try {
    sourced = source.read(record);
  } catch (error) {
    if (error instanceof MalformedMessageError) throw error;
    const detail = error instanceof Error ? error.message : String(error);
    throw new MalformedMessageError(
      `Source '${source.name}' could not read the record: ${detail}`,
      undefined,
      {
        cause: error,
      },
    );
  }
  let messageId: string;
  try {
    messageId = validateMessageId(asIdString(sourced.messageId));
  } catch (error) {
    if (!(error instanceof MessageIdValidationError)) throw error;
    throw new MalformedMessageError(
      `Invalid messageId (source '${source.name}'): ${error.message}`,
      undefined,
      {
        cause: error,
      },
    );
  }
  const timestamp = sourced.timestamp ?? sentTimestamp(record);
  if (!isWireTimestamp(timestamp)) {
    throw new MalformedMessageError(
      `timestamp (source '${source.name}') must be a string, or a number within ±${Number.MAX_SAFE_INTEGER}.`,
      messageId,
    );
  }
  return { messageId, timestamp, payload: sourced.payload };
}

/** The value at a dotted path, or undefined; own properties only. */
export function at(value: unknown, path: FieldPath): unknown {
  let current: unknown = value;
  for (const step of path.split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    // A descriptor, not `current[step]`: an inherited `__proto__` or `constructor` is not data.
    current = Object.getOwnPropertyDescriptor(current, step)?.value;
  }
  return current;
}

function fieldsAt(
  body: unknown,
  paths: { messageId: FieldPath; timestamp?: FieldPath; payload?: FieldPath },
  record: SQSRecord,
): SourcedMessage {
  return {
    messageId: at(body, paths.messageId),
    timestamp: paths.timestamp === undefined ? sentTimestamp(record) : at(body, paths.timestamp),
    payload: paths.payload === undefined ? body : at(body, paths.payload),
  };
}

/** The SNS envelope's parts, or undefined when the body is not one (raw message delivery). */
function snsEnvelope(body: string): { messageId: unknown; timestamp: unknown; message: unknown } | undefined {
  const parsed = parseJsonOrString(body);
  if (at(parsed, 'Type') !== 'Notification') return undefined;
  const message = at(parsed, 'Message');
  if (typeof message !== 'string') return undefined;
  return {
    messageId: at(parsed, 'MessageId'),
    timestamp: at(parsed, 'Timestamp'),
    message: parseJsonOrString(message),
  };
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new MalformedMessageError(`${what} is not JSON: ${detail}`, undefined, { cause: error });
  }
}

function parseJsonOrString(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Business keys are often numbers: a safe integer is taken as its decimal string, anything else as it is. */
function asIdString(value: unknown): unknown {
  return typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : value;
}

function sentTimestamp(record: SQSRecord): number | undefined {
  const sent = Number(record.attributes?.SentTimestamp);
  return Number.isFinite(sent) ? sent : undefined;
}
