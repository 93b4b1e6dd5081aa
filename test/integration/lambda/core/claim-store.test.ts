import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { createTable } from 'onceflow/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { ClaimStatus } from '../../../../lambda/core/claim-record.js';
import type { ClaimResult } from '../../../../lambda/core/claim-results.js';
import { ClaimStore, type ClaimStoreOptions } from '../../../../lambda/core/claim-store.js';
import { StagedWriteConditionFailedError, ZombieCommitError } from '../../../../lambda/core/errors.js';
import { localDocumentClient, newClaimsTable, uniqueName } from '../../../support/local-aws.js';
import { RequestCounter } from '../../../support/request-counter.js';

const dynamoDb = localDocumentClient();
// Near the real time: DynamoDB Local really deletes expired items in the background, as AWS does.
const START_MS = Date.now();
let claimsTable: string;
let effectsTable: string;

beforeAll(async () => {
  claimsTable = await newClaimsTable(dynamoDb);
  effectsTable = uniqueName('effects');
  await createTable(dynamoDb, effectsTable, { partitionKey: { name: 'id', type: 'S' } });
});

/** A clock the test moves by hand. */
function manualClock(startMs = START_MS) {
  let nowMs = startMs;
  return { now: () => nowMs, advance: (ms: number) => (nowMs += ms) };
}

function store(options: Partial<ClaimStoreOptions> = {}): ClaimStore {
  return new ClaimStore({ tableName: claimsTable, dynamoDb, leaseMs: 10_000, ...options });
}

function claimed(result: ClaimResult) {
  if (result.kind !== 'Claimed') throw new Error(`expected Claimed, got ${result.kind}`);
  return result.claim;
}

const putEffect = (id: string, value: string) => ({ Put: { TableName: effectsTable, Item: { id, value } } });

async function readEffect(id: string) {
  const { Item } = await dynamoDb.send(
    new GetCommand({ TableName: effectsTable, Key: { id }, ConsistentRead: true }),
  );
  return Item;
}

async function readClaim(messageId: string) {
  const { Item } = await dynamoDb.send(
    new GetCommand({ TableName: claimsTable, Key: { messageId }, ConsistentRead: true }),
  );
  return Item;
}

