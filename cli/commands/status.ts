import { GetCommand } from '@aws-sdk/lib-dynamodb';
import pLimit from 'p-limit';
import { CLAIMS_TABLE, type ClaimRecord, ClaimStatus, toClaimRecord } from '../../lambda/index.js';
import type { AwsClients } from '../aws.js';
import type { NameResolver } from '../names.js';
import { formatDuration, formatJson, formatTable, type Io, oneLine, Progress } from '../output.js';

/**
 * Where a message is, in the words of the state machine (docs/design.md section 3). `LEASE_ENDED` and `EXPIRED`
 * are stored states that count as claimable: the next delivery takes the message.
 */
export const CLAIM_STATE = {
  DONE: 'DONE',
  FAILED: 'FAILED',
  PROCESSING: 'PROCESSING',
  LEASE_ENDED: 'LEASE_ENDED',
  EXPIRED: 'EXPIRED',
  NEVER_SEEN: 'NEVER_SEEN',
} as const;
export type ClaimState = (typeof CLAIM_STATE)[keyof typeof CLAIM_STATE];

export interface ClaimView {
  readonly messageId: string;
  readonly state: ClaimState;
  /** The state in words, one line. */
  readonly summary: string;
  /** The stored record; absent when never seen. */
  readonly record?: ClaimRecord;
}

/** Says what a claim record means at `nowMs`, with the same comparisons as the claim conditions. */
export function describeClaim(messageId: string, record: ClaimRecord | undefined, nowMs: number): ClaimView {
  if (record === undefined) {
    return { messageId, state: CLAIM_STATE.NEVER_SEEN, summary: 'never seen: no claim record' };
  }
  const view = (state: ClaimState, summary: string): ClaimView => ({ messageId, state, summary, record });
  const attempts = `attempts ${record.attempts ?? 0}, fencing token ${record.fencingToken}`;
  const nowSeconds = Math.floor(nowMs / 1000);
  if (record.expiresAtEpochSeconds < nowSeconds) {
    const ago = formatDuration((nowSeconds - record.expiresAtEpochSeconds) * 1000);
    return view(
      CLAIM_STATE.EXPIRED,
      `expired ${ago} ago (was ${record.status}): past the dedup window, counts as never seen; a new copy would apply`,
    );
  }
  switch (record.status) {
    case ClaimStatus.DONE: {
      const at = record.doneAtMs;
      const when = at === undefined ? '' : ` at ${iso(at)} (${formatDuration(nowMs - at)} ago)`;
      return view(CLAIM_STATE.DONE, `DONE${when}; ${attempts}`);
    }
    case ClaimStatus.FAILED:
      return view(
        CLAIM_STATE.FAILED,
        `FAILED: ${oneLine(record.lastError ?? 'no reason recorded', 200)}; parked in the DLQ, claimable on redrive; ${attempts}`,
      );
    case ClaimStatus.PROCESSING: {
      const owner = record.owner ?? 'an unknown owner';
      const endsAt = record.leaseExpiresAtMs ?? 0;
      if (endsAt >= nowMs) {
        return view(
          CLAIM_STATE.PROCESSING,
          `PROCESSING by ${owner}, lease ends in ${formatDuration(endsAt - nowMs)} (${iso(endsAt)}); ${attempts}`,
        );
      }
      if (endsAt === 0) {
        const why = record.lastError === undefined ? '' : `: ${oneLine(record.lastError, 200)}`;
        return view(
          CLAIM_STATE.LEASE_ENDED,
          `PROCESSING, released by ${owner} after a retryable error${why}; the next delivery claims it; ${attempts}`,
        );
      }
      return view(
        CLAIM_STATE.LEASE_ENDED,
        `PROCESSING, lease of ${owner} ended ${formatDuration(nowMs - endsAt)} ago; the next delivery takes it over; ${attempts}`,
      );
    }
  }
}

/** `onceflow status`: one line per messageId, or the views as JSON. */
export function formatStatus(views: readonly ClaimView[]): string {
  return `${formatTable(
    ['MESSAGE ID', 'STATE'],
    views.map((v) => [v.messageId, v.summary]),
  )}\n`;
}

/** Reads an item of the claims table as a ClaimRecord; undefined for an item that is not one. */
function readClaimRecord(item: Record<string, unknown>): ClaimRecord | undefined {
  try {
    return toClaimRecord(item);
  } catch (error) {
    if (error instanceof TypeError) return undefined;
    throw error;
  }
}

export interface StatusOptions {
  readonly json: boolean;
}

export async function status(
  messageIds: readonly string[],
  options: StatusOptions,
  context: { readonly io: Io; readonly clients: AwsClients; readonly names: NameResolver },
): Promise<number> {
  const { io, clients } = context;
  const tableName = await context.names.required('claimsTableName');
  const dynamoDb = clients.dynamoDb();
  const progress = new Progress(io);
  const limit = pLimit(8);
  let read = 0;
  const records = await Promise.all(
    messageIds.map((messageId) =>
      limit(async () => {
        const { Item } = await clients.call('DynamoDB', 'dynamodb:GetItem', tableName, () =>
          dynamoDb.send(
            new GetCommand({
              TableName: tableName,
              Key: { [CLAIMS_TABLE.partitionKey.name]: messageId },
              ConsistentRead: true,
            }),
          ),
        );
        read += 1;
        if (messageIds.length > 20) progress.update(`read ${read}/${messageIds.length} claim records`);
        return Item === undefined ? undefined : readClaimRecord(Item);
      }),
    ),
  );
  progress.done();
  const now = io.now();
  const views = messageIds.map((messageId, index) => describeClaim(messageId, records[index], now));
  io.out(options.json ? formatJson(views) : formatStatus(views));
  return 0;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
