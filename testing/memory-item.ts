import { ClaimStatus } from '../lambda/core/claim-record.js';
import type { StagedWrite } from '../lambda/core/staged-writes.js';

/** The claims-table conditions and update effects of ClaimStore, evaluated on an in-memory item. */

/**
 * A claims-table item as DynamoDB holds it: attributes that were never set or were REMOVEd are absent.
 * Records are read back through `toClaimRecord`, as the real store reads ALL_OLD, so both stores report the
 * same shapes.
 */
export type Item = Readonly<Record<string, unknown>>;

// The claim condition of ClaimStore, piece by piece. In DynamoDB a comparison with a missing attribute is
// false, hence the typeof checks. An expired record counts as absent because TTL deletion is lazy.
const isExpired = (item: Item, nowMs: number) =>
  typeof item.expiresAtEpochSeconds === 'number' && item.expiresAtEpochSeconds < Math.floor(nowMs / 1000);
const isFailed = (item: Item) => item.status === ClaimStatus.FAILED;
const isLeaseOver = (item: Item, nowMs: number) =>
  item.status === ClaimStatus.PROCESSING &&
  typeof item.leaseExpiresAtMs === 'number' &&
  item.leaseExpiresAtMs < nowMs;

/** CLAIMABLE: absent OR expired OR FAILED OR (PROCESSING AND lease over). */
export function isClaimable(item: Item | undefined, nowMs: number): boolean {
  return item === undefined || isExpired(item, nowMs) || isFailed(item) || isLeaseOver(item, nowMs);
}

/** HOLDS_LEASE: our lease token is on record AND the record is still PROCESSING. */
export function holdsLease(item: Item | undefined, leaseToken: string): boolean {
  return item !== undefined && item.leaseToken === leaseToken && item.status === ClaimStatus.PROCESSING;
}

/** HOLDS_LIVE_LEASE: HOLDS_LEASE AND the lease has not ended. */
export function holdsLiveLease(item: Item | undefined, leaseToken: string, nowMs: number): boolean {
  return (
    holdsLease(item, leaseToken) &&
    typeof item?.leaseExpiresAtMs === 'number' &&
    item.leaseExpiresAtMs >= nowMs
  );
}

/** An UpdateExpression's effect: SET these attributes, then REMOVE those. */
export function updated(
  item: Item | undefined,
  set: Readonly<Record<string, unknown>>,
  remove: readonly string[],
): Item {
  return Object.fromEntries(Object.entries({ ...item, ...set }).filter(([name]) => !remove.includes(name)));
}

/** `ADD #name :one` on a number attribute that may be absent (absent counts as 0). */
export function plusOne(item: Item | undefined, name: string): number {
  const value = item?.[name];
  return (typeof value === 'number' ? value : 0) + 1;
}

/** `if_not_exists(#name, :value)`. */
export function ifNotExists(item: Item | undefined, name: string, value: unknown): unknown {
  return item?.[name] ?? value;
}

/** One commit that landed: the DONE record and the staged writes that went with it. */
export interface CommittedMessage {
  readonly messageId: string;
  /** The fencing token on the DONE record (0 never: optimistic commits add one too). */
  readonly fencingToken: number;
  readonly committedAtMs: number;
  /** 'lease' when the commit carried a claim, 'optimistic' when it was conditioned on the claim condition. */
  readonly mode: 'lease' | 'optimistic';
  readonly stagedWrites: readonly StagedWrite[];
}
