import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { createTable, LOCAL_AWS_CONFIG } from 'onceflow/testing';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import type { Claim } from '../../../../lambda/core/claim-results.js';
import { ClaimStore } from '../../../../lambda/core/claim-store.js';
import {
  ClaimStoreUnavailableError,
  LeaseLostError,
  ZombieCommitError,
} from '../../../../lambda/core/errors.js';
import { dropResponses, type SentRequest, updateExpressionOf } from '../../../support/drop-response.js';
import { localDocumentClient, newClaimsTable, uniqueName } from '../../../support/local-aws.js';

/**
 * The properties the spin model checks (docs/design.md section 12), on the real ClaimStore and DynamoDB Local:
 * random schedules of claims, commits, extensions, releases, parks, crashes, pauses, clock moves and lost
 * responses across three consumers and two ids. fast-check shrinks a failing schedule to a minimal one and prints
 * it with its seed and path.
 */
const TIMEOUT_MS = 10_000; // the function timeout T: a consumer that is not paused is stopped this long after its claim
const MARGIN_MS = 5_000; // the clock-skew margin; every consumer's clock is ahead of real time by 0..margin
const LEASE_MS = TIMEOUT_MS + MARGIN_MS; // the construct's default: T + margin
const CONSUMERS = 3;
const IDS = 2;
const SEED = 20_261_202;
const NUM_RUNS = 60;
const SDK_ATTEMPTS = 2;

const admin = localDocumentClient();
let claimsTable: string;
let effectsTable: string;

beforeAll(async () => {
  claimsTable = await newClaimsTable(admin);
  effectsTable = uniqueName('effects');
  await createTable(admin, effectsTable, { partitionKey: { name: 'id', type: 'S' } });
});

type LostResponse = 'none' | 'once' | 'always';

type Step =
  | { readonly kind: 'claim'; readonly consumer: number; readonly id: number; readonly lost: LostResponse }
  | { readonly kind: 'race'; readonly consumers: readonly [number, number]; readonly id: number }
  | {
      readonly kind: 'commit';
      readonly consumer: number;
      readonly ids: readonly number[];
      readonly lost: LostResponse;
    }
  | { readonly kind: 'commitOptimistic'; readonly consumer: number; readonly id: number }
  | { readonly kind: 'extend'; readonly consumer: number; readonly id: number }
  | { readonly kind: 'release'; readonly consumer: number; readonly id: number }
  | { readonly kind: 'park'; readonly consumer: number; readonly id: number; readonly withClaim: boolean }
  | { readonly kind: 'crash'; readonly consumer: number }
  | { readonly kind: 'pause'; readonly consumer: number }
  | { readonly kind: 'advance'; readonly ms: number };

const consumerArb = fc.integer({ min: 0, max: CONSUMERS - 1 });
const idArb = fc.integer({ min: 0, max: IDS - 1 });
const lostArb = fc.constantFrom<LostResponse>('none', 'none', 'none', 'once', 'always');
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({ kind: fc.constant('claim'), consumer: consumerArb, id: idArb, lost: lostArb }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('race'),
      consumers: fc.tuple(consumerArb, consumerArb).filter(([a, b]) => a !== b),
      id: idArb,
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('commit'),
      consumer: consumerArb,
      ids: fc.uniqueArray(idArb, { minLength: 1, maxLength: IDS }),
      lost: lostArb,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('commitOptimistic'), consumer: consumerArb, id: idArb }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('extend'), consumer: consumerArb, id: idArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('release'), consumer: consumerArb, id: idArb }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('park'),
      consumer: consumerArb,
      id: idArb,
      withClaim: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('crash'), consumer: consumerArb }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('pause'), consumer: consumerArb }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('advance'),
      ms: fc.constantFrom(1_000, MARGIN_MS, TIMEOUT_MS, LEASE_MS, LEASE_MS + MARGIN_MS + 1),
    }),
  },
);

/** A claim a consumer holds: when it started (real time), the lease end it believes, and what happened since. */
interface Hold {
  readonly claim: Claim;
  readonly startedAtMs: number;
  leaseExpiresAtMs: number;
  /** Paused past its timeout: a zombie, no longer stopped at T. */
  paused: boolean;
  /** Ghost: another consumer claimed, committed or parked the id since this claim. */
  takenOver: boolean;
}

/** One consumer: its own client (so its responses can be lost), its clock, its claims by id. */
class Consumer {
  readonly store: ClaimStore;
  readonly holds = new Map<string, Hold>();
  private readonly drops = { claim: 0, commit: 0 };

