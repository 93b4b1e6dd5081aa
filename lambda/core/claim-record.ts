/**
 * The claim record: one item per messageId in the claims table (docs/design.md section 2). This file is the single
 * source of truth for its key, attribute names and TTL attribute; the CDK construct and the local stack read them
 * from here.
 */

export const ClaimStatus = {
  PROCESSING: 'PROCESSING',
  DONE: 'DONE',
  FAILED: 'FAILED',
} as const;
export type ClaimStatus = (typeof ClaimStatus)[keyof typeof ClaimStatus];

export interface ClaimRecord {
  readonly messageId: string;
  readonly status: ClaimStatus;
  /** Random id of the current (or last) owner. */
  readonly leaseToken?: string;
  /** +1 on every claim and takeover; pass it downstream to fence out stale owners. */
  readonly fencingToken: number;
  /** The owner must commit before this (worker clock, epoch ms). */
  readonly leaseExpiresAtMs?: number;
  /** DynamoDB TTL attribute. Every condition compares it, since TTL deletion is lazy. */
  readonly expiresAtEpochSeconds: number;
  readonly firstSeenAtMs?: number;
  readonly doneAtMs?: number;
  readonly owner?: string;
  readonly attempts?: number;
  readonly lastError?: string;
  /** SHA-256 (hex) of the canonical JSON of the payload it was claimed with; absent on records older than it. */
  readonly payloadFingerprint?: string;
  /** The handler's return value as JSON, on a DONE record, when the consumer stores results (`storeResult`). */
  readonly result?: string;
}

const STATUSES: ReadonlySet<string> = new Set(Object.values(ClaimStatus));

function isClaimStatus(value: unknown): value is ClaimStatus {
  return typeof value === 'string' && STATUSES.has(value);
}

/** Reads an unmarshalled DynamoDB item as a ClaimRecord, refusing one that is not shaped like a claim. */
export function toClaimRecord(item: Record<string, unknown>): ClaimRecord {
  const { messageId, status } = item;
  if (typeof messageId !== 'string' || !isClaimStatus(status)) {
    throw new TypeError(`Not a claim record: ${JSON.stringify(item)}`);
  }
  return {
    messageId,
    status,
    fencingToken: numberOr(item.fencingToken, 0),
    expiresAtEpochSeconds: numberOr(item.expiresAtEpochSeconds, 0),
    leaseToken: stringOrUndefined(item.leaseToken),
    leaseExpiresAtMs: numberOrUndefined(item.leaseExpiresAtMs),
    firstSeenAtMs: numberOrUndefined(item.firstSeenAtMs),
    doneAtMs: numberOrUndefined(item.doneAtMs),
    owner: stringOrUndefined(item.owner),
    attempts: numberOrUndefined(item.attempts),
    lastError: stringOrUndefined(item.lastError),
    payloadFingerprint: stringOrUndefined(item.payloadFingerprint),
    result: stringOrUndefined(item.result),
  };
}

const numberOrUndefined = (value: unknown) => (typeof value === 'number' ? value : undefined);
const numberOr = (value: unknown, fallback: number) => numberOrUndefined(value) ?? fallback;
const stringOrUndefined = (value: unknown) => (typeof value === 'string' ? value : undefined);
