import { type DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import {
  CancellationCode,
  type CancellationReason,
  errorName,
  isMissingTable,
  readCancellationReasons,
} from './aws-errors.js';
import { toClaimRecord } from './claim-record.js';
import { type CommitEntry, type CommitOutcome, refusal } from './claim-results.js';
import {
  ClaimStoreUnavailableError,
  ConfigurationError,
  InvalidStagedWritesError,
  StagedWriteConditionFailedError,
  ZombieCommitError,
} from './errors.js';
import { isOwnCommit } from './lost-responses.js';
import { MAX_STAGED_WRITES, type StagedWrite } from './staged-writes.js';

/** How many times innocent members of cancelled groups are sent again before giving up (retryable). */
export const MAX_COMMIT_ROUNDS = 4;

/** TransactWriteItems accepts at most 100 items. */
export const MAX_TRANSACTION_ITEMS = 100;

/** One member of a grouped commit: its items go in together or not at all. */
export interface PackableMember {
  readonly items: readonly StagedWrite[];
  /** Must travel alone (a shared transaction was refused as invalid, so we no longer trust it with others). */
  readonly alone?: boolean;
}

/** What a grouped commit needs of the claim store that runs it. */
export interface GroupedCommit {
  readonly dynamoDb: DynamoDBDocumentClient;
  /** The claims table, named in the error when a table is missing. */
  readonly tableName: string;
  /** Epoch milliseconds of this commit. */
  readonly nowMs: number;
  /** The entry's DONE write, which goes first among its items. */
  readonly doneWrite: (entry: CommitEntry) => StagedWrite;
}

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

/**
 * The work of `ClaimStore.commitAll`: packs the entries into transactions, sends them, and sends the innocent
 * members of cancelled groups again, for at most MAX_COMMIT_ROUNDS rounds. One outcome per entry, in order.
 */
export async function commitGrouped(
  commit: GroupedCommit,
  entries: readonly CommitEntry[],
): Promise<CommitOutcome[]> {
  const outcomes: (CommitOutcome | undefined)[] = entries.map((entry) => tooManyWrites(entry));
  const members = entries.map((entry) => ({
    entry,
    items: [commit.doneWrite(entry), ...entry.stagedWrites],
    alone: false,
  }));
  let pending = members.map((_, index) => index).filter((index) => outcomes[index] === undefined);
  for (let round = 0; pending.length > 0 && round < MAX_COMMIT_ROUNDS; round++) {
    const sendAgain: number[] = [];
    const groups = packIntoTransactions(pending.map((index) => members[index] ?? { items: [] }));
    await Promise.all(
      groups.map(async (group) => {
        const indices = group.map((position) => pending[position] ?? -1);
        const verdicts = await sendGroup(
          commit.dynamoDb,
          indices.map((index) => members[index]?.items ?? []),
        );
        indices.forEach((index, position) => {
          const member = members[index];
          const verdict = verdicts[position];
          if (member === undefined || verdict === undefined) return;
          if (verdict.kind === 'Again' || verdict.kind === 'Isolate') {
            if (verdict.kind === 'Isolate') member.alone = true;
            sendAgain.push(index);
            return;
          }
          outcomes[index] = outcomeOf(commit, member.entry, verdict);
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

/** Sends one group; says for each member whether it is done, guilty of what, or to be sent again. */
async function sendGroup(
  dynamoDb: DynamoDBDocumentClient,
  memberItems: readonly (readonly StagedWrite[])[],
): Promise<GroupVerdict[]> {
  try {
    await dynamoDb.send(new TransactWriteCommand({ TransactItems: memberItems.flat() }));
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

function outcomeOf(commit: GroupedCommit, entry: CommitEntry, verdict: FinalVerdict): CommitOutcome {
  const { messageId } = entry;
  switch (verdict.kind) {
    case 'Committed':
      return { kind: 'Committed' };
    case 'ClaimRecordRefused': {
      if (entry.claim === undefined) {
        if (verdict.item !== undefined) return refusal(messageId, verdict.item, commit.nowMs);
        const error = new ClaimStoreUnavailableError('commit', messageId, 'ConditionFailedWithoutItem');
        return { kind: 'Failed', error };
      }
      const record = verdict.item === undefined ? undefined : toClaimRecord(verdict.item);
      // Sent again after its answer was lost: this claim's own commit is DONE already, with its writes.
      if (isOwnCommit(record, entry.claim)) return { kind: 'Committed' };
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
          `Commit of ${messageId} refused: the claims table '${commit.tableName}' or a table a staged write names does not exist (ResourceNotFoundException).`,
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

function tooManyWrites(entry: CommitEntry): CommitOutcome | undefined {
  if (entry.stagedWrites.length <= MAX_STAGED_WRITES) return undefined;
  return {
    kind: 'Failed',
    error: new InvalidStagedWritesError(
      entry.messageId,
      `${entry.stagedWrites.length} staged writes; one transaction holds at most ${MAX_STAGED_WRITES} besides the claim record.`,
    ),
  };
}

/**
 * Packs members into as few transactions as fit: at most 100 items each, and never two operations on one item
 * (DynamoDB refuses that whole request). An item's identity is its table and key; a Put carries no separate key,
 * so two Puts on one item can still meet; the caller isolates members after such a refusal.
 * Returns groups of member indices, in order.
 */
export function packIntoTransactions(members: readonly PackableMember[]): number[][] {
  const groups: { indices: number[]; itemCount: number; identities: Set<string>; closed: boolean }[] = [];
  members.forEach((member, index) => {
    const identities = member.items.map(itemIdentity).filter((id): id is string => id !== undefined);
    const fits = (group: (typeof groups)[number]) =>
      !group.closed &&
      !member.alone &&
      group.itemCount + member.items.length <= MAX_TRANSACTION_ITEMS &&
      identities.every((id) => !group.identities.has(id));
    const group = groups.find(fits);
    if (group === undefined) {
      groups.push({
        indices: [index],
        itemCount: member.items.length,
        identities: new Set(identities),
        closed: !!member.alone,
      });
      return;
    }
    group.indices.push(index);
    group.itemCount += member.items.length;
    for (const id of identities) group.identities.add(id);
  });
  return groups.map((group) => group.indices);
}

/** `table|key` for writes that name their key; undefined for a Put. */
export function itemIdentity(write: StagedWrite): string | undefined {
  const keyed = write.Update ?? write.Delete ?? write.ConditionCheck;
  if (keyed?.Key === undefined) return undefined;
  return `${keyed.TableName}|${stableJson(keyed.Key)}`;
}

function stableJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'undefined';
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([key, inner]) => `${JSON.stringify(key)}:${stableJson(inner)}`).join(',')}}`;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