  constructor(
    readonly index: number,
    readonly skewMs: number,
    time: { nowMs: number },
  ) {
    const client = DynamoDBDocumentClient.from(
      new DynamoDBClient({
        ...LOCAL_AWS_CONFIG,
        endpoint: inject('dynamoDbEndpoint'),
        maxAttempts: SDK_ATTEMPTS,
      }),
    );
    // One middleware per client; each lost-response step arms it for a number of attempts.
    dropResponses(client, { when: (request) => this.takeDrop(request), attempts: Number.POSITIVE_INFINITY });
    this.store = new ClaimStore({
      tableName: claimsTable,
      dynamoDb: client,
      leaseMs: LEASE_MS,
      clock: () => time.nowMs + skewMs,
      owner: `consumer-${index}`,
    });
  }

  nowMs(time: { nowMs: number }): number {
    return time.nowMs + this.skewMs;
  }

  /** Loses the answers of the next claim (or commit) request: once (the SDK's retry gets one) or on every attempt. */
  arm(operation: 'claim' | 'commit', lost: LostResponse): void {
    this.drops[operation] = lost === 'none' ? 0 : lost === 'once' ? 1 : SDK_ATTEMPTS;
  }

  disarm(): void {
    this.drops.claim = 0;
    this.drops.commit = 0;
  }

  private takeDrop(request: SentRequest): boolean {
    const operation =
      request.commandName === 'TransactWriteItemsCommand'
        ? 'commit'
        : updateExpressionOf(request)?.startsWith('SET #status = :processing')
          ? 'claim'
          : undefined;
    if (operation === undefined || this.drops[operation] === 0) return false;
    this.drops[operation] -= 1;
    return true;
  }
}

/** The effect each commit applies: one more on the id's counter, staged in the commit's transaction. */
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
  const { Item } = await admin.send(
    new GetCommand({ TableName: effectsTable, Key: { id: messageId }, ConsistentRead: true }),
  );
  const applied = Item?.applied;
  return typeof applied === 'number' ? applied : 0;
}

