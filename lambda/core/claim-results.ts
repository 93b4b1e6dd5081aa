import { errorName, isMissingTable } from './aws-errors.js';
import { type ClaimRecord, ClaimStatus, toClaimRecord } from './claim-record.js';
import { ClaimStoreUnavailableError, ConfigurationError, type OnceflowError } from './errors.js';
import type { StagedWrite } from './staged-writes.js';

/** A claim this consumer holds: the right to commit messageId's effects while leaseToken is still on record. */
export interface Claim {
  readonly messageId: string;
  readonly leaseToken: string;
  /** Strictly greater than every earlier owner's; pass it downstream. */
  readonly fencingToken: number;
  /** 1 for the first claim; counts takeovers and redrives too. */
  readonly attempt: number;
  readonly leaseExpiresAtMs: number;
  /** True when this claim took over an expired lease of another owner. */
  readonly takeover: boolean;
}

export type ClaimResult =
  | { readonly kind: 'Claimed'; readonly claim: Claim }
  | { readonly kind: 'Duplicate'; readonly record: ClaimRecord }
  | { readonly kind: 'InFlight'; readonly record: ClaimRecord; readonly leaseRemainingMs: number };

export type OptimisticCommitResult =
  | { readonly kind: 'Committed'; readonly messageId: string }
  | Exclude<ClaimResult, { kind: 'Claimed' }>;

/** One message to commit: with its claim (lease mode) or without (optimistic mode). */
export interface CommitEntry {
  readonly messageId: string;
  readonly claim?: Claim;
  readonly stagedWrites: readonly StagedWrite[];
  /** Kept on the DONE record (optimistic mode; lease mode keeps the claim's): see `payloadFingerprint`. */
  readonly payloadFingerprint?: string;
  /** The handler's result as JSON, kept on the DONE record for duplicates (`storeResult`). */
  readonly storedResult?: string;
}

export type CommitOutcome =
  | { readonly kind: 'Committed' }
  /** Optimistic mode only: another consumer got there first. */
  | Exclude<ClaimResult, { kind: 'Claimed' }>
  | { readonly kind: 'Failed'; readonly error: OnceflowError };

export type ParkResult =
  | { readonly kind: 'Parked' }
  /** The record is DONE or leased by someone else, so it was left as it is. */
  | { readonly kind: 'NotParked'; readonly record: ClaimRecord | undefined };

/** Why a claim condition failed, from the old item: DONE -> Duplicate; a live lease -> InFlight. */
export function refusal(
  messageId: string,
  item: Record<string, unknown> | undefined,
  nowMs: number,
): Exclude<ClaimResult, { kind: 'Claimed' }> {
  if (item === undefined) {
    // Only possible when a concurrent writer deleted the record between condition and read: try again.
    throw new ClaimStoreUnavailableError('claim', messageId, 'ConditionFailedWithoutItem');
  }
  const record = toClaimRecord(item);
  if (record.status === ClaimStatus.DONE) return { kind: 'Duplicate', record };
  return {
    kind: 'InFlight',
    record,
    leaseRemainingMs: Math.max(0, (record.leaseExpiresAtMs ?? nowMs) - nowMs),
  };
}

/** A failed request as the caller should treat it: a missing table is configuration, the rest may pass. */
export function unavailable(
  operation: 'claim' | 'release' | 'park' | 'extend' | 'read',
  messageId: string,
  tableName: string,
  error: unknown,
): ClaimStoreUnavailableError | ConfigurationError {
  if (isMissingTable(error)) {
    return new ConfigurationError(
      `${operation} of ${messageId} failed: the claims table '${tableName}' does not exist (ResourceNotFoundException).`,
      { cause: error },
    );
  }
  return new ClaimStoreUnavailableError(operation, messageId, errorName(error), { cause: error });
}

/**
 * The claim a successful conditional claim grants, from the record it replaced (ALL_OLD): fencing token and
 * attempt one above the old ones, and a takeover when it took a lease that expired without being released.
 */
export function grantedClaim(
  claim: { readonly messageId: string; readonly leaseToken: string; readonly leaseExpiresAtMs: number },
  previous: ClaimRecord | undefined,
  nowMs: number,
): Claim {
  return {
    ...claim,
    fencingToken: (previous?.fencingToken ?? 0) + 1,
    attempt: (previous?.attempts ?? 0) + 1,
    // A takeover takes a lease that expired while its owner still held it; a released lease (expiry 0, after a
    // retryable error) is an ordinary retry. An expired record or a FAILED one is neither.
    takeover:
      previous?.status === ClaimStatus.PROCESSING &&
      previous.expiresAtEpochSeconds >= Math.floor(nowMs / 1000) &&
      (previous.leaseExpiresAtMs ?? 0) > 0,
  };
}
