import { hostname } from 'node:os';
import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { CLAIMS_TABLE } from '../contract/index.js';
import { readConditionFailure } from './aws-errors.js';
import {
  CLAIMABLE,
  claimConditionValues,
  expressions,
  HOLDS_LEASE,
  HOLDS_LIVE_LEASE,
} from './claim-expressions.js';
import { type ClaimRecord, ClaimStatus, toClaimRecord } from './claim-record.js';
import {
  type Claim,
  type ClaimResult,
  type CommitEntry,
  type CommitOutcome,
  grantedClaim,
  type OptimisticCommitResult,
  type ParkResult,
  refusal,
  unavailable,
} from './claim-results.js';
import { readDoneRecords } from './done-records.js';
import { ClaimStoreUnavailableError, LeaseLostError } from './errors.js';
import { commitGrouped } from './grouped-commit.js';
import { LeaseTerms, type LeaseTermsOptions } from './lease-terms.js';
import { mayHaveApplied, ownClaim } from './lost-responses.js';
import { validateMessageId } from './message-id.js';
import type { StagedWrite } from './staged-writes.js';

/** What a claim records besides the lease. */
export interface ClaimDetails {
  /**
   * SHA-256 (hex) of the payload (`payloadFingerprint`), kept on the record so a later delivery of the messageId
   * with another payload is told apart from a duplicate. Left out, the record keeps none.
   */
  readonly payloadFingerprint?: string;
}

export interface ClaimStoreOptions extends LeaseTermsOptions {
  /** The claims table: partition key `messageId` (string), TTL attribute `expiresAtEpochSeconds`. */
  readonly tableName: string;
  readonly dynamoDb: DynamoDBDocumentClient;
}

/**
 * The claim store: claims messageIds in DynamoDB with conditional writes and commits their effects atomically
 * with the DONE record (docs/design.md sections 2 and 3). It knows nothing of SQS.
 *
 * @example
 * const store = new ClaimStore({ tableName: 'claims', dynamoDb: DynamoDBDocumentClient.from(new DynamoDBClient({})) });
 * const result = await store.claim('order-42');
 * if (result.kind === 'Claimed') {
 *   await store.commit(result.claim, [{ Put: { TableName: 'orders', Item: { id: 'order-42' } } }]);
 * }
 */
export class ClaimStore {
  readonly tableName: string;
  private readonly dynamoDb: DynamoDBDocumentClient;
  private readonly terms: LeaseTerms;

  constructor(options: ClaimStoreOptions) {
    this.tableName = options.tableName;
    this.dynamoDb = options.dynamoDb;
    this.terms = new LeaseTerms(options, `${hostname()}:${process.pid}`);
  }

  /** How long a claim is held before another consumer may take it over. */
  get leaseMs(): number {
    return this.terms.leaseMs;
  }

  /** How long a messageId is remembered: the TTL of its claim record. */
  get dedupWindowSeconds(): number {
    return this.terms.dedupWindowSeconds;
  }

