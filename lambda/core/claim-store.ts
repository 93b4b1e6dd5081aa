import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import {
  type DynamoDBDocumentClient,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { CLAIMS_TABLE, RUNTIME_DEFAULTS } from '../contract/index.js';
import {
  CancellationCode,
  type CancellationReason,
  errorName,
  readCancellationReasons,
  readConditionFailure,
} from './aws-errors.js';
import { type ClaimRecord, ClaimStatus, toClaimRecord } from './claim-record.js';
import {
  ClaimStoreUnavailableError,
  ConfigurationError,
  InvalidStagedWritesError,
  type OnceflowError,
  StagedWriteConditionFailedError,
  ZombieCommitError,
} from './errors.js';
import { validateMessageId } from './message-id.js';
import { packIntoTransactions } from './transaction-packing.js';

/** One write to apply atomically with the DONE record: an item of lib-dynamodb's TransactWriteCommand. */
export type StagedWrite = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/** TransactWriteItems takes at most 100 items; one of them is the claim record. */
export const MAX_STAGED_WRITES = 99;

export interface ClaimStoreOptions {
  /** The claims table: partition key `messageId` (string), TTL attribute `expiresAtEpochSeconds`. */
  readonly tableName: string;
  readonly dynamoDb: DynamoDBDocumentClient;
  /** Epoch milliseconds. @default Date.now */
  readonly clock?: () => number;
  /** How long a claim is held before another consumer may take it over. @default 60_000 */
  readonly leaseMs?: number;
  /** How long a messageId is remembered. @default 604_800 (7 days) */
  readonly dedupWindowSeconds?: number;
  /** Who holds a claim, for operators. @default `${hostname}:${pid}` */
  readonly owner?: string;
  /** Makes lease tokens. @default crypto.randomUUID */
  readonly newLeaseToken?: () => string;
}

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
}

export type CommitOutcome =
  | { readonly kind: 'Committed' }
  /** Optimistic mode only: another consumer got there first. */
  | Exclude<ClaimResult, { kind: 'Claimed' }>
  | { readonly kind: 'Failed'; readonly error: OnceflowError };

/** How many times innocent members of cancelled groups are sent again before giving up (retryable). */
export const MAX_COMMIT_ROUNDS = 4;

type FinalVerdict =
  | { readonly kind: 'Committed' }
  | { readonly kind: 'ClaimRecordRefused'; readonly item: Record<string, unknown> | undefined }
  | {
      readonly kind: 'StagedWriteRefused';
      readonly index: number;
      readonly reason: string;
      readonly item: Record<string, unknown> | undefined;
    }
  | { readonly kind: 'Invalid'; readonly error: unknown }
  | { readonly kind: 'Unavailable'; readonly error: unknown; readonly reason?: string };

type GroupVerdict = FinalVerdict | { readonly kind: 'Again' } | { readonly kind: 'Isolate' };

/** One member's share of a cancelled transaction's reasons; its first item is its claim record. */
function verdictFromReasons(reasons: readonly CancellationReason[], error: unknown): GroupVerdict {
  const [claimReason, ...stagedReasons] = reasons;
  if (claimReason?.code === CancellationCode.CONDITIONAL_CHECK_FAILED) {
    return { kind: 'ClaimRecordRefused', item: claimReason.item };
  }
  const stagedIndex = stagedReasons.findIndex(
    (reason) => reason.code === CancellationCode.CONDITIONAL_CHECK_FAILED,
  );
  const staged = stagedReasons[stagedIndex];
  if (staged !== undefined) {
    return {
      kind: 'StagedWriteRefused',
      index: stagedIndex,
      reason: staged.message ?? staged.code,
      item: staged.item,
    };
  }
  if (reasons.some((reason) => reason.code === CancellationCode.VALIDATION_ERROR))
    return { kind: 'Invalid', error };
  const codes = [
    ...new Set(reasons.map((reason) => reason.code).filter((code) => code !== CancellationCode.NONE)),
  ];
  // Innocent (all None) or caught in a conflict: send again with the next round.
  if (codes.length === 0 || codes.every((code) => code === 'TransactionConflict')) return { kind: 'Again' };
  return { kind: 'Unavailable', error, reason: codes.join('+') };
}

export type ParkResult =
  | { readonly kind: 'Parked' }
  /** The record is DONE or leased by someone else, so it was left as it is. */
  | { readonly kind: 'NotParked'; readonly record: ClaimRecord | undefined };

