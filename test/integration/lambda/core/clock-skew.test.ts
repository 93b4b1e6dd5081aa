import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { CLOCK_SKEW_MARGIN_SECONDS, DEFAULT_FUNCTION_TIMEOUT_SECONDS, RUNTIME_DEFAULTS } from 'onceflow';
import { createTable } from 'onceflow/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ClaimResult } from '../../../../lambda/core/claim-results.js';
import { ClaimStore } from '../../../../lambda/core/claim-store.js';
import { ZombieCommitError } from '../../../../lambda/core/errors.js';
import { localDocumentClient, newClaimsTable, uniqueName } from '../../../support/local-aws.js';

/**
 * What the lease promises when clocks disagree (docs/design.md section 4). The construct's default lease is the
 * function timeout plus the clock-skew margin, so an owner that Lambda stops at its timeout is never overlapped
 * by a challenger whose clock runs ahead by at most the margin; beyond it a second handler can run at once, and
 * fencing still lets only one commit apply.
 */
const dynamoDb = localDocumentClient();
const START_MS = Date.now();
const TIMEOUT_MS = DEFAULT_FUNCTION_TIMEOUT_SECONDS * 1000;
const MARGIN_MS = CLOCK_SKEW_MARGIN_SECONDS * 1000;
let claimsTable: string;
let effectsTable: string;

beforeAll(async () => {
  claimsTable = await newClaimsTable(dynamoDb);
  effectsTable = uniqueName('effects');
  await createTable(dynamoDb, effectsTable, { partitionKey: { name: 'id', type: 'S' } });
});

/** A consumer whose clock reads the shared time plus its own skew. */
function consumer(time: { nowMs: number }, skewMs: number): ClaimStore {
  return new ClaimStore({
    tableName: claimsTable,
    dynamoDb,
    leaseMs: RUNTIME_DEFAULTS.leaseMs,
    clock: () => time.nowMs + skewMs,
  });
}

/** The effect each commit applies: one more on the message's counter. */
const increment = (messageId: string) => ({
  Update: {
    TableName: effectsTable,
    Key: { id: messageId },
    UpdateExpression: 'ADD #applied :one',
    ExpressionAttributeNames: { '#applied': 'applied' },
    ExpressionAttributeValues: { ':one': 1 },
  },
});

async function timesApplied(messageId: string): Promise<number> {
  const { Item } = await dynamoDb.send(
    new GetCommand({ TableName: effectsTable, Key: { id: messageId }, ConsistentRead: true }),
  );
  return Item?.applied ?? 0;
}

function claimed(result: ClaimResult) {
  if (result.kind !== 'Claimed') throw new Error(`expected Claimed, got ${result.kind}`);
  return result.claim;
}

describe('leases under clock skew', () => {
  it('uses a default lease of the function timeout plus the clock-skew margin', () => {
    expect(RUNTIME_DEFAULTS.leaseMs).toBe(TIMEOUT_MS + MARGIN_MS);
  });

  it.each([0, 1_000, MARGIN_MS - 1, MARGIN_MS])(
    'never lets a challenger whose clock is %i ms ahead start while the owner may still run',
    async (skewMs) => {
      const messageId = uniqueName('m');
      const time = { nowMs: START_MS };
      const owner = consumer(time, 0);
      const challenger = consumer(time, skewMs);
      const claim = claimed(await owner.claim(messageId));

      // The owner may run until Lambda stops it at the function timeout; the challenger tries all the while.
      for (const atMs of [0, TIMEOUT_MS / 2, TIMEOUT_MS - 1, TIMEOUT_MS]) {
        time.nowMs = START_MS + atMs;
        expect((await challenger.claim(messageId)).kind).toBe('InFlight');
      }
      await owner.commit(claim, [increment(messageId)]);
      expect((await challenger.claim(messageId)).kind).toBe('Duplicate');
      expect(await timesApplied(messageId)).toBe(1);
    },
  );

  it.each([MARGIN_MS + 1, 2 * MARGIN_MS, 10 * MARGIN_MS])(
    'lets a challenger whose clock is %i ms ahead run beside a live owner, and still applies the effects once',
    async (skewMs) => {
      const messageId = uniqueName('m');
      const time = { nowMs: START_MS };
      const owner = consumer(time, 0);
      const challenger = consumer(time, skewMs);
      const ownerClaim = claimed(await owner.claim(messageId));

      // While the owner may still run, the challenger's clock already puts the lease in the past: two handlers run.
      time.nowMs = START_MS + TIMEOUT_MS;
      const challengerClaim = claimed(await challenger.claim(messageId));
      expect(challengerClaim.takeover).toBe(true);
      expect(challengerClaim.fencingToken).toBeGreaterThan(ownerClaim.fencingToken);

      // Fencing: whichever commits, only the holder of the current lease applies anything.
      const ownerCommit = await owner
        .commit(ownerClaim, [increment(messageId)])
        .catch((error: unknown) => error);
      await challenger.commit(challengerClaim, [increment(messageId)]);
      expect(ownerCommit).toBeInstanceOf(ZombieCommitError);
      expect(await timesApplied(messageId)).toBe(1);
    },
  );
});
