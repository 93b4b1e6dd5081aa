import { describe, expect, it } from 'vitest';
import type { Claim, ClaimResult } from '../../../lambda/core/claim-results.js';
import {
  InvalidStagedWritesError,
  MessageIdValidationError,
  ZombieCommitError,
} from '../../../lambda/core/errors.js';
import type { StagedWrite } from '../../../lambda/core/staged-writes.js';
import { MemoryClaimStore } from '../../../testing/memory-claim-store.js';
import { commit, commitOptimistic } from '../../support/memory-store-commits.js';

const START_MS = 1_000_000;
const LEASE_MS = 1_000;
const WINDOW_SECONDS = 10;

/** A store on a clock the test moves. */
function storeWithClock() {
  const time = { now: START_MS };
  const store = new MemoryClaimStore({
    clock: () => time.now,
    leaseMs: LEASE_MS,
    dedupWindowSeconds: WINDOW_SECONDS,
    owner: 'test',
  });
  return { store, time };
}

function claimed(result: ClaimResult): Claim {
  if (result.kind !== 'Claimed') throw new Error(`expected Claimed, got ${result.kind}`);
  return result.claim;
}

const put = (id: string): StagedWrite => ({ Put: { TableName: 'effects', Item: { id } } });

describe('MemoryClaimStore claim condition', () => {
  it('claims an absent id: fencing token 1, attempt 1, no takeover, a PROCESSING record', async () => {
    const { store } = storeWithClock();

    const claim = claimed(await store.claim('m'));

    expect(claim).toMatchObject({
      messageId: 'm',
      fencingToken: 1,
      attempt: 1,
      takeover: false,
      leaseExpiresAtMs: START_MS + LEASE_MS,
    });
    expect(store.record('m')).toMatchObject({
      status: 'PROCESSING',
      leaseToken: claim.leaseToken,
      leaseExpiresAtMs: START_MS + LEASE_MS,
      expiresAtEpochSeconds: START_MS / 1000 + WINDOW_SECONDS,
      firstSeenAtMs: START_MS,
      owner: 'test',
    });
  });

  it('answers InFlight with the lease remaining while the lease runs, up to and including its last ms', async () => {
    const { store, time } = storeWithClock();
    await store.claim('m');

    time.now += 400;
    expect(await store.claim('m')).toMatchObject({ kind: 'InFlight', leaseRemainingMs: 600 });
    // The condition is leaseExpiresAtMs < now: at the very expiry the lease still holds.
    time.now = START_MS + LEASE_MS;
    expect(await store.claim('m')).toMatchObject({ kind: 'InFlight', leaseRemainingMs: 0 });
  });

  it('takes over an expired lease: takeover, fencing token 2, and the first owner becomes a zombie', async () => {
    const { store, time } = storeWithClock();
    const first = claimed(await store.claim('m'));

    time.now = START_MS + LEASE_MS + 1;
    const second = claimed(await store.claim('m'));

    expect(second).toMatchObject({ takeover: true, fencingToken: 2, attempt: 2 });
    const [zombie] = await store.commitAll([{ messageId: 'm', claim: first, stagedWrites: [put('zombie')] }]);
    expect(zombie?.kind).toBe('Failed');
    const error = zombie?.kind === 'Failed' ? zombie.error : undefined;
    expect(error).toBeInstanceOf(ZombieCommitError);
    expect(error).toMatchObject({ currentRecord: { status: 'PROCESSING', fencingToken: 2 } });
    expect(store.committedWrites('m')).toBeUndefined();
    expect(await store.release(first)).toBe(false);

    await commit(store, second, [put('owner')]);
    expect(store.committedWrites('m')).toEqual([put('owner')]);
    expect(store.record('m')).toMatchObject({ status: 'DONE', fencingToken: 2, leaseExpiresAtMs: undefined });
  });

  it('lets an expired lease still commit when nobody took it over (HOLDS_LEASE does not read the time)', async () => {
    const { store, time } = storeWithClock();
    const claim = claimed(await store.claim('m'));

    time.now += 10 * LEASE_MS;
    await commit(store, claim, [put('late')]);

    expect(store.record('m')?.status).toBe('DONE');
  });

  it('answers Duplicate for a DONE record within the dedup window, up to its last second', async () => {
    const { store, time } = storeWithClock();
    await commit(store, claimed(await store.claim('m')));

    time.now = START_MS + WINDOW_SECONDS * 1000;
    const result = await store.claim('m');

    expect(result).toMatchObject({ kind: 'Duplicate', record: { status: 'DONE', doneAtMs: START_MS } });
  });

  it('claims a DONE record again once it expired (TTL deletion is lazy); fencing tokens keep rising', async () => {
    const { store, time } = storeWithClock();
    await commit(store, claimed(await store.claim('m')));

    time.now = START_MS + (WINDOW_SECONDS + 1) * 1000;
    const again = claimed(await store.claim('m'));

    expect(again).toMatchObject({ takeover: false, fencingToken: 2, attempt: 2 });
    expect(store.record('m')).toMatchObject({
      status: 'PROCESSING',
      doneAtMs: undefined,
      firstSeenAtMs: START_MS,
    });
  });

  it('claims a FAILED record again, so a redriven message can still apply once', async () => {
    const { store } = storeWithClock();
    const first = claimed(await store.claim('m'));
    expect(await store.park('m', 'bad amount', first)).toEqual({ kind: 'Parked' });
    expect(store.record('m')).toMatchObject({
      status: 'FAILED',
      lastError: 'bad amount',
      leaseExpiresAtMs: undefined,
    });

    const again = claimed(await store.claim('m'));

    expect(again).toMatchObject({ takeover: false, fencingToken: 2, attempt: 2 });
  });

  it('makes a released lease claimable at once, keeping the reason', async () => {
    const { store } = storeWithClock();
    const claim = claimed(await store.claim('m'));

    expect(await store.release(claim, 'Error: timeout')).toBe(true);
    expect(store.record('m')).toMatchObject({ leaseExpiresAtMs: 0, lastError: 'Error: timeout' });

    // A retry after a release is not a takeover: nobody's live lease was taken.
    expect(await store.claim('m')).toMatchObject({
      kind: 'Claimed',
      claim: { fencingToken: 2, takeover: false },
    });
  });

  it('refuses malformed messageIds as ClaimStore does', async () => {
    const { store } = storeWithClock();

    await expect(store.claim('')).rejects.toBeInstanceOf(MessageIdValidationError);
    await expect(store.park('x'.repeat(513), 'reason')).rejects.toBeInstanceOf(MessageIdValidationError);
  });
});