const ATTRIBUTE_NAMES: Readonly<Record<string, string>> = {
  '#messageId': CLAIMS_TABLE.partitionKey.name,
  '#status': 'status',
  '#leaseToken': 'leaseToken',
  '#leaseExpiresAtMs': 'leaseExpiresAtMs',
  '#expiresAt': 'expiresAtEpochSeconds',
  '#fencingToken': 'fencingToken',
  '#attempts': 'attempts',
  '#owner': 'owner',
  '#firstSeenAtMs': 'firstSeenAtMs',
  '#doneAtMs': 'doneAtMs',
  '#lastError': 'lastError',
};

// The claim condition, from small named pieces (DESIGN.md section 3). An expired record counts as absent because
// TTL deletion is lazy.
const isAbsent = 'attribute_not_exists(#messageId)';
const isExpired = '#expiresAt < :nowSeconds';
const isFailed = '#status = :failed';
const isLeaseOver = '(#status = :processing AND #leaseExpiresAtMs < :nowMs)';
const CLAIMABLE = [isAbsent, isExpired, isFailed, isLeaseOver].join(' OR ');
const HOLDS_LEASE = '#leaseToken = :leaseToken AND #status = :processing';

/** Update and condition expressions with exactly the #placeholders they use (DynamoDB refuses unused ones). */
function expressions(update: string, condition: string) {
  return {
    UpdateExpression: update,
    ConditionExpression: condition,
    ExpressionAttributeNames: attributeNamesFor(update, condition),
  };
}

