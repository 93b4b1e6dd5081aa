import type { SQSRecord } from 'aws-lambda';
import { ACKNOWLEDGED_KINDS, type RecordOutcomeKind } from '../contract/index.js';
import type { Claim, ClaimResult, CommitEntry, CommitOutcome } from '../core/claim-results.js';
import {
  ConfigurationError,
  type MalformedMessageError,
  OnceflowError,
  type PayloadMismatchError,
  ZombieCommitError,
} from '../core/errors.js';
import { payloadMismatch } from '../core/payload-fingerprint.js';
import { decodeStoredResult } from '../core/stored-result.js';
import type { BatchProcessorDependencies } from './batch-dependencies.js';
import type { RecordOutcome } from './handler-contract.js';
import type { RecordLease } from './record-lease.js';
import type { OnceflowMessage } from './wire-format.js';

/** A record whose handler ran and whose staged writes wait for the batch's grouped commit. */
export interface PendingCommit {
  readonly record: SQSRecord;
  readonly message: OnceflowMessage;
  readonly entry: CommitEntry;
  readonly claim: Claim | undefined;
  /** The lease the handler ran under; a commit after its end is not attempted. */
  readonly lease?: RecordLease;
}

/** What settling needs of the processor's dependencies. */
export type SettlementDependencies = Pick<
  BatchProcessorDependencies,
  'store' | 'deadLetters' | 'doneCache' | 'logger' | 'payloadMismatch'
>;

/** A claim the store refused: the id is DONE, or leased by someone else. */
export type Refusal = Exclude<ClaimResult, { kind: 'Claimed' }>;

/**
 * Decides what becomes of a record once its fate is known: acknowledged, parked in the DLQ, or returned to the
 * queue with its lease released.
 */
export class Settlement {
  constructor(private readonly deps: SettlementDependencies) {}

  /** Turns a commit outcome into the record's outcome: parks what is permanent, releases what is retryable. */
  async settle(pending: PendingCommit, outcome: CommitOutcome | undefined): Promise<RecordOutcome> {
    const { record, message, claim, entry } = pending;
    const { messageId } = message;
    const takeover = claim?.takeover ?? false;
    switch (outcome?.kind) {
      case 'Committed':
        this.deps.doneCache.set(doneCacheKey(messageId, entry.payloadFingerprint), true);
        return outcomeFor(record, messageId, 'Processed', {
          takeover,
          result: decodeStoredResult(entry.storedResult),
        });
      case 'Duplicate':
      case 'InFlight':
        return this.refused(record, entry.payloadFingerprint, outcome);
      case 'Failed':
        if (outcome.error instanceof ZombieCommitError) {
          this.deps.logger.warn('Zombie commit rejected: the lease was taken over; nothing was applied', {
            messageId,
            fencingToken: claim?.fencingToken,
            currentFencingToken: outcome.error.currentRecord?.fencingToken,
          });
          return outcomeFor(record, messageId, 'ZombieRejected', { reason: outcome.error.message });
        }
        return this.recordFailed(record, message, outcome.error, claim);
      case undefined:
        return outcomeFor(record, messageId, 'Retried', { reason: 'no commit outcome' });
    }
  }

  /**
   * A claim (or an optimistic commit) refused: a duplicate of a DONE record, handed its stored result, or in flight
   * elsewhere. When the record was claimed with another payload it is a payload mismatch instead.
   */
  async refused(
    record: SQSRecord,
    fingerprint: string | undefined,
    refusal: Refusal,
  ): Promise<RecordOutcome> {
    const { messageId } = refusal.record;
    const mismatch = fingerprint === undefined ? undefined : payloadMismatch(refusal.record, fingerprint);
    const outcome =
      refusal.kind === 'Duplicate'
        ? outcomeFor(record, messageId, 'Duplicate', { result: decodeStoredResult(refusal.record.result) })
        : outcomeFor(record, messageId, 'InFlight', {
            reason: `leased by ${refusal.record.owner ?? 'another consumer'} for ${refusal.leaseRemainingMs} ms more`,
            leaseRemainingMs: refusal.leaseRemainingMs,
          });
    if (mismatch !== undefined) return this.mismatched(record, mismatch, outcome);
    if (refusal.kind === 'Duplicate') this.deps.doneCache.set(doneCacheKey(messageId, fingerprint), true);
    return outcome;
  }