/** Runs one schedule and checks the model's properties after every step and at its end. */
async function runSchedule(skewsMs: readonly number[], steps: readonly Step[]): Promise<void> {
  const time = { nowMs: Date.now() };
  const run = uniqueName('m');
  const ids = Array.from({ length: IDS }, (_, index) => `${run}-${index}`);
  const consumers = skewsMs.map((skewMs, index) => new Consumer(index, skewMs, time));
  const idOf = (index: number) => ids[index] ?? '';
  const consumerOf = (index: number) => {
    const consumer = consumers[index];
    if (consumer === undefined) throw new Error(`no consumer ${index}`);
    return consumer;
  };

  /** A new owner of messageId (a claim, an optimistic commit, a park): every other holder has lost its lease. */
  const takeOver = (winner: Consumer, messageId: string) => {
    for (const other of consumers) {
      const hold = other.holds.get(messageId);
      if (other !== winner && hold !== undefined) hold.takenOver = true;
    }
  };

  /** No two consumers run a handler for one id at once: each not paused and within T of its claim. */
  const expectSingleLiveOwner = (claimer: Consumer, messageId: string) => {
    const live = consumers.filter((consumer) => {
      const hold = consumer.holds.get(messageId);
      return hold !== undefined && !hold.paused && time.nowMs <= hold.startedAtMs + TIMEOUT_MS;
    });
    expect(
      live.map((consumer) => consumer.index),
      `live owners of ${messageId}`,
    ).toEqual([claimer.index]);
  };

  const claim = async (consumer: Consumer, messageId: string) => {
    if (consumer.holds.has(messageId)) return;
    try {
      const result = await consumer.store.claim(messageId);
      if (result.kind !== 'Claimed') return;
      takeOver(consumer, messageId);
      consumer.holds.set(messageId, {
        claim: result.claim,
        startedAtMs: time.nowMs,
        leaseExpiresAtMs: result.claim.leaseExpiresAtMs,
        paused: false,
        takenOver: false,
      });
      expectSingleLiveOwner(consumer, messageId);
    } catch (error) {
      // Every attempt's answer lost: the store released what it may have taken and reports a retryable error.
      expect(error).toBeInstanceOf(ClaimStoreUnavailableError);
    }
  };

  const commit = async (consumer: Consumer, messageIds: readonly string[]) => {
    // The runtime does not send a commit for a lease that ended by its own clock, unless a pause fell between
    // that check and the request (a zombie).
    const members = messageIds.flatMap((messageId) => {
      const hold = consumer.holds.get(messageId);
      if (hold === undefined) return [];
      if (!hold.paused && consumer.nowMs(time) > hold.leaseExpiresAtMs) return [];
      return [{ messageId, hold }];
    });
    if (members.length === 0) return;
    const outcomes = await consumer.store.commitAll(
      members.map(({ messageId, hold }) => ({
        messageId,
        claim: hold.claim,
        stagedWrites: [increment(messageId)],
      })),
    );
    members.forEach(({ messageId, hold }, index) => {
      const outcome = outcomes[index];
      consumer.holds.delete(messageId);
      if (hold.takenOver) {
        // A zombie's commit never lands.
        expect(outcome?.kind, `zombie commit of ${messageId}`).toBe('Failed');
        if (outcome?.kind === 'Failed') expect(outcome.error).toBeInstanceOf(ZombieCommitError);
      }
    });
  };

  for (const step of steps) {
    await runStep(step).finally(() => {
      for (const consumer of consumers) consumer.disarm();
    });
  }

  async function runStep(step: Step): Promise<void> {
    switch (step.kind) {
      case 'claim': {
        const consumer = consumerOf(step.consumer);
        consumer.arm('claim', step.lost);
        await claim(consumer, idOf(step.id));
        break;
      }
      case 'race':
        await Promise.all(step.consumers.map((index) => claim(consumerOf(index), idOf(step.id))));
        break;
      case 'commit': {
        const consumer = consumerOf(step.consumer);
        consumer.arm('commit', step.lost);
        await commit(consumer, step.ids.map(idOf));
        break;
      }
      case 'commitOptimistic': {
        const consumer = consumerOf(step.consumer);
        const messageId = idOf(step.id);
        if (consumer.holds.has(messageId)) break;
        const result = await consumer.store.commitOptimistic(messageId, [increment(messageId)]);
        if (result.kind === 'Committed') takeOver(consumer, messageId);
        break;
      }
      case 'extend': {
        const consumer = consumerOf(step.consumer);
        const hold = consumer.holds.get(idOf(step.id));
        if (hold === undefined) break;
        try {
          hold.leaseExpiresAtMs = await consumer.store.extend(hold.claim);
          // Only a lease still held can be extended.
          expect(hold.takenOver, 'extended a lease taken over').toBe(false);
        } catch (error) {
          expect(error).toBeInstanceOf(LeaseLostError);
          consumer.holds.delete(idOf(step.id)); // the handler is aborted
        }
        break;
      }
      case 'release': {
        const consumer = consumerOf(step.consumer);
        const hold = consumer.holds.get(idOf(step.id));
        if (hold === undefined) break;
        const released = await consumer.store.release(hold.claim, 'retryable');
        if (released) expect(hold.takenOver, 'released a lease taken over').toBe(false);
        consumer.holds.delete(idOf(step.id));
        break;
      }
      case 'park': {
        const consumer = consumerOf(step.consumer);
        const messageId = idOf(step.id);
        const hold = consumer.holds.get(messageId);
        if (step.withClaim && hold === undefined) break;
        const parked = await consumer.store.park(
          messageId,
          'permanent',
          step.withClaim ? hold?.claim : undefined,
        );
        if (parked.kind === 'Parked' && !step.withClaim) takeOver(consumer, messageId);
        consumer.holds.delete(messageId);
        break;
      }
      case 'crash':
        consumerOf(step.consumer).holds.clear();
        break;
      case 'pause':
        for (const hold of consumerOf(step.consumer).holds.values()) hold.paused = true;
        break;
      case 'advance':
        time.nowMs += step.ms;
        // Lambda stops an invocation at its timeout; a paused one is a zombie and may still act.
        for (const consumer of consumers) {
          for (const [messageId, hold] of consumer.holds) {
            if (!hold.paused && time.nowMs > hold.startedAtMs + TIMEOUT_MS) consumer.holds.delete(messageId);
          }
        }
        break;
    }
  }

  // Eventually: once every lease is over, a fresh consumer applies each id that is not DONE yet, so each id ends
  // applied, and never more than once.
  time.nowMs += LEASE_MS + MARGIN_MS + 1;
  const last = new Consumer(CONSUMERS, 0, time);
  for (const messageId of ids) {
    const result = await last.store.claim(messageId);
    expect(result.kind, `final claim of ${messageId}`).not.toBe('InFlight');
    if (result.kind === 'Claimed') await last.store.commit(result.claim, [increment(messageId)]);
    expect(await timesApplied(messageId), `effects of ${messageId}`).toBe(1);
  }
}

describe('ClaimStore under random schedules on DynamoDB Local', () => {
  it('applies each id at most once, never lands a zombie commit, keeps one live owner within the skew margin, and applies every id in the end', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: MARGIN_MS }), { minLength: CONSUMERS, maxLength: CONSUMERS }),
        fc.array(stepArb, { minLength: 5, maxLength: 30 }),
        runSchedule,
      ),
      { seed: SEED, numRuns: NUM_RUNS },
    );
  }, 120_000);
});
