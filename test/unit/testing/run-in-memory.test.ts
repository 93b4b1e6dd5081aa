import { describe, expect, it } from 'vitest';
import {
  exactlyOnce,
  type MessageHandler,
  PermanentError,
  type StandardSchemaV1,
} from '../../../lambda/index.js';
import { MemoryClaimStore } from '../../../testing/memory-claim-store.js';
import { runInMemory } from '../../../testing/run-in-memory.js';
import { IN_MEMORY_QUEUE_ARN, sqsEvent } from '../../../testing/sqs-event.js';
import { commit, commitOptimistic } from '../../support/memory-store-commits.js';

interface Order {
  readonly amountCents: number;
}

const order = (messageId: string, amountCents = 500) => ({ messageId, payload: { amountCents } });

/** A handler that stages one put per message and counts its calls per messageId. */
function recordingHandler() {
  const calls: string[] = [];
  const handler: MessageHandler<Order> = (message, ctx) => {
    calls.push(message.messageId);
    ctx.tx.put({
      TableName: 'orders',
      Item: { orderId: message.messageId, amountCents: message.payload.amountCents },
    });
  };
  return { calls, handler };
}

describe('runInMemory', () => {
  it('applies the handler options of the issue-14 features: schema, payload mismatch, stored result', async () => {
    const schema: StandardSchemaV1<unknown, Order> = {
      '~standard': {
        version: 1,
        vendor: 'test',
        validate: (value: unknown) =>
          typeof value === 'object' && value !== null && 'amountCents' in value
            ? { value: { amountCents: Number(value.amountCents) } }
            : { issues: [{ message: 'amountCents is required' }] },
      },
    };
    const handler = exactlyOnce((message) => ({ receipt: message.payload.amountCents }), {
      schema,
      storeResult: true,
    });

    const run = await runInMemory(
      handler,
      [
        order('a', 1),
        order('a', 2),
        { body: JSON.stringify({ messageId: 'b', timestamp: 1, payload: {} }) },
        order('a', 1),
      ],
      { batchSize: 1 },
    );

    expect(run.outcomes.map((o) => [o.messageId, o.kind, o.result])).toEqual([
      ['a', 'Processed', { receipt: 1 }],
      ['a', 'Parked', undefined],
      ['b', 'Parked', undefined],
      ['a', 'Duplicate', { receipt: 1 }],
    ]);
    expect(run.parked.map((parked) => parked.errorType)).toEqual([
      'PayloadMismatchError',
      'PayloadValidationError',
    ]);
  });

  it('runs a handler once per messageId, within a batch and across batches', async () => {
    const { calls, handler } = recordingHandler();

    const run = await runInMemory(
      handler,
      [order('a'), order('b'), order('a'), order('c'), order('b'), order('a')],
      { batchSize: 3 },
    );

    expect(calls.sort()).toEqual(['a', 'b', 'c']);
    expect(run.outcomes.map((outcome) => [outcome.messageId, outcome.kind])).toEqual([
      ['a', 'Processed'],
      ['b', 'Processed'],
      ['a', 'Duplicate'],
      ['c', 'Processed'],
      ['b', 'Duplicate'],
      ['a', 'Duplicate'],
    ]);
    expect(run.batches).toBe(2);
    expect(run.committed('a')).toEqual([
      { Put: { TableName: 'orders', Item: { orderId: 'a', amountCents: 500 } } },
    ]);
    expect(run.store.commits().map((commit) => commit.messageId)).toEqual(['a', 'b', 'c']);
    expect(run.store.record('a')).toMatchObject({ status: 'DONE', fencingToken: 1, attempts: 1 });
  });

  it('finds a duplicate in the claim store when the container cache has never seen it', async () => {
    const { calls, handler } = recordingHandler();
    const store = new MemoryClaimStore();
    await runInMemory(handler, [order('a')], { store });

    // A second run is a new processor (a cold container), so the claim record answers, not the cache.
    const again = await runInMemory(handler, [order('a')], { store });

    expect(calls).toEqual(['a']);
    expect(again.outcomes).toEqual([
      { sqsMessageId: 'in-memory-1', messageId: 'a', kind: 'Duplicate', takeover: false },
    ]);
    expect(store.commits()).toHaveLength(1);
  });

  it('parks a message whose handler throws PermanentError, with the reason, and commits nothing', async () => {
    const run = await runInMemory<Order>(
      (message) => {
        if (!Number.isInteger(message.payload.amountCents)) {
          throw new PermanentError('amountCents must be an integer');
        }
      },
      [order('bad', 1.5)],
    );

    expect(run.final.get('bad')).toMatchObject({ kind: 'Parked' });
    expect(run.parked).toEqual([
      {
        messageId: 'bad',
        sqsMessageId: 'in-memory-1',
        body: expect.stringContaining('"messageId":"bad"'),
        reason: 'PermanentError: amountCents must be an integer',
        errorType: 'PermanentError',
      },
    ]);
    expect(run.deliveries).toBe(1);
    expect(run.committed('bad')).toBeUndefined();
    expect(run.store.record('bad')).toMatchObject({
      status: 'FAILED',
      lastError: 'PermanentError: amountCents must be an integer',
    });
  });

  it('parks malformed bodies with MalformedMessageError and never calls the handler', async () => {
    const calls: string[] = [];
    const run = await runInMemory(
      (message) => {
        calls.push(message.messageId);
      },
      [{ body: 'not json' }, { body: JSON.stringify({ messageId: 'no-payload', timestamp: 1 }) }],
    );

    expect(calls).toEqual([]);
    expect(run.parked.map(({ messageId, errorType }) => ({ messageId, errorType }))).toEqual([
      { messageId: undefined, errorType: 'MalformedMessageError' },
      { messageId: 'no-payload', errorType: 'MalformedMessageError' },
    ]);
    expect(run.parked[0]?.body).toBe('not json');
    expect(run.parked[1]?.reason).toBe('payload is missing.');
    // Keyed by the SQS message id when there is no messageId to key by.
    expect(run.final.get('in-memory-1')?.kind).toBe('Parked');
    expect(run.store.record('no-payload')?.status).toBe('FAILED');
  });

  it('redelivers a message after a retryable error; the retry sees attempt 2 and succeeds', async () => {
    const attempts: number[] = [];
    const receiveCounts: number[] = [];
    const run = await runInMemory<Order>(
      (message, ctx) => {
        attempts.push(ctx.attempt);
        receiveCounts.push(message.receiveCount);
        if (ctx.attempt === 1) throw new Error('downstream timed out');
        ctx.tx.put({ TableName: 'orders', Item: { orderId: message.messageId } });
      },
      [order('flaky')],
    );

    expect(attempts).toEqual([1, 2]);
    expect(receiveCounts).toEqual([1, 2]);
    expect(run.outcomes.map((outcome) => outcome.kind)).toEqual(['Retried', 'Processed']);
    expect(run.outcomes[0]?.reason).toBe('Error: downstream timed out');
    expect(run.deliveries).toBe(2);
    expect(run.exhausted).toEqual([]);
    expect(run.committed('flaky')).toHaveLength(1);
    expect(run.store.record('flaky')).toMatchObject({ status: 'DONE', fencingToken: 2, attempts: 2 });
  });

  it('parks a message that fails on every receive on its last one, with the last error as the reason', async () => {
    let calls = 0;
    const run = await runInMemory<Order>(
      () => {
        calls += 1;
        throw new Error(`still down (${calls})`);
      },
      [order('doomed'), { body: 'junk' }],
      { maxReceives: 3 },
    );

    expect(calls).toBe(3);
    // SQS redrive would have moved it without a reason; the runtime parked it first.
    expect(run.exhausted).toEqual([]);
    expect(run.outcomes.filter((outcome) => outcome.messageId === 'doomed').map((o) => o.kind)).toEqual([
      'Retried',
      'Retried',
      'Parked',
    ]);
    expect(run.deliveries).toBe(4);
    const doomed = run.parked.find((parked) => parked.messageId === 'doomed');
    expect(doomed?.errorType).toBe('RetriesExhausted');
    expect(doomed?.reason).toBe(
      'Error: still down (3) (receive 3 of maxReceiveCount 3: parked instead of returned)',
    );
    expect(run.store.record('doomed')).toMatchObject({
      status: 'FAILED',
      lastError: doomed?.reason,
      attempts: 3,
    });
  });

  it('runs optimistic mode from the exactlyOnce handler options: no lease, one commit per messageId', async () => {
    const seen: { fencingToken: number; attempt: number }[] = [];
    const handler = exactlyOnce<Order>(
      (message, ctx) => {
        seen.push({ fencingToken: ctx.fencingToken, attempt: ctx.attempt });
        ctx.tx.put({ TableName: 'orders', Item: { orderId: message.messageId } });
      },
      { mode: 'optimistic' },
    );

    const run = await runInMemory(handler, [order('a'), order('b'), order('a')], { batchSize: 2 });

    expect(seen).toEqual([
      { fencingToken: 0, attempt: 1 },
      { fencingToken: 0, attempt: 1 },
    ]);
    expect(run.outcomes.map((outcome) => outcome.kind)).toEqual(['Processed', 'Processed', 'Duplicate']);
    expect(run.store.commits().map(({ messageId, mode }) => ({ messageId, mode }))).toEqual([
      { messageId: 'a', mode: 'optimistic' },
      { messageId: 'b', mode: 'optimistic' },
    ]);
    // The optimistic DONE write claims and completes at once: a fencing token, no lease.
    expect(run.store.record('a')).toMatchObject({ status: 'DONE', fencingToken: 1, leaseToken: undefined });
  });

  it('lets options.mode override the handler options', async () => {
    const handler = exactlyOnce<Order>(() => undefined, { mode: 'optimistic' });

    const run = await runInMemory(handler, [order('a')], { mode: 'lease' });

    expect(run.store.commits()[0]?.mode).toBe('lease');
  });

  it('in optimistic mode, a lost race applies nothing and reads as a duplicate', async () => {
    const store = new MemoryClaimStore();
    const winner = [{ Put: { TableName: 'orders', Item: { orderId: 'a', by: 'winner' } } }];
    const run = await runInMemory<Order>(
      async (message, ctx) => {
        // Another consumer commits the same messageId while this handler runs.
        await commitOptimistic(store, message.messageId, winner);
        ctx.tx.put({ TableName: 'orders', Item: { orderId: 'a', by: 'loser' } });
      },
      [order('a')],
      { mode: 'optimistic', store },
    );

    expect(run.final.get('a')?.kind).toBe('Duplicate');
    expect(run.committed('a')).toEqual(winner);
    expect(store.commits()).toHaveLength(1);
  });

  it('rejects the commit of a zombie whose lease was taken over; the redelivery finds DONE', async () => {
    let now = 1_000_000;
    const store = new MemoryClaimStore({ clock: () => now, leaseMs: 1_000 });
    const theirs = [{ Put: { TableName: 'orders', Item: { orderId: 'a', by: 'new owner' } } }];
    let calls = 0;
    const run = await runInMemory<Order>(
      async (message, ctx) => {
        calls += 1;
        // Another consumer whose clock runs ahead by more than the lease takes the message over and commits;
        // by this consumer's clock its lease is still live, so it attempts its commit.
        now += 1_001;
        const other = await store.claim(message.messageId);
        if (other.kind !== 'Claimed') throw new Error(`expected a takeover, got ${other.kind}`);
        await commit(store, other.claim, theirs);
        now -= 1_001;
        ctx.tx.put({ TableName: 'orders', Item: { orderId: 'a', by: 'zombie' } });
      },
      [order('a')],
      { store },
    );

    expect(calls).toBe(1);
    expect(run.outcomes.map((outcome) => outcome.kind)).toEqual(['ZombieRejected', 'Duplicate']);
    expect(run.outcomes[0]?.reason).toMatch(/is no longer held \(record is DONE, fencing token 2\)/);
    expect(run.committed('a')).toEqual(theirs);
  });

  it('refuses settings that would never deliver anything', async () => {
    await expect(runInMemory(() => undefined, [order('a')], { batchSize: 0 })).rejects.toBeInstanceOf(
      RangeError,
    );
    await expect(runInMemory(() => undefined, [order('a')], { maxReceives: 1.5 })).rejects.toBeInstanceOf(
      RangeError,
    );
  });
});

describe('sqsEvent', () => {
  it('builds records the wire format reads, with the receive count and a fake queue', () => {
    const event = sqsEvent([order('a'), { body: 'raw' }], { receiveCount: 3, clock: () => 42 });

    const [first, second] = event.Records;
    expect(JSON.parse(first?.body ?? '')).toEqual({
      messageId: 'a',
      timestamp: 42,
      payload: { amountCents: 500 },
    });
    expect(first).toMatchObject({
      eventSource: 'aws:sqs',
      eventSourceARN: IN_MEMORY_QUEUE_ARN,
      awsRegion: 'us-east-1',
      attributes: { ApproximateReceiveCount: '3', SentTimestamp: '42' },
    });
    expect(second?.body).toBe('raw');
    expect(first?.messageId).not.toBe(second?.messageId);
  });
});
