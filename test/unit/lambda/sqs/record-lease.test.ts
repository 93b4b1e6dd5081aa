import type { Context, SQSRecord } from 'aws-lambda';
import { LeaseLostError, type MessageHandler, type ProcessingMode } from 'onceflow';
import { MemoryClaimStore, sqsRecord } from 'onceflow/testing';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BatchProcessor } from '../../../../lambda/sqs/batch-processor.js';
import { createDoneCache } from '../../../../lambda/sqs/done-cache.js';

const LEASE_MS = 20_000;
/** abortMarginMs(20 s): 5 s. */
const MARGIN_MS = 5_000;

interface Harness {
  readonly store: MemoryClaimStore;
  readonly parked: { messageId: string; reason: string; errorType: string }[];
  /** When each SQS record becomes visible again, as ChangeMessageVisibility last set it. */
  readonly visibleAtMs: Map<string, number>;
  process(records: SQSRecord[], lambdaContext?: Context): ReturnType<BatchProcessor['process']>;
}

function harness(
  handler: MessageHandler,
  options: {
    heartbeat?: boolean;
    mode?: ProcessingMode;
    concurrency?: number;
    maxReceiveCount?: number;
  } = {},
): Harness {
  const store = new MemoryClaimStore({ leaseMs: LEASE_MS });
  const parked: Harness['parked'] = [];
  const visibleAtMs = new Map<string, number>();
  const silent = {
    debug: () => undefined,
    info: () => undefined,
    warn: () => undefined,
    error: () => undefined,
  };
  const processor = new BatchProcessor({
    store,
    handler,
    mode: options.mode ?? 'lease',
    deadLetters: {
      park: async (record, reason, errorType) => {
        parked.push({ messageId: JSON.parse(record.body).messageId, reason, errorType });
      },
    },
    sourceQueue: {
      returnAfter: async (record, delayMs) => {
        visibleAtMs.set(record.messageId, Date.now() + delayMs);
        return true;
      },
    },
    doneCache: createDoneCache(100),
    logger: silent,
    metrics: { addMetric: () => undefined, publishStoredMetrics: () => undefined },
    concurrency: options.concurrency ?? 10,
    heartbeat: options.heartbeat ?? false,
    maxReceiveCount: options.maxReceiveCount,
    visibilityTimeoutSeconds: 30,
    clock: () => Date.now(),
    outboxTableName: undefined,
  });
  return {
    store,
    parked,
    visibleAtMs,
    process: (records, lambdaContext) => processor.process({ Records: records }, lambdaContext),
  };
}

const record = (messageId: string, receiveCount = 1) =>
  sqsRecord({ messageId, payload: {} }, { receiveCount, sqsMessageId: `sqs-${messageId}` });
const put = (messageId: string) => ({ TableName: 'effects', Item: { id: messageId } });
const committed = (messageId: string) => [{ Put: put(messageId) }];
/** The handler's work taking `ms` of (fake) time. */
const work = (ms: number) => vi.advanceTimersByTimeAsync(ms);
const never = () => new Promise<void>(() => undefined);

