import { type ClaimRecord, ClaimStatus, toClaimRecord } from '../lambda/core/claim-record.js';
import {
  type Claim,
  type ClaimResult,
  type CommitEntry,
  type CommitOutcome,
  grantedClaim,
  type ParkResult,
  refusal,
} from '../lambda/core/claim-results.js';
import type { ClaimDetails, ClaimStoreOptions } from '../lambda/core/claim-store.js';
import {
  InvalidStagedWritesError,
  LeaseLostError,
  MessageIdValidationError,
  type OnceflowError,
  ZombieCommitError,
} from '../lambda/core/errors.js';
import { itemIdentity } from '../lambda/core/grouped-commit.js';
import { LeaseTerms } from '../lambda/core/lease-terms.js';
import { validateMessageId } from '../lambda/core/message-id.js';
import { MAX_STAGED_WRITES, type StagedWrite } from '../lambda/core/staged-writes.js';
import type { ClaimStorePort } from '../lambda/sqs/batch-processor.js';
import {
  type CommittedMessage,
  holdsLease,
  holdsLiveLease,
  type Item,
  ifNotExists,
  isClaimable,
  plusOne,
  updated,
} from './memory-item.js';

/** ClaimStore's options without a table: the clock, lease, window, owner and lease tokens. */
export type MemoryClaimStoreOptions = Omit<ClaimStoreOptions, 'tableName' | 'dynamoDb'>;

/**
 * An in-memory claim store with the DynamoDB `ClaimStore`'s protocol: the same claim record fields, the same
 * conditions (CLAIMABLE, HOLDS_LEASE), the same outcome kinds, fencing tokens and attempt counts, and a
 * `ZombieCommitError` when a commit's lease is no longer held. Each operation is atomic, like one conditional
 * write. Records are never deleted: as with DynamoDB's lazy TTL, an expired record stays and is claimable.
 *
 * Staged writes are NOT executed and their own conditions NOT evaluated (there is no table): the store keeps
 * the writes that committed with each DONE record (`committedWrites`, `commits`) for a test to assert. It checks
 * only at most `MAX_STAGED_WRITES` per message and no two Update/Delete/ConditionCheck writes on one item; for
 * the rest, use DynamoDB Local (`startLocalAws`).
 *
 * @example
 * const store = new MemoryClaimStore();
 * const result = await store.claim('order-42');
 * if (result.kind === 'Claimed') {
 *   const put = { Put: { TableName: 'orders', Item: { id: 'order-42' } } };
 *   await store.commitAll([{ messageId: 'order-42', claim: result.claim, stagedWrites: [put] }]);
 * }
 * store.record('order-42')?.status; // 'DONE'
 * store.committedWrites('order-42'); // [{ Put: ... }]
 */
export class MemoryClaimStore implements ClaimStorePort {
  private readonly terms: LeaseTerms;
  private readonly items = new Map<string, Item>();
  private readonly log: CommittedMessage[] = [];

  constructor(options: MemoryClaimStoreOptions = {}) {
    this.terms = new LeaseTerms(options, 'in-memory');
  }

  /** How long a claim is held before another consumer may take it over. */
  get leaseMs(): number {
    return this.terms.leaseMs;
  }

  /** How long a messageId is remembered: the TTL of its claim record. */
  get dedupWindowSeconds(): number {
    return this.terms.dedupWindowSeconds;
  }

  /** Epoch milliseconds, as the store reads them. */
  get clock(): () => number {
    return this.terms.clock;
  }

  /**
   * Claims messageId where CLAIMABLE holds; otherwise says why not (Duplicate or InFlight), as ClaimStore
   * does.
   */
  async claim(messageId: string, details: ClaimDetails = {}): Promise<ClaimResult> {
    const { nowMs, leaseToken, leaseExpiresAtMs } = this.terms.start(messageId);
    const old = this.items.get(messageId);
    if (old !== undefined && !isClaimable(old, nowMs)) return refusal(messageId, old, nowMs);
    this.items.set(
      messageId,
      updated(
        old,
        {
          messageId,
          status: ClaimStatus.PROCESSING,
          leaseToken,
          leaseExpiresAtMs,
          expiresAtEpochSeconds: this.terms.expiresAtEpochSeconds(nowMs),
          owner: this.terms.owner,
          firstSeenAtMs: ifNotExists(old, 'firstSeenAtMs', nowMs),
          fencingToken: plusOne(old, 'fencingToken'),
          attempts: plusOne(old, 'attempts'),
          ...fingerprintOf(details.payloadFingerprint),
        },
        ['doneAtMs', 'result', ...(details.payloadFingerprint === undefined ? ['payloadFingerprint'] : [])],
      ),
    );
    const previous = old === undefined ? undefined : toClaimRecord(old);
    return {
      kind: 'Claimed',
      claim: grantedClaim({ messageId, leaseToken, leaseExpiresAtMs }, previous, nowMs),
    };
  }