  /**
   * A delivery whose messageId was claimed with another payload: parked with both fingerprints, leaving the claim
   * record as it is (it belongs to the first payload); or, with `payloadMismatch: 'count'`, logged and counted and
   * otherwise treated as `otherwise` says (a duplicate, or in flight).
   */
  async mismatched(
    record: SQSRecord,
    error: PayloadMismatchError,
    otherwise: RecordOutcome,
  ): Promise<RecordOutcome> {
    const { messageId, storedFingerprint, receivedFingerprint } = error;
    const payloadMismatch = { storedFingerprint, receivedFingerprint };
    if ((this.deps.payloadMismatch ?? 'park') === 'count') {
      this.deps.logger.warn(
        'Payload mismatch: same messageId, another payload; not parked (payloadMismatch: count)',
        {
          messageId,
          ...payloadMismatch,
        },
      );
      return { ...otherwise, payloadMismatch };
    }
    const parked = await this.park(record, messageId, error.message, error.name, undefined, {
      alwaysSend: true,
      leaveClaim: true,
    });
    return { ...parked, payloadMismatch };
  }

  /** A permanent error parks the message; anything else releases the lease and returns it to the queue. */
  async recordFailed(
    record: SQSRecord,
    message: OnceflowMessage,
    error: unknown,
    claim: Claim | undefined,
  ): Promise<RecordOutcome> {
    const { messageId } = message;
    if (error instanceof ConfigurationError) {
      if (claim !== undefined) await this.deps.store.release(claim, describe(error)).catch(() => undefined);
      throw error;
    }
    if (isPermanent(error)) {
      return this.park(record, messageId, describe(error), errorType(error), claim);
    }
    if (claim !== undefined) {
      await this.deps.store.release(claim, describe(error)).catch((releaseError: unknown) =>
        this.deps.logger.warn('Could not release the lease; it will expire on its own', {
          messageId,
          error: describe(releaseError),
        }),
      );
    }
    this.deps.logger.warn('Message will be retried', { messageId, error: describe(error) });
    return outcomeFor(record, messageId, 'Retried', {
      reason: describe(error),
      takeover: claim?.takeover ?? false,
    });
  }

  /**
   * A record that would go back to the queue on its last receive: parked with the reason it would have returned
   * for, where SQS would move it to the DLQ with none. With this receive's claim (a released lease keeps its
   * token) the record is marked FAILED; a DONE record makes it a duplicate instead.
   */
  parkOnLastReceive(
    record: SQSRecord,
    outcome: RecordOutcome,
    claim: Claim | undefined,
    { receiveCount, maxReceiveCount }: { readonly receiveCount: number; readonly maxReceiveCount: number },
  ): Promise<RecordOutcome> {
    const reason =
      `${outcome.reason ?? outcome.kind} (receive ${receiveCount} of maxReceiveCount ${maxReceiveCount}: ` +
      'parked instead of returned)';
    return this.park(record, outcome.messageId, reason, RETRIES_EXHAUSTED, claim, {
      alwaysSend: outcome.messageId === undefined,
    });
  }

  parkMalformed(record: SQSRecord, error: MalformedMessageError): Promise<RecordOutcome> {
    return this.park(record, error.messageId, error.message, error.name, undefined, { alwaysSend: true });
  }