/** The #placeholders one request's expressions use; DynamoDB refuses unused ones. */
function attributeNamesFor(...expressions: string[]): Record<string, string> {
  const used: Record<string, string> = {};
  for (const placeholder of expressions.join(' ').match(/#\w+/g) ?? []) {
    const name = ATTRIBUTE_NAMES[placeholder];
    if (name === undefined) throw new Error(`Unknown attribute placeholder ${placeholder}`);
    used[placeholder] = name;
  }
  return used;
}

/**
 * The claim store: claims messageIds in DynamoDB with conditional writes and commits their effects atomically
 * with the DONE record (DESIGN.md sections 2 and 3). It knows nothing of SQS.
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
  readonly leaseMs: number;
  readonly dedupWindowSeconds: number;
  private readonly dynamoDb: DynamoDBDocumentClient;
  private readonly clock: () => number;
  private readonly owner: string;
  private readonly newLeaseToken: () => string;

  constructor(options: ClaimStoreOptions) {
    this.tableName = options.tableName;
    this.dynamoDb = options.dynamoDb;
    this.clock = options.clock ?? Date.now;
    this.leaseMs = options.leaseMs ?? RUNTIME_DEFAULTS.leaseMs;
    this.dedupWindowSeconds = options.dedupWindowSeconds ?? RUNTIME_DEFAULTS.dedupWindowSeconds;
    this.owner = options.owner ?? `${hostname()}:${process.pid}`;
    this.newLeaseToken = options.newLeaseToken ?? randomUUID;
  }

  /** One conditional write. On failure the old item (ALL_OLD) says whether it is a duplicate or in flight. */
  async claim(messageId: string): Promise<ClaimResult> {
    validateMessageId(messageId);
    const nowMs = this.clock();
    const leaseToken = this.newLeaseToken();
    const leaseExpiresAtMs = nowMs + this.leaseMs;
    try {
      const { Attributes: previous } = await this.dynamoDb.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [CLAIMS_TABLE.partitionKey.name]: messageId },
          ...expressions(
            'SET #status = :processing, #leaseToken = :leaseToken, #leaseExpiresAtMs = :leaseExpiresAtMs, ' +
              '#expiresAt = :expiresAt, #owner = :owner, #firstSeenAtMs = if_not_exists(#firstSeenAtMs, :nowMs) ' +
              'ADD #fencingToken :one, #attempts :one REMOVE #doneAtMs',
            CLAIMABLE,
          ),
          ExpressionAttributeValues: {
            ...this.claimConditionValues(nowMs),
            ':leaseToken': leaseToken,
            ':leaseExpiresAtMs': leaseExpiresAtMs,
            ':expiresAt': this.expiresAtEpochSeconds(nowMs),
            ':owner': this.owner,
            ':one': 1,
          },
          ReturnValues: 'ALL_OLD',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      const old = previous === undefined ? undefined : toClaimRecord(previous);
      return {
        kind: 'Claimed',
        claim: {
          messageId,
          leaseToken,
          fencingToken: (old?.fencingToken ?? 0) + 1,
          attempt: (old?.attempts ?? 0) + 1,
          leaseExpiresAtMs,
          takeover:
            old?.status === ClaimStatus.PROCESSING && old.expiresAtEpochSeconds >= Math.floor(nowMs / 1000),
        },
      };
    } catch (error) {
      const failure = readConditionFailure(error);
      if (failure === undefined) throw this.unavailable('claim', messageId, error);
      return this.refusal(messageId, failure.item, nowMs);
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
    const nowMs = this.clock();
    const outcomes: (CommitOutcome | undefined)[] = entries.map((entry) => this.tooManyWrites(entry));
    const members = entries.map((entry) => ({
      entry,
      items: [this.doneWrite(entry, nowMs), ...entry.stagedWrites],
      alone: false,
    }));
    let pending = members.map((_, index) => index).filter((index) => outcomes[index] === undefined);
    for (let round = 0; pending.length > 0 && round < MAX_COMMIT_ROUNDS; round++) {
      const sendAgain: number[] = [];
      const groups = packIntoTransactions(pending.map((index) => members[index] ?? { items: [] }));
      await Promise.all(
        groups.map(async (group) => {
          const indices = group.map((position) => pending[position] ?? -1);
          const verdicts = await this.sendGroup(indices.map((index) => members[index]?.items ?? []));
          indices.forEach((index, position) => {
            const member = members[index];
            const verdict = verdicts[position];
            if (member === undefined || verdict === undefined) return;
            if (verdict.kind === 'Again' || verdict.kind === 'Isolate') {
              if (verdict.kind === 'Isolate') member.alone = true;
              sendAgain.push(index);
              return;
            }
            outcomes[index] = this.outcomeOf(member.entry, verdict, nowMs);
          });
        }),
      );
      pending = sendAgain.sort((a, b) => a - b);
    }
    return entries.map(
      (entry, index) =>
        outcomes[index] ?? {
          kind: 'Failed',
          error: new ClaimStoreUnavailableError('commit', entry.messageId, 'TransactionConflict'),
        },
    );
  }

  /** Ends the lease now, on a retryable error, so the retry need not wait. False when the lease was already lost. */
  async release(claim: Claim, reason?: string): Promise<boolean> {
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
      throw this.unavailable('release', claim.messageId, error);
    }
  }

  /**
   * Marks messageId FAILED with the reason, on a permanent error. With the claim, only while its lease is held;
   * without one (a message rejected before it was claimed), only where a claim would succeed, so a DONE record is
   * never downgraded. A FAILED record is claimable again, so a redriven message can still apply once.
   */
  async park(messageId: string, reason: string, claim?: Claim): Promise<ParkResult> {
    validateMessageId(messageId);
    const nowMs = this.clock();
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
              ...this.claimConditionValues(nowMs),
              ':reason': reason,
              ':expiresAt': this.expiresAtEpochSeconds(nowMs),
              ':owner': this.owner,
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
              ':expiresAt': this.expiresAtEpochSeconds(nowMs),
              ':leaseToken': claim.leaseToken,
            },
          });
    try {
      await this.dynamoDb.send(command);
      return { kind: 'Parked' };
    } catch (error) {
      const failure = readConditionFailure(error);
      if (failure === undefined) throw this.unavailable('park', messageId, error);
      return {
        kind: 'NotParked',
        record: failure.item === undefined ? undefined : toClaimRecord(failure.item),
      };
    }
  }

  /** The DONE write: conditioned on our lease, or in optimistic mode on the claim condition itself. */
  private doneWrite(entry: CommitEntry, nowMs: number): StagedWrite {
    const key = { [CLAIMS_TABLE.partitionKey.name]: entry.messageId };
    if (entry.claim !== undefined) {
      return {
        Update: {
          TableName: this.tableName,
          Key: key,
          ...expressions(
            'SET #status = :done, #doneAtMs = :nowMs, #expiresAt = :expiresAt REMOVE #leaseExpiresAtMs',
            HOLDS_LEASE,
          ),
          ExpressionAttributeValues: {
            ':done': ClaimStatus.DONE,
            ':processing': ClaimStatus.PROCESSING,
            ':nowMs': nowMs,
            ':expiresAt': this.expiresAtEpochSeconds(nowMs),
            ':leaseToken': entry.claim.leaseToken,
          },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        },
      };
    }
    return {
      Update: {
        TableName: this.tableName,
        Key: key,
        ...expressions(
          'SET #status = :done, #doneAtMs = :nowMs, #expiresAt = :expiresAt, #owner = :owner, ' +
            '#firstSeenAtMs = if_not_exists(#firstSeenAtMs, :nowMs) ADD #fencingToken :one, #attempts :one ' +
            'REMOVE #leaseToken, #leaseExpiresAtMs',
          CLAIMABLE,
        ),
        ExpressionAttributeValues: {
          ...this.claimConditionValues(nowMs),
          ':done': ClaimStatus.DONE,
          ':expiresAt': this.expiresAtEpochSeconds(nowMs),
          ':owner': this.owner,
          ':one': 1,
        },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    };
  }

  /** Sends one group; says for each member whether it is done, guilty of what, or to be sent again. */
  private async sendGroup(memberItems: readonly (readonly StagedWrite[])[]): Promise<GroupVerdict[]> {
    try {
      await this.dynamoDb.send(new TransactWriteCommand({ TransactItems: memberItems.flat() }));
      return memberItems.map(() => ({ kind: 'Committed' }));
    } catch (error) {
      const reasons = readCancellationReasons(error);
      if (reasons === undefined) {
        const invalid = errorName(error) === 'ValidationException';
        // Two members may touch one item (a Put names no key we can see): send each alone.
        if (invalid && memberItems.length > 1) return memberItems.map(() => ({ kind: 'Isolate' }));
        return memberItems.map(() => (invalid ? { kind: 'Invalid', error } : { kind: 'Unavailable', error }));
      }
      let offset = 0;
      return memberItems.map((items) => {
        const own = reasons.slice(offset, offset + items.length);
        offset += items.length;
        return verdictFromReasons(own, error);
      });
    }
  }

  private outcomeOf(entry: CommitEntry, verdict: FinalVerdict, nowMs: number): CommitOutcome {
    const { messageId } = entry;
    switch (verdict.kind) {
      case 'Committed':
        return { kind: 'Committed' };
      case 'ClaimRecordRefused': {
        if (entry.claim === undefined) {
          if (verdict.item !== undefined) return this.refusal(messageId, verdict.item, nowMs);
          const error = new ClaimStoreUnavailableError('commit', messageId, 'ConditionFailedWithoutItem');
          return { kind: 'Failed', error };
        }
        const record = verdict.item === undefined ? undefined : toClaimRecord(verdict.item);
        return { kind: 'Failed', error: new ZombieCommitError(messageId, entry.claim.leaseToken, record) };
      }
      case 'StagedWriteRefused':
        return {
          kind: 'Failed',
          error: new StagedWriteConditionFailedError(messageId, verdict.index, verdict.reason, verdict.item),
        };
      case 'Invalid':
        return {
          kind: 'Failed',
          error: new InvalidStagedWritesError(messageId, errorMessage(verdict.error), {
            cause: verdict.error,
          }),
        };
      case 'Unavailable': {
        if (isMissingTable(verdict.error)) {
          const error = new ConfigurationError(
            `Commit of ${messageId} refused: the claims table '${this.tableName}' or a table a staged write names does not exist (ResourceNotFoundException).`,
            { cause: verdict.error },
          );
          return { kind: 'Failed', error };
        }
        const reason = verdict.reason ?? errorName(verdict.error);
        return {
          kind: 'Failed',
          error: new ClaimStoreUnavailableError('commit', messageId, reason, { cause: verdict.error }),
        };
      }
    }
  }

  private tooManyWrites(entry: CommitEntry): CommitOutcome | undefined {
    if (entry.stagedWrites.length <= MAX_STAGED_WRITES) return undefined;
    return {
      kind: 'Failed',
      error: new InvalidStagedWritesError(
        entry.messageId,
        `${entry.stagedWrites.length} staged writes; one transaction holds at most ${MAX_STAGED_WRITES} besides the claim record.`,
      ),
    };
  }

  /** A failed request as the caller should treat it: a missing table is configuration, the rest may pass. */
  private unavailable(
    operation: 'claim' | 'release' | 'park',
    messageId: string,
    error: unknown,
  ): ClaimStoreUnavailableError | ConfigurationError {
    if (isMissingTable(error)) {
      return new ConfigurationError(
        `${operation} of ${messageId} failed: the claims table '${this.tableName}' does not exist (ResourceNotFoundException).`,
        { cause: error },
      );
    }
    return new ClaimStoreUnavailableError(operation, messageId, errorName(error), { cause: error });
  }

  private claimConditionValues(nowMs: number) {
    return {
      ':nowSeconds': Math.floor(nowMs / 1000),
      ':nowMs': nowMs,
      ':failed': ClaimStatus.FAILED,
      ':processing': ClaimStatus.PROCESSING,
    };
  }

  private expiresAtEpochSeconds(nowMs: number): number {
    return Math.floor(nowMs / 1000) + this.dedupWindowSeconds;
  }

  /** Why a claim condition failed, from the old item: DONE -> Duplicate; a live lease -> InFlight. */
  private refusal(
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
}

function isMissingTable(error: unknown): boolean {
  return errorName(error) === 'ResourceNotFoundException';
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