  /**
   * Commits each entry on its own, in order, all with one clock reading (as ClaimStore does). An entry with a
   * claim needs HOLDS_LEASE, else it fails with ZombieCommitError; one without needs CLAIMABLE, else it reads
   * as Duplicate or InFlight. One outcome per entry, in order.
   */
  async commitAll(entries: readonly CommitEntry[]): Promise<CommitOutcome[]> {
    const nowMs = this.terms.clock();
    return entries.map((entry) => this.commitOne(entry, nowMs));
  }

  /** The messageIds DONE within the dedup window, as ClaimStore's read before an optimistic commit finds them. */
  async findDone(messageIds: readonly string[]): Promise<Map<string, ClaimRecord>> {
    const nowMs = this.terms.clock();
    const done = new Map<string, ClaimRecord>();
    for (const messageId of messageIds) {
      const item = this.items.get(messageId);
      if (item === undefined || isClaimable(item, nowMs) || item.status !== ClaimStatus.DONE) continue;
      done.set(messageId, toClaimRecord(item));
    }
    return done;
  }

  /**
   * Holds the claim `leaseMs` longer from now, only while its lease is held and has not ended, as ClaimStore
   * does; throws LeaseLostError otherwise. Returns the new end of the lease.
   */
  async extend(claim: Claim, leaseMs: number = this.terms.leaseMs): Promise<number> {
    const nowMs = this.terms.clock();
    const old = this.items.get(claim.messageId);
    if (!holdsLiveLease(old, claim.leaseToken, nowMs)) {
      const record = old === undefined ? undefined : toClaimRecord(old);
      throw new LeaseLostError(claim.messageId, claim.leaseToken, record);
    }
    const leaseExpiresAtMs = nowMs + leaseMs;
    this.items.set(claim.messageId, updated(old, { leaseExpiresAtMs }, []));
    return leaseExpiresAtMs;
  }

  /**
   * Ends the lease now (leaseExpiresAtMs 0), only while it is held. False when the lease was already lost.
   */
  async release(claim: Claim, reason?: string): Promise<boolean> {
    const old = this.items.get(claim.messageId);
    if (!holdsLease(old, claim.leaseToken)) return false;
    this.items.set(
      claim.messageId,
      updated(old, { leaseExpiresAtMs: 0, lastError: reason ?? 'released' }, []),
    );
    return true;
  }

  /**
   * Marks messageId FAILED: with the claim, only while its lease is held; without one, only where CLAIMABLE
   * holds, so a DONE record or another consumer's live lease is never overwritten.
   */
  async park(messageId: string, reason: string, claim?: Claim): Promise<ParkResult> {
    validateMessageId(messageId);
    const nowMs = this.terms.clock();
    const old = this.items.get(messageId);
    const allowed = claim === undefined ? isClaimable(old, nowMs) : holdsLease(old, claim.leaseToken);
    if (!allowed) return { kind: 'NotParked', record: old === undefined ? undefined : toClaimRecord(old) };
    const failed = {
      messageId,
      status: ClaimStatus.FAILED,
      lastError: reason,
      expiresAtEpochSeconds: this.terms.expiresAtEpochSeconds(nowMs),
    };
    // Without a claim no lease was taken, so the fencing token is left alone (absent reads as 0), as in
    // ClaimStore.
    const set =
      claim === undefined
        ? {
            ...failed,
            owner: this.terms.owner,
            firstSeenAtMs: ifNotExists(old, 'firstSeenAtMs', nowMs),
            attempts: plusOne(old, 'attempts'),
          }
        : failed;
    this.items.set(messageId, updated(old, set, ['leaseExpiresAtMs']));
    return { kind: 'Parked' };
  }

  /** The claim record of messageId, as DynamoDB would return it (expired records included). */
  record(messageId: string): ClaimRecord | undefined {
    const item = this.items.get(messageId);
    return item === undefined ? undefined : toClaimRecord(item);
  }