describe('MemoryClaimStore park', () => {
  it('without a claim: records FAILED where a claim would succeed, with no fencing token taken', async () => {
    const { store } = storeWithClock();

    expect(await store.park('m', 'malformed')).toEqual({ kind: 'Parked' });

    expect(store.record('m')).toMatchObject({ status: 'FAILED', fencingToken: 0, attempts: 1 });
    expect(claimed(await store.claim('m'))).toMatchObject({ fencingToken: 1, attempt: 2 });
  });

  it('never downgrades DONE nor overwrites a live lease', async () => {
    const { store } = storeWithClock();
    await commit(store, claimed(await store.claim('done')));
    const live = claimed(await store.claim('live'));

    expect(await store.park('done', 'late verdict')).toMatchObject({
      kind: 'NotParked',
      record: { status: 'DONE' },
    });
    expect(await store.park('live', 'not mine')).toMatchObject({
      kind: 'NotParked',
      record: { status: 'PROCESSING', leaseToken: live.leaseToken },
    });
  });

  it('with a claim whose lease was lost: leaves the record as it is', async () => {
    const { store, time } = storeWithClock();
    const first = claimed(await store.claim('m'));
    time.now += LEASE_MS + 1;
    await store.claim('m');

    expect(await store.park('m', 'stale', first)).toMatchObject({
      kind: 'NotParked',
      record: { status: 'PROCESSING', fencingToken: 2 },
    });
  });
});

describe('MemoryClaimStore optimistic commit', () => {
  it('commits where a claim would succeed and refuses DONE (Duplicate) or a live lease (InFlight)', async () => {
    const { store, time } = storeWithClock();

    expect(await commitOptimistic(store, 'a', [put('a')])).toEqual({ kind: 'Committed', messageId: 'a' });
    expect(await commitOptimistic(store, 'a', [put('again')])).toMatchObject({ kind: 'Duplicate' });
    await store.claim('b');
    time.now += 250;
    expect(await commitOptimistic(store, 'b', [put('b')])).toMatchObject({
      kind: 'InFlight',
      leaseRemainingMs: LEASE_MS - 250,
    });

    expect(store.commits().map((commit) => commit.messageId)).toEqual(['a']);
    expect(store.committedWrites('a')).toEqual([put('a')]);
    expect(store.record('a')).toMatchObject({
      status: 'DONE',
      fencingToken: 1,
      attempts: 1,
      leaseToken: undefined,
    });
  });

  it('over an expired lease: takes a fencing token and removes the old lease, fencing out its owner', async () => {
    const { store, time } = storeWithClock();
    const stale = claimed(await store.claim('m'));
    time.now += LEASE_MS + 1;

    expect(await commitOptimistic(store, 'm', [put('m')])).toEqual({ kind: 'Committed', messageId: 'm' });

    const record = store.record('m');
    expect(record).toMatchObject({ status: 'DONE', fencingToken: 2, attempts: 2, firstSeenAtMs: START_MS });
    expect(record?.leaseToken).toBeUndefined();
    expect(record?.leaseExpiresAtMs).toBeUndefined();
    const [zombie] = await store.commitAll([{ messageId: 'm', claim: stale, stagedWrites: [] }]);
    expect(zombie?.kind === 'Failed' && zombie.error).toBeInstanceOf(ZombieCommitError);
  });
});

describe('MemoryClaimStore commit validation', () => {
  it('refuses what DynamoDB would refuse, applying nothing and keeping the claim', async () => {
    const { store } = storeWithClock();
    const claim = claimed(await store.claim('m'));
    const update = {
      Update: { TableName: 'accounts', Key: { id: 'x' }, UpdateExpression: 'ADD n :one' },
    } satisfies StagedWrite;
    const tooMany = Array.from({ length: 100 }, (_, index) => put(String(index)));

    const outcomes = await store.commitAll([
      { messageId: 'm', claim, stagedWrites: tooMany },
      { messageId: 'm', claim, stagedWrites: [update, put('p'), update] },
    ]);

    expect(outcomes.map((outcome) => outcome.kind === 'Failed' && outcome.error)).toEqual([
      expect.any(InvalidStagedWritesError),
      expect.any(InvalidStagedWritesError),
    ]);
    expect(store.record('m')?.status).toBe('PROCESSING');
    await commit(store, claim, [put('ok')]);
    expect(store.committedWrites('m')).toEqual([put('ok')]);
  });

  it('returns records as snapshots', async () => {
    const { store } = storeWithClock();
    const claim = claimed(await store.claim('m'));
    const before = store.records();

    await commit(store, claim);

    expect(before.get('m')?.status).toBe('PROCESSING');
    expect(store.records().get('m')?.status).toBe('DONE');
  });
});