describe('a handler and its lease', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('fires ctx.signal a margin before the lease ends and stops waiting for a handler that ignores it', async () => {
    let abortedAtMs: number | undefined;
    const startedAtMs = Date.now();
    const h = harness(async (message, ctx) => {
      ctx.signal.addEventListener('abort', () => {
        abortedAtMs = Date.now();
      });
      if (message.messageId === 'hung') await never();
      ctx.tx.put(put(message.messageId));
    });

    const batch = h.process([record('hung'), record('quick')]);
    await vi.advanceTimersByTimeAsync(LEASE_MS);
    const { outcomes } = await batch;

    expect(abortedAtMs).toBe(startedAtMs + LEASE_MS - MARGIN_MS);
    expect(outcomes.map((o) => [o.messageId, o.kind])).toEqual([
      ['hung', 'Retried'],
      ['quick', 'Processed'],
    ]);
    expect(outcomes[0]?.reason).toMatch(
      /^HandlerTimedOut: the handler did not return in time \(the lease ends/,
    );
    expect(h.store.committedWrites('hung')).toBeUndefined();
    expect(h.store.committedWrites('quick')).toEqual(committed('quick'));
    // Not released: the handler may still be running, so nobody else may start before its lease ends.
    expect(h.store.record('hung')).toMatchObject({
      status: 'PROCESSING',
      leaseExpiresAtMs: startedAtMs + LEASE_MS,
    });
  });

  it('holds the message with ctx.extendLease: a challenger finds it in flight and the late commit lands', async () => {
    const startedAtMs = Date.now();
    const challenges: string[] = [];
    const h = harness(async (message, ctx) => {
      await work(LEASE_MS - MARGIN_MS - 1);
      await ctx.extendLease(LEASE_MS);
      await work(10_000);
      challenges.push((await h.store.claim(message.messageId)).kind);
      ctx.tx.put(put(message.messageId));
    });

    const { outcomes } = await h.process([record('long')]);

    expect(challenges).toEqual(['InFlight']);
    expect(outcomes.map((o) => o.kind)).toEqual(['Processed']);
    expect(h.store.committedWrites('long')).toEqual(committed('long'));
    // The extension also kept the SQS record invisible for as long (it passed the queue's 30 s timeout).
    expect(h.visibleAtMs.get('sqs-long')).toBe(startedAtMs + LEASE_MS - MARGIN_MS - 1 + LEASE_MS);
  });

  it('never shortens the visibility timeout: an extension that ends before it leaves the record alone', async () => {
    const h = harness(async (_message, ctx) => {
      await ctx.extendLease(10_000);
    });

    await h.process([record('short')]);

    expect(h.visibleAtMs.has('sqs-short')).toBe(false);
  });

  it('refuses to extend a lease another consumer took over, and aborts ctx.signal', async () => {
    let extension: unknown;
    let aborted = false;
    let release: () => void = () => undefined;
    const finished = new Promise<void>((resolve) => {
      release = resolve;
    });
    const h = harness(async (message, ctx) => {
      await work(LEASE_MS + 1);
      await h.store.claim(message.messageId); // the lease ended: another consumer takes it over
      extension = await ctx.extendLease().catch((error: unknown) => error);
      aborted = ctx.signal.aborted;
      release();
    });

    const { outcomes } = await h.process([record('taken')]);
    await finished;

    expect(outcomes.map((o) => o.kind)).toEqual(['Retried']);
    expect(extension).toBeInstanceOf(LeaseLostError);
    expect(aborted).toBe(true);
    expect(h.store.record('taken')).toMatchObject({ fencingToken: 2 });
  });

  it.each([
    { heartbeat: true, kind: 'Processed', challenges: ['InFlight', 'InFlight', 'InFlight'] },
    { heartbeat: false, kind: 'Retried', challenges: ['Claimed'] },
  ])(
    'runs a handler three leases long with heartbeat $heartbeat: $kind',
    async ({ heartbeat, kind, challenges }) => {
      const seen: string[] = [];
      let finish: () => void = () => undefined;
      const finished = new Promise<void>((resolve) => {
        finish = resolve;
      });
      const h = harness(
        async (message, ctx) => {
          // A challenger tries to claim after every lease-long step of work.
          for (let step = 0; step < 3; step += 1) {
            await work(LEASE_MS + 1);
            const challenge = await h.store.claim(message.messageId);
            seen.push(challenge.kind);
            if (challenge.kind === 'Claimed') break;
          }
          ctx.tx.put(put(message.messageId));
          finish();
        },
        { heartbeat },
      );

      const { outcomes } = await h.process([record('video')]);
      await finished;

      expect(outcomes.map((o) => o.kind)).toEqual([kind]);
      expect(seen).toEqual(challenges);
      expect(h.store.committedWrites('video')).toEqual(heartbeat ? committed('video') : undefined);
    },
  );

  it('does not attempt a commit whose lease ended while its batch-mates ran', async () => {
    // Concurrency 1: 'first' returns at 14 s (its lease ends at 20 s); 'second' is claimed then and returns at 24 s.
    const h = harness(
      async (message, ctx) => {
        await work(message.messageId === 'first' ? 14_000 : 10_000);
        ctx.tx.put(put(message.messageId));
      },
      { concurrency: 1 },
    );

    const { outcomes } = await h.process([record('first'), record('second')]);

    expect(outcomes.map((o) => [o.messageId, o.kind])).toEqual([
      ['first', 'Retried'],
      ['second', 'Processed'],
    ]);
    expect(outcomes[0]?.reason).toBe(
      'LeaseExpiredError: Commit of first not attempted: its lease ended 4000 ms before the handler returned.',
    );
    expect(h.store.committedWrites('first')).toBeUndefined();
  });

  it('fires ctx.signal a margin before the Lambda invocation times out, in optimistic mode too', async () => {
    const startedAtMs = Date.now();
    let abortedAtMs: number | undefined;
    const h = harness(
      async (_message, ctx) => {
        ctx.signal.addEventListener('abort', () => {
          abortedAtMs = Date.now();
        });
        await never();
      },
      { mode: 'optimistic' },
    );
    const lambdaContext = { getRemainingTimeInMillis: () => 12_000 } as Context;

    const batch = h.process([record('slow')], lambdaContext);
    await vi.advanceTimersByTimeAsync(12_000);
    const { outcomes } = await batch;

    expect(abortedAtMs).toBe(startedAtMs + 12_000 - MARGIN_MS);
    expect(outcomes.map((o) => o.kind)).toEqual(['Retried']);
    expect(outcomes[0]?.reason).toMatch(/the invocation ends in 5000 ms/);
  });
});

describe('the last receive', () => {
  it('parks a record in flight elsewhere on its last receive, with the lease as the reason', async () => {
    const h = harness(() => undefined, { maxReceiveCount: 5 });
    await h.store.claim('busy');

    const { outcomes } = await h.process([record('busy', 5)]);

    expect(outcomes.map((o) => o.kind)).toEqual(['Parked']);
    expect(h.parked).toEqual([
      {
        messageId: 'busy',
        errorType: 'RetriesExhausted',
        reason: expect.stringMatching(
          /^leased by in-memory for \d+ ms more \(receive 5 of maxReceiveCount 5/,
        ),
      },
    ]);
    // The owner keeps its lease: if it commits, the parked copy is a duplicate when redriven.
    expect(h.store.record('busy')?.status).toBe('PROCESSING');
  });

  it('returns a record in flight elsewhere before its last receive, just after that lease ends', async () => {
    const h = harness(() => undefined, { maxReceiveCount: 5 });
    await h.store.claim('busy');

    const { outcomes } = await h.process([record('busy', 4)]);

    expect(outcomes.map((o) => o.kind)).toEqual(['InFlight']);
    expect(h.parked).toEqual([]);
    expect(h.visibleAtMs.has('sqs-busy')).toBe(true);
  });
});