  /**
   * Marks the claim FAILED (when there is a messageId), sends the message to the DLQ with the reason, and only
   * then acknowledges. A failed send leaves it on the queue: nothing is lost.
   */
  private async park(
    record: SQSRecord,
    messageId: string | undefined,
    reason: string,
    type: string,
    claim: Claim | undefined,
    options: { alwaysSend?: boolean; leaveClaim?: boolean } = {},
  ): Promise<RecordOutcome> {
    const { deadLetters, store, logger } = this.deps;
    if (deadLetters === undefined) {
      logger.error(
        'No dead-letter queue configured; the message returns to the queue until its redrive policy',
        {
          messageId,
          reason,
        },
      );
      return outcomeFor(record, messageId, 'Retried', {
        reason: `not parked (no DLQ configured): ${reason}`,
      });
    }
    if (messageId !== undefined && options.leaveClaim !== true) {
      try {
        const parked = await store.park(messageId, reason, claim);
        // Someone else committed this id meanwhile: the handler's verdict on a copy does not matter.
        if (parked.kind === 'NotParked' && parked.record?.status === 'DONE' && options.alwaysSend !== true) {
          return outcomeFor(record, messageId, 'Duplicate');
        }
      } catch (error) {
        logger.warn('Could not mark the claim FAILED; parking the message anyway', {
          messageId,
          error: describe(error),
        });
      }
    }
    try {
      await deadLetters.park(record, reason, type);
    } catch (error) {
      logger.error('Could not send the message to the DLQ; it stays on the queue', {
        messageId,
        error: describe(error),
      });
      return outcomeFor(record, messageId, 'Retried', { reason: `DLQ send failed: ${describe(error)}` });
    }
    logger.warn('Message parked in the DLQ', { messageId, reason, errorType: type });
    return outcomeFor(record, messageId, 'Parked', { reason });
  }
}

/** The error type a message parked on its last receive carries: each receive ended in a retryable outcome. */
export const RETRIES_EXHAUSTED = 'RetriesExhausted';

/** A later copy of a messageId in the batch follows the first: acknowledged with it, or returned with it. */
export function copyOutcome(copy: SQSRecord, original: RecordOutcome | undefined): RecordOutcome {
  if (original !== undefined && ACKNOWLEDGED_KINDS.has(original.kind)) {
    return outcomeFor(copy, original.messageId, 'Duplicate', {
      reason: 'same messageId earlier in the batch',
      result: original.result,
    });
  }
  return outcomeFor(copy, original?.messageId, 'Retried', {
    reason: 'same messageId earlier in the batch',
  });
}

/** A record's outcome, with only the details that apply. */
export function outcomeFor(
  record: SQSRecord,
  messageId: string | undefined,
  kind: RecordOutcomeKind,
  details: {
    reason?: string;
    takeover?: boolean;
    cached?: boolean;
    leaseRemainingMs?: number;
    result?: unknown;
  } = {},
): RecordOutcome {
  return {
    sqsMessageId: record.messageId,
    messageId,
    kind,
    takeover: details.takeover ?? false,
    ...(details.reason === undefined ? {} : { reason: details.reason }),
    ...(details.cached === true ? { cached: true } : {}),
    ...(details.leaseRemainingMs === undefined ? {} : { leaseRemainingMs: details.leaseRemainingMs }),
    ...(details.result === undefined ? {} : { result: details.result }),
  };
}

/**
 * The warm-container cache's key of a DONE message: its id and its payload's fingerprint, so only the same id with
 * the same payload is answered from the cache; another payload goes to the claims table and meets the mismatch.
 */
export function doneCacheKey(messageId: string, fingerprint: string | undefined): string {
  return fingerprint === undefined ? messageId : `${messageId}\u0000${fingerprint}`;
}

/** Permanent: the handler said so (PermanentError), or Onceflow knows retrying cannot help. */
function isPermanent(error: unknown): boolean {
  return error instanceof OnceflowError && !error.retryable;
}

function errorType(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}

export function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