  /** Every claim record, by messageId: a snapshot that later operations do not change. */
  records(): ReadonlyMap<string, ClaimRecord> {
    return new Map([...this.items].map(([messageId, item]) => [messageId, toClaimRecord(item)]));
  }

  /**
   * The staged writes that committed with messageId's latest DONE record; undefined when it never committed.
   */
  committedWrites(messageId: string): readonly StagedWrite[] | undefined {
    let latest: CommittedMessage | undefined;
    for (const commit of this.log) if (commit.messageId === messageId) latest = commit;
    return latest?.stagedWrites;
  }

  /**
   * Every commit that landed, in order. A messageId appears twice only if it committed again after its
   * window.
   */
  commits(): readonly CommittedMessage[] {
    return [...this.log];
  }

  private commitOne(entry: CommitEntry, nowMs: number): CommitOutcome {
    const { messageId, claim } = entry;
    const invalid = this.invalid(entry);
    if (invalid !== undefined) return { kind: 'Failed', error: invalid };
    const old = this.items.get(messageId);
    let done: Item;
    if (claim !== undefined) {
      if (!holdsLease(old, claim.leaseToken)) {
        const record = old === undefined ? undefined : toClaimRecord(old);
        return { kind: 'Failed', error: new ZombieCommitError(messageId, claim.leaseToken, record) };
      }
      done = updated(
        old,
        {
          status: ClaimStatus.DONE,
          doneAtMs: nowMs,
          expiresAtEpochSeconds: this.terms.expiresAtEpochSeconds(nowMs),
          ...resultOf(entry.storedResult),
        },
        ['leaseExpiresAtMs'],
      );
    } else {
      if (old !== undefined && !isClaimable(old, nowMs)) return refusal(messageId, old, nowMs);
      done = updated(
        old,
        {
          messageId,
          status: ClaimStatus.DONE,
          doneAtMs: nowMs,
          expiresAtEpochSeconds: this.terms.expiresAtEpochSeconds(nowMs),
          owner: this.terms.owner,
          firstSeenAtMs: ifNotExists(old, 'firstSeenAtMs', nowMs),
          fencingToken: plusOne(old, 'fencingToken'),
          attempts: plusOne(old, 'attempts'),
          ...fingerprintOf(entry.payloadFingerprint),
          ...resultOf(entry.storedResult),
        },
        [
          'leaseToken',
          'leaseExpiresAtMs',
          ...(entry.payloadFingerprint === undefined ? ['payloadFingerprint'] : []),
          ...(entry.storedResult === undefined ? ['result'] : []),
        ],
      );
    }
    this.items.set(messageId, done);
    this.log.push({
      messageId,
      fencingToken: toClaimRecord(done).fencingToken,
      committedAtMs: nowMs,
      mode: claim === undefined ? 'optimistic' : 'lease',
      // A copy: the handler's transaction is not ours to keep.
      stagedWrites: Object.freeze([...entry.stagedWrites]),
    });
    return { kind: 'Committed' };
  }

  /** What DynamoDB would refuse before evaluating any condition; nothing is applied then. */
  private invalid(entry: CommitEntry): OnceflowError | undefined {
    const { messageId, stagedWrites } = entry;
    try {
      validateMessageId(messageId);
    } catch (error) {
      if (error instanceof MessageIdValidationError) return error;
      throw error;
    }
    if (stagedWrites.length > MAX_STAGED_WRITES) {
      return new InvalidStagedWritesError(
        messageId,
        `${stagedWrites.length} staged writes; one transaction holds at most ${MAX_STAGED_WRITES} besides the claim record.`,
      );
    }
    const seen = new Map<string, number>();
    for (const [index, write] of stagedWrites.entries()) {
      const identity = itemIdentity(write);
      if (identity === undefined) continue;
      const earlier = seen.get(identity);
      if (earlier !== undefined) {
        return new InvalidStagedWritesError(
          messageId,
          `staged writes #${earlier} and #${index} operate on one item (${identity}); ` +
            'a DynamoDB transaction cannot include multiple operations on one item.',
        );
      }
      seen.set(identity, index);
    }
    return undefined;
  }
}

const fingerprintOf = (payloadFingerprint: string | undefined) =>
  payloadFingerprint === undefined ? {} : { payloadFingerprint };
const resultOf = (result: string | undefined) => (result === undefined ? {} : { result });