  /** One conditional write. On failure the old item (ALL_OLD) says whether it is a duplicate or in flight. */
  async claim(messageId: string, details: ClaimDetails = {}): Promise<ClaimResult> {
    const { nowMs, leaseToken, leaseExpiresAtMs } = this.terms.start(messageId);
    const { payloadFingerprint } = details;
    // A record past its window may still hold an old payload's fingerprint and result: this claim replaces them.
    const fingerprint =
      payloadFingerprint === undefined
        ? { set: '', remove: ', #payloadFingerprint', values: {} }
        : {
            set: ', #payloadFingerprint = :payloadFingerprint',
            remove: '',
            values: { ':payloadFingerprint': payloadFingerprint },
          };
    try {
      const { Attributes: previous } = await this.dynamoDb.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [CLAIMS_TABLE.partitionKey.name]: messageId },
          ...expressions(
            'SET #status = :processing, #leaseToken = :leaseToken, #leaseExpiresAtMs = :leaseExpiresAtMs, ' +
              `#expiresAt = :expiresAt, #owner = :owner, #firstSeenAtMs = if_not_exists(#firstSeenAtMs, :nowMs)${fingerprint.set} ` +
              `ADD #fencingToken :one, #attempts :one REMOVE #doneAtMs, #result${fingerprint.remove}`,
            CLAIMABLE,
          ),
          ExpressionAttributeValues: {
            ...claimConditionValues(nowMs),
            ...fingerprint.values,
            ':leaseToken': leaseToken,
            ':leaseExpiresAtMs': leaseExpiresAtMs,
            ':expiresAt': this.terms.expiresAtEpochSeconds(nowMs),
            ':owner': this.terms.owner,
            ':one': 1,
          },
          ReturnValues: 'ALL_OLD',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      const old = previous === undefined ? undefined : toClaimRecord(previous);
      return {
        kind: 'Claimed',
        claim: grantedClaim({ messageId, leaseToken, leaseExpiresAtMs }, old, nowMs),
      };
    } catch (error) {
      const failure = readConditionFailure(error);
      if (failure === undefined) {
        // The claim may have landed with its answer lost: end that lease now, so the redelivery need not wait.
        if (mayHaveApplied(error)) {
          await this.release({ messageId, leaseToken }, 'claim response lost').catch(() => false);
        }
        throw unavailable('claim', messageId, this.tableName, error);
      }
      // The SDK sent the claim again after losing the answer: the lease it found is this claim's own.
      const own = ownClaim({ messageId, leaseToken, leaseExpiresAtMs }, failure.item);
      if (own !== undefined) return { kind: 'Claimed', claim: own };
      return refusal(messageId, failure.item, nowMs);
    }
  }

  /**
   * Marks the claim DONE and applies the staged writes in one TransactWriteItems. Throws ZombieCommitError when
   * the lease is no longer held, StagedWriteConditionFailedError when a staged write's own condition fails; in both
   * cases nothing is applied.
   */
  async commit(claim: Claim, stagedWrites: readonly StagedWrite[] = []): Promise<void> {
    const [outcome] = await this.commitAll([{ messageId: claim.messageId, claim, stagedWrites }]);
    if (outcome?.kind === 'Failed') throw outcome.error;
  }

  /**
   * Optimistic mode: no PROCESSING record. The DONE record carries the claim condition and commits with the staged
   * writes in one transaction, so a lost race applies nothing and reads as a duplicate (or in flight, when a
   * lease-mode consumer holds the id).
   */
  async commitOptimistic(
    messageId: string,
    stagedWrites: readonly StagedWrite[] = [],
  ): Promise<OptimisticCommitResult> {
    validateMessageId(messageId);
    const [outcome] = await this.commitAll([{ messageId, stagedWrites }]);
    if (outcome === undefined) throw new ClaimStoreUnavailableError('commit', messageId, 'NoOutcome');
    if (outcome.kind === 'Failed') throw outcome.error;
    return outcome.kind === 'Committed' ? { kind: 'Committed', messageId } : outcome;
  }

  /**
   * Commits many messages with as few TransactWriteItems as fit (100 items each, no item twice). Each member is
   * all-or-nothing with its DONE record. A cancelled group is split by CancellationReasons: guilty members get
   * their outcome, innocent ones are sent again. Returns one outcome per entry, in order.
   */
  async commitAll(entries: readonly CommitEntry[]): Promise<CommitOutcome[]> {
    const nowMs = this.terms.clock();
    return commitGrouped(
      {
        dynamoDb: this.dynamoDb,
        tableName: this.tableName,
        nowMs,
        doneWrite: (entry) => this.doneWrite(entry, nowMs),
      },
      entries,
    );
  }

  /**
   * The messageIds already DONE within the dedup window, from one eventually consistent read of the batch. Used
   * before an optimistic commit so a known duplicate never cancels, and is never charged for, a whole transaction.
   * A miss is harmless: the commit's condition still refuses it.
   */
  async findDone(messageIds: readonly string[]): Promise<Map<string, ClaimRecord>> {
    try {
      return await readDoneRecords(this.dynamoDb, this.tableName, messageIds, this.terms.clock());
    } catch (error) {
      throw unavailable('read', messageIds[0] ?? '', this.tableName, error);
    }
  }

  /**
   * Holds the claim `leaseMs` longer from now (a heartbeat), only while its lease is held and has not ended.
   * Returns the new end of the lease; throws LeaseLostError when the lease ended, was released or was taken over.
   */
  async extend(claim: Claim, leaseMs: number = this.terms.leaseMs): Promise<number> {
    const nowMs = this.terms.clock();
    const leaseExpiresAtMs = nowMs + leaseMs;
    try {
      await this.dynamoDb.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [CLAIMS_TABLE.partitionKey.name]: claim.messageId },
          ...expressions('SET #leaseExpiresAtMs = :leaseExpiresAtMs', HOLDS_LIVE_LEASE),
          ExpressionAttributeValues: {
            ':leaseExpiresAtMs': leaseExpiresAtMs,
            ':leaseToken': claim.leaseToken,
            ':processing': ClaimStatus.PROCESSING,
            ':nowMs': nowMs,
          },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return leaseExpiresAtMs;
    } catch (error) {
      const failure = readConditionFailure(error);
      if (failure === undefined) throw unavailable('extend', claim.messageId, this.tableName, error);
      const record = failure.item === undefined ? undefined : toClaimRecord(failure.item);
      throw new LeaseLostError(claim.messageId, claim.leaseToken, record);
    }
  }

  /** Ends the lease now, on a retryable error, so the retry need not wait. False when the lease was already lost. */
  async release(claim: Pick<Claim, 'messageId' | 'leaseToken'>, reason?: string): Promise<boolean> {
    try {
      await this.dynamoDb.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [CLAIMS_TABLE.partitionKey.name]: claim.messageId },
          ...expressions('SET #leaseExpiresAtMs = :zero, #lastError = :reason', HOLDS_LEASE),
          ExpressionAttributeValues: {
            ':zero': 0,
            ':reason': reason ?? 'released',
            ':leaseToken': claim.leaseToken,
            ':processing': ClaimStatus.PROCESSING,
          },
        }),
      );
      return true;
    } catch (error) {
      if (readConditionFailure(error) !== undefined) return false;
      throw unavailable('release', claim.messageId, this.tableName, error);
    }
  }

  /**
   * Marks messageId FAILED with the reason, on a permanent error. With the claim, only while its lease is held;
   * without one (a message rejected before it was claimed), only where a claim would succeed, so a DONE record is
   * never downgraded. A FAILED record is claimable again, so a redriven message can still apply once.
   */
  async park(messageId: string, reason: string, claim?: Claim): Promise<ParkResult> {
    validateMessageId(messageId);
    const nowMs = this.terms.clock();
    const setFailed = 'SET #status = :failed, #lastError = :reason, #expiresAt = :expiresAt';
    const endLease = 'REMOVE #leaseExpiresAtMs';
    const common = {
      TableName: this.tableName,
      Key: { [CLAIMS_TABLE.partitionKey.name]: messageId },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
    };
    const command =
      claim === undefined
        ? new UpdateCommand({
            ...common,
            ...expressions(
              `${setFailed}, #owner = :owner, #firstSeenAtMs = if_not_exists(#firstSeenAtMs, :nowMs) ADD #attempts :one ${endLease}`,
              CLAIMABLE,
            ),
            ExpressionAttributeValues: {
              ...claimConditionValues(nowMs),
              ':reason': reason,
              ':expiresAt': this.terms.expiresAtEpochSeconds(nowMs),
              ':owner': this.terms.owner,
              ':one': 1,
            },
          })
        : new UpdateCommand({
            ...common,
            ...expressions(`${setFailed} ${endLease}`, HOLDS_LEASE),
            ExpressionAttributeValues: {
              ':failed': ClaimStatus.FAILED,
              ':processing': ClaimStatus.PROCESSING,
              ':reason': reason,
              ':expiresAt': this.terms.expiresAtEpochSeconds(nowMs),
              ':leaseToken': claim.leaseToken,
            },
          });
    try {
      await this.dynamoDb.send(command);
      return { kind: 'Parked' };
    } catch (error) {
      const failure = readConditionFailure(error);
      if (failure === undefined) throw unavailable('park', messageId, this.tableName, error);
      return {
        kind: 'NotParked',
        record: failure.item === undefined ? undefined : toClaimRecord(failure.item),
      };
    }
  }

  /** The DONE write: conditioned on our lease, or in optimistic mode on the claim condition itself. */
  private doneWrite(entry: CommitEntry, nowMs: number): StagedWrite {
    const key = { [CLAIMS_TABLE.partitionKey.name]: entry.messageId };
    const result =
      entry.storedResult === undefined
        ? { set: '', values: {} }
        : { set: ', #result = :result', values: { ':result': entry.storedResult } };
    if (entry.claim !== undefined) {
      return {
        Update: {
          TableName: this.tableName,
          Key: key,
          ...expressions(
            `SET #status = :done, #doneAtMs = :nowMs, #expiresAt = :expiresAt${result.set} REMOVE #leaseExpiresAtMs`,
            HOLDS_LEASE,
          ),
          ExpressionAttributeValues: {
            ...result.values,
            ':done': ClaimStatus.DONE,
            ':processing': ClaimStatus.PROCESSING,
            ':nowMs': nowMs,
            ':expiresAt': this.terms.expiresAtEpochSeconds(nowMs),
            ':leaseToken': entry.claim.leaseToken,
          },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        },
      };
    }
    const fingerprint =
      entry.payloadFingerprint === undefined
        ? { set: '', remove: ', #payloadFingerprint', values: {} }
        : {
            set: ', #payloadFingerprint = :payloadFingerprint',
            remove: '',
            values: { ':payloadFingerprint': entry.payloadFingerprint },
          };
    return {
      Update: {
        TableName: this.tableName,
        Key: key,
        ...expressions(
          'SET #status = :done, #doneAtMs = :nowMs, #expiresAt = :expiresAt, #owner = :owner, ' +
            `#firstSeenAtMs = if_not_exists(#firstSeenAtMs, :nowMs)${result.set}${fingerprint.set} ` +
            'ADD #fencingToken :one, #attempts :one ' +
            `REMOVE #leaseToken, #leaseExpiresAtMs${fingerprint.remove}${entry.storedResult === undefined ? ', #result' : ''}`,
          CLAIMABLE,
        ),
        ExpressionAttributeValues: {
          ...claimConditionValues(nowMs),
          ...result.values,
          ...fingerprint.values,
          ':done': ClaimStatus.DONE,
          ':expiresAt': this.terms.expiresAtEpochSeconds(nowMs),
          ':owner': this.terms.owner,
          ':one': 1,
        },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    };
  }
}
