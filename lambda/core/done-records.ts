import { BatchGetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { CLAIMS_TABLE } from '../contract/index.js';
import { type ClaimRecord, ClaimStatus, toClaimRecord } from './claim-record.js';

/** BatchGetItem reads at most 100 keys per request. */
const MAX_KEYS_PER_READ = 100;
/** Keys DynamoDB left unprocessed (throttling) are asked for again this many times, then treated as unknown. */
const MAX_UNPROCESSED_ROUNDS = 2;

/**
 * The DONE, unexpired claim records among messageIds, read with eventually consistent BatchGetItem (half a read
 * unit per item, a fifth of the price of the write unit a refused claim costs, and a tenth of what a cancelled
 * transaction charges per item).
 *
 * Only an optimisation: a record missed here (not yet visible, or left unprocessed) is still refused by the
 * commit's own condition, which stays the guarantee. A DONE record seen here is DONE for good until its TTL, since
 * nothing turns DONE back, so skipping it is never wrong.
 *
 * @example
 * const done = await readDoneRecords(dynamoDb, 'claims', ['a', 'b'], Date.now());
 * done.has('a'); // true when 'a' was applied within the dedup window
 */
export async function readDoneRecords(
  dynamoDb: DynamoDBDocumentClient,
  tableName: string,
  messageIds: readonly string[],
  nowMs: number,
): Promise<Map<string, ClaimRecord>> {
  const done = new Map<string, ClaimRecord>();
  const unique = [...new Set(messageIds)];
  for (let start = 0; start < unique.length; start += MAX_KEYS_PER_READ) {
    let keys: Record<string, unknown>[] = unique
      .slice(start, start + MAX_KEYS_PER_READ)
      .map((messageId) => ({ [CLAIMS_TABLE.partitionKey.name]: messageId }));
    for (let round = 0; keys.length > 0 && round <= MAX_UNPROCESSED_ROUNDS; round++) {
      const { Responses, UnprocessedKeys } = await dynamoDb.send(
        new BatchGetCommand({ RequestItems: { [tableName]: { Keys: keys, ConsistentRead: false } } }),
      );
      for (const item of Responses?.[tableName] ?? []) {
        const record = toClaimRecord(item);
        if (isLiveDone(record, nowMs)) done.set(record.messageId, record);
      }
      keys = UnprocessedKeys?.[tableName]?.Keys ?? [];
    }
  }
  return done;
}

/** DONE and within its dedup window: the claim condition would refuse it (an expired record counts as absent). */
function isLiveDone(record: ClaimRecord, nowMs: number): boolean {
  return record.status === ClaimStatus.DONE && record.expiresAtEpochSeconds >= Math.floor(nowMs / 1000);
}