describe('ClaimStore on DynamoDB Local', () => {
  it('gives exactly one of 32 concurrent claimers the claim; the others see it in flight', async () => {
    const messageId = uniqueName('m');
    const results = await Promise.all(Array.from({ length: 32 }, () => store().claim(messageId)));

    expect(results.filter((r) => r.kind === 'Claimed')).toHaveLength(1);
    const refused = results.filter((r) => r.kind === 'InFlight');
    expect(refused).toHaveLength(31);
    for (const r of refused) expect(r.leaseRemainingMs).toBeGreaterThan(0);
  });

  it('counts a claim after a release as a retry, not a takeover', async () => {
    const messageId = uniqueName('m');
    const claims = store();
    const first = claimed(await claims.claim(messageId));
    expect(await claims.release(first, 'Error: timeout')).toBe(true);

    const retry = claimed(await claims.claim(messageId));

    expect(retry).toMatchObject({ fencingToken: 2, attempt: 2, takeover: false });
  });

  it('lets another consumer take over only once the lease has expired, with a higher fencing token each time', async () => {
    const clock = manualClock();
    const messageId = uniqueName('m');
    const first = claimed(await store({ clock: clock.now }).claim(messageId));
    expect(first).toMatchObject({ fencingToken: 1, attempt: 1, takeover: false });

    clock.advance(9_999);
    const early = await store({ clock: clock.now }).claim(messageId);
    expect(early).toMatchObject({ kind: 'InFlight', leaseRemainingMs: 1 });

    clock.advance(2);
    const second = claimed(await store({ clock: clock.now }).claim(messageId));
    expect(second.takeover).toBe(true);

    clock.advance(10_001);
    const third = claimed(await store({ clock: clock.now }).claim(messageId));

    expect([first.fencingToken, second.fencingToken, third.fencingToken]).toEqual([1, 2, 3]);
    expect(third.attempt).toBe(3);
  });

  it('rejects a zombie commit after a takeover and applies none of its staged writes', async () => {
    const clock = manualClock();
    const messageId = uniqueName('m');
    const zombie = claimed(await store({ clock: clock.now }).claim(messageId));
    clock.advance(10_001);
    const successor = claimed(await store({ clock: clock.now }).claim(messageId));

    const zombieCommit = store({ clock: clock.now }).commit(zombie, [
      putEffect(`${messageId}-zombie`, 'zombie'),
    ]);

    await expect(zombieCommit).rejects.toBeInstanceOf(ZombieCommitError);
    await expect(zombieCommit).rejects.toMatchObject({
      messageId,
      retryable: true,
      currentRecord: { status: 'PROCESSING', leaseToken: successor.leaseToken, fencingToken: 2 },
    });
    expect(await readEffect(`${messageId}-zombie`)).toBeUndefined();

    await store({ clock: clock.now }).commit(successor, [putEffect(`${messageId}-successor`, 'successor')]);
    expect(await readEffect(`${messageId}-successor`)).toEqual({
      id: `${messageId}-successor`,
      value: 'successor',
    });
    expect(await readClaim(messageId)).toMatchObject({ status: 'DONE', fencingToken: 2 });
  });

  it('answers a DONE message as Duplicate with exactly one request', async () => {
    const messageId = uniqueName('m');
    const s = store();
    await s.commit(claimed(await s.claim(messageId)));
    const counter = RequestCounter.attachTo(dynamoDb);

    const result = await s.claim(messageId);

    expect(result).toMatchObject({ kind: 'Duplicate', record: { messageId, status: ClaimStatus.DONE } });
    expect(counter.byOperation()).toEqual({ UpdateItemCommand: 1 });
  });

  it('treats a DONE record past its TTL as absent, even while DynamoDB still stores it', async () => {
    const clock = manualClock();
    const messageId = uniqueName('m');
    const s = store({ clock: clock.now, dedupWindowSeconds: 60 });
    await s.commit(claimed(await s.claim(messageId)));
    expect((await s.claim(messageId)).kind).toBe('Duplicate');

    clock.advance(61_000);
    expect(await readClaim(messageId)).toMatchObject({ status: 'DONE' });
    const again = await s.claim(messageId);

    expect(again).toMatchObject({ kind: 'Claimed', claim: { fencingToken: 2 } });
    expect(await readClaim(messageId)).toMatchObject({ status: 'PROCESSING' });
  });

  it('makes a parked (FAILED) message claimable again, and it still applies once', async () => {
    const messageId = uniqueName('m');
    const s = store();
    const first = claimed(await s.claim(messageId));
    expect(await s.park(messageId, 'PermanentError: bad amount', first)).toEqual({ kind: 'Parked' });
    expect(await readClaim(messageId)).toMatchObject({
      status: 'FAILED',
      lastError: 'PermanentError: bad amount',
    });

    const redriven = claimed(await s.claim(messageId));
    await s.commit(redriven, [putEffect(messageId, 'applied')]);

    expect(redriven.fencingToken).toBe(2);
    expect((await s.claim(messageId)).kind).toBe('Duplicate');
  });

  it('cancels the whole commit when a staged write fails its own condition, and keeps the claim', async () => {
    const messageId = uniqueName('m');
    const s = store();
    const claim = claimed(await s.claim(messageId));
    await dynamoDb.send(
      new PutCommand({ TableName: effectsTable, Item: { id: `${messageId}-taken`, value: 'x' } }),
    );

    const commit = s.commit(claim, [
      putEffect(`${messageId}-first`, 'a'),
      {
        Put: {
          TableName: effectsTable,
          Item: { id: `${messageId}-taken`, value: 'y' },
          ConditionExpression: 'attribute_not_exists(id)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        },
      },
    ]);

    await expect(commit).rejects.toBeInstanceOf(StagedWriteConditionFailedError);
    await expect(commit).rejects.toMatchObject({
      stagedWriteIndex: 1,
      retryable: false,
      currentItem: { id: `${messageId}-taken`, value: 'x' },
    });
    expect(await readEffect(`${messageId}-first`)).toBeUndefined();
    expect(await readClaim(messageId)).toMatchObject({ status: 'PROCESSING', leaseToken: claim.leaseToken });

    await s.commit(claim, [putEffect(`${messageId}-first`, 'a')]);
    expect(await readEffect(`${messageId}-first`)).toBeDefined();
  });

  it('ends the lease at once on release, so a retry need not wait for it', async () => {
    const clock = manualClock();
    const messageId = uniqueName('m');
    const s = store({ clock: clock.now });
    const first = claimed(await s.claim(messageId));

    expect(await s.release(first, 'Error: downstream timeout')).toBe(true);
    clock.advance(1);
    const retry = claimed(await s.claim(messageId));

    expect(retry.fencingToken).toBe(2);
    expect(await s.release(first)).toBe(false);
  });

  it('parks a message that was never claimed, but never downgrades a DONE record', async () => {
    const fresh = uniqueName('m');
    const done = uniqueName('m');
    const s = store();
    await s.commit(claimed(await s.claim(done)));

    expect(await s.park(fresh, 'malformed body')).toEqual({ kind: 'Parked' });
    expect(await s.park(done, 'malformed body')).toMatchObject({
      kind: 'NotParked',
      record: { status: 'DONE' },
    });
    expect(await readClaim(done)).toMatchObject({ status: 'DONE' });
  });

  describe('optimistic commit', () => {
    it('applies the writes of exactly one of two racers on one id', async () => {
      const messageId = uniqueName('m');
      const [a, b] = await Promise.all([
        store().commitOptimistic(messageId, [putEffect(`${messageId}-a`, 'a')]),
        store().commitOptimistic(messageId, [putEffect(`${messageId}-b`, 'b')]),
      ]);

      const kinds = [a?.kind, b?.kind].sort();
      expect(kinds).toEqual(['Committed', 'Duplicate']);
      const applied = [await readEffect(`${messageId}-a`), await readEffect(`${messageId}-b`)].filter(
        Boolean,
      );
      expect(applied).toHaveLength(1);
      expect(await readClaim(messageId)).toMatchObject({ status: 'DONE', fencingToken: 1 });
    });

    it('writes no PROCESSING record and reports a lease-mode owner as in flight', async () => {
      const messageId = uniqueName('m');
      const leased = claimed(await store().claim(messageId));

      const result = await store().commitOptimistic(messageId, [putEffect(`${messageId}-o`, 'o')]);

      expect(result).toMatchObject({ kind: 'InFlight', record: { leaseToken: leased.leaseToken } });
      expect(await readEffect(`${messageId}-o`)).toBeUndefined();
    });
  });
});
