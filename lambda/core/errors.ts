import { ConfigurationError, OnceflowError } from '../contract/errors.js';
import type { ClaimRecord } from './claim-record.js';

// The base class and the configuration error live with the contract, whose readers throw them.
export { ConfigurationError, OnceflowError };

/** The messageId is empty, not a string, or longer than the claims table accepts. Never retried. */
export class MessageIdValidationError extends OnceflowError {
  readonly retryable = false;

  constructor(
    message: string,
    readonly messageId: unknown,
  ) {
    super(message);
  }
}

/**
 * The commit lost its lease: another consumer took the message over (or it was released), so this owner is a
 * zombie. None of its staged writes were applied. Acknowledging is wrong (the new owner decides); the message
 * goes back to the queue, where the next delivery finds DONE or the live lease.
 */
export class ZombieCommitError extends OnceflowError {
  readonly retryable = true;

  constructor(
    readonly messageId: string,
    readonly leaseToken: string,
    /** The claim record as it stood when the commit was refused, when DynamoDB returned it. */
    readonly currentRecord: ClaimRecord | undefined,
  ) {
    super(
      `Commit of ${messageId} rejected: lease ${leaseToken} is no longer held${recordState(currentRecord)}`,
    );
  }
}

/**
 * The lease could not be extended: it had already ended, or it was released or taken over. The handler should
 * stop; its staged writes will not commit, and the message returns to the queue.
 */
export class LeaseLostError extends OnceflowError {
  readonly retryable = true;

  constructor(
    readonly messageId: string,
    readonly leaseToken: string,
    /** The claim record as it stood when the extension was refused, when DynamoDB returned it. */
    readonly currentRecord: ClaimRecord | undefined,
  ) {
    super(
      `Lease ${leaseToken} on ${messageId} could not be extended: it ended or another consumer holds it` +
        recordState(currentRecord),
    );
  }
}

/** The handler returned after its lease ended, so its commit was not attempted. Retried; nothing was applied. */
export class LeaseExpiredError extends OnceflowError {
  readonly retryable = true;

  constructor(
    readonly messageId: string,
    readonly leaseExpiredAgoMs: number,
  ) {
    super(
      `Commit of ${messageId} not attempted: its lease ended ${leaseExpiredAgoMs} ms before the handler returned.`,
    );
  }
}

/**
 * A staged write's own ConditionExpression failed, so the whole commit was cancelled: nothing was applied and the
 * claim is still held. The application decided the effect may not happen; by default that is permanent.
 */
export class StagedWriteConditionFailedError extends OnceflowError {
  readonly retryable = false;

  constructor(
    readonly messageId: string,
    /** Index of the failed write among the staged writes (0 = first staged write). */
    readonly stagedWriteIndex: number,
    readonly reason: string,
    /** The item as it stood, when the staged write asked for ReturnValuesOnConditionCheckFailure. */
    readonly currentItem: Record<string, unknown> | undefined,
  ) {
    super(
      `Commit of ${messageId} cancelled: staged write #${stagedWriteIndex} failed its condition (${reason}).`,
    );
  }
}

/** The staged writes cannot be sent as they are (too many, or DynamoDB rejects them as invalid). */
export class InvalidStagedWritesError extends OnceflowError {
  readonly retryable = false;

  constructor(
    readonly messageId: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`Commit of ${messageId} refused: ${message}`, options);
  }
}

/**
 * DynamoDB could not be reached or refused for a reason that may pass: throttling, a 5xx, a transaction conflict,
 * a network fault, or anything unknown. Nothing was marked DONE. Retry later.
 */
export class ClaimStoreUnavailableError extends OnceflowError {
  readonly retryable = true;

  constructor(
    readonly operation: 'claim' | 'commit' | 'release' | 'park' | 'extend' | 'read',
    readonly messageId: string,
    /** A short reason code: the AWS error name or the cancellation code. */
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${operation} of ${messageId} failed with ${reason}; it is safe to retry.`, options);
  }
}

/** The message itself can never be processed (the handler threw it): park it in the DLQ with this reason. */
export class PermanentError extends OnceflowError {
  readonly retryable = false;
}

/** The SQS body is not an Onceflow message: not JSON, or a field is missing or of the wrong type. Parked. */
export class MalformedMessageError extends OnceflowError {
  readonly retryable = false;

  constructor(
    message: string,
    /** The messageId, when the body had a valid one. */
    readonly messageId: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** How a refusal found the claim record, for error messages. */
function recordState(record: ClaimRecord | undefined): string {
  return record === undefined
    ? ' (the claim record is gone).'
    : ` (record is ${record.status}, fencing token ${record.fencingToken}).`;
}

/** The payload failed the consumer's schema (`exactlyOnce`'s `schema` option). Parked with the issues. */
export class PayloadValidationError extends OnceflowError {
  readonly retryable = false;

  constructor(
    readonly messageId: string,
    /** The schema's issues, each as `path: message`. */
    readonly issues: readonly string[],
  ) {
    super(`payload of ${messageId} does not match the schema: ${issues.join('; ')}`);
  }
}

/**
 * A messageId already claimed with one payload came again with another: not a duplicate, a producer bug (or two
 * producers sharing a key). Parked with both fingerprints; the claim record keeps the first.
 */
export class PayloadMismatchError extends OnceflowError {
  readonly retryable = false;

  constructor(
    readonly messageId: string,
    /** SHA-256 (hex) of the payload the claim record holds. */
    readonly storedFingerprint: string,
    /** SHA-256 (hex) of this delivery's payload. */
    readonly receivedFingerprint: string,
  ) {
    super(
      `messageId ${messageId} was first claimed with payload sha256:${storedFingerprint}; this delivery has sha256:${receivedFingerprint}`,
    );
  }
}

/** The handler returned a value to store (`storeResult`) that is not JSON or is larger than the limit. */
export class StoredResultError extends OnceflowError {
  readonly retryable = false;

  constructor(
    readonly messageId: string,
    message: string,
  ) {
    super(`result of ${messageId} cannot be stored: ${message}`);
  }
}

/**
 * A large payload cannot be read: a chunk its manifest lists is not in the bucket (expired, deleted, or never
 * uploaded). Retrying cannot bring it back, so the message is parked with this reason.
 */
export class PayloadUnavailableError extends OnceflowError {
  readonly retryable = false;

  constructor(
    message: string,
    /** The S3 key that was missing, when one was. */
    readonly key: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * A large payload's bytes are not what its manifest promised: a chunk or the whole payload hashes differently, a
 * size differs, or the manifest itself is invalid. Never delivered in part: the message is parked.
 */
export class PayloadCorruptError extends OnceflowError {
  readonly retryable = false;
}

/** S3 refused for a reason that may pass (throttling, a 5xx, a network fault): the message is retried. */
export class PayloadStoreUnavailableError extends OnceflowError {
  readonly retryable = true;
}
