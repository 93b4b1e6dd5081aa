import type { MessageHandler, ProcessingMode, ReadBeforeClaim } from 'onceflow';
import { MemoryClaimStore, sqsRecord } from 'onceflow/testing';
import { describe, expect, it, vi } from 'vitest';
import { BatchProcessor } from '../../../../lambda/sqs/batch-processor.js';
import { createDoneCache } from '../../../../lambda/sqs/done-cache.js';

/** One processor (one warm container) on an in-memory store, with the store's reads and claims spied on. */
function harness(options: { readBeforeClaim?: ReadBeforeClaim; mode?: ProcessingMode } = {}) {
  const store = new MemoryClaimStore();
  const findDone = vi.spyOn(store, 'findDone');
  const claim = vi.spyOn(store, 'claim');
  const handled: string[] = [];
  const handler: MessageHandler = (message) => {
    handled.push(message.messageId);
  };
  const warn = vi.fn();
  const processor = new BatchProcessor({
    store,
    handler,
    mode: options.mode ?? 'lease',
    readBeforeClaim: options.readBeforeClaim,
    deadLetters: undefined,
    sourceQueue: { returnAfter: async () => true },
    doneCache: createDoneCache(1000),
    logger: { debug: () => undefined, info: () => undefined, warn, error: () => undefined },
    metrics: { addMetric: () => undefined, publishStoredMetrics: () => undefined },
    concurrency: 10,
    heartbeat: false,
    maxReceiveCount: undefined,
    visibilityTimeoutSeconds: undefined,
    clock: () => Date.now(),
    outboxTableName: undefined,
  });
  const process = async (messageIds: readonly string[]) => {
    const report = await processor.process({
      Records: messageIds.map((messageId) => sqsRecord({ messageId, payload: { messageId } })),
    });
    return report.outcomes.map((outcome) => outcome.kind);
  };
  /** Whether each batch of `batches` was read before its claims. */
  const readsOf = async (batches: readonly (readonly string[])[]) => {
    const reads: boolean[] = [];
    for (const batch of batches) {
      const before = findDone.mock.calls.length;
      await process(batch);
      reads.push(findDone.mock.calls.length > before);
    }
    return reads;
  };
  return { store, findDone, claim, handled, warn, process, readsOf };
}

let ids = 0;
/** Fresh messageIds, never seen by any store. */
const fresh = (n: number) => Array.from({ length: n }, () => `m-${++ids}`);

/** n messageIds another consumer has committed: DONE on record, in no DONE cache of this container. */
async function doneElsewhere(store: MemoryClaimStore, n: number): Promise<string[]> {
  const messageIds = fresh(n);
  await store.commitAll(messageIds.map((messageId) => ({ messageId, stagedWrites: [] })));
  return messageIds;
}

describe('the batch read before claiming, in lease mode', () => {
  it("with 'always', answers a known duplicate as a refused claim would, without claiming it or running its handler", async () => {
    const { store, findDone, claim, handled, process } = harness({ readBeforeClaim: 'always' });
    const [known] = await doneElsewhere(store, 1);
    if (known === undefined) throw new Error('no messageId');
    const others = fresh(2);

    const kinds = await process([known, ...others]);

    expect(kinds).toEqual(['Duplicate', 'Processed', 'Processed']);
    expect(findDone).toHaveBeenCalledWith([known, ...others]);
    expect(claim.mock.calls.map(([messageId]) => messageId).sort()).toEqual([...others].sort());
    expect(handled.sort()).toEqual([...others].sort());
  });

  it("with 'never', claims without reading, however many duplicates come", async () => {
    const { store, findDone, claim, readsOf } = harness({ readBeforeClaim: 'never' });
    const batches = [
      await doneElsewhere(store, 10),
      await doneElsewhere(store, 10),
      await doneElsewhere(store, 10),
    ];

    expect(await readsOf(batches)).toEqual([false, false, false]);
    expect(findDone).not.toHaveBeenCalled();
    expect(claim).toHaveBeenCalledTimes(30);
  });

  it("with 'auto' (the default), reads nothing on a fresh processor, and starts after a batch of duplicates", async () => {
    const { store, claim, handled, readsOf } = harness();
    const batches = [fresh(10), await doneElsewhere(store, 10), await doneElsewhere(store, 10)];

    expect(await readsOf(batches)).toEqual([false, false, true]);
    // The first two batches claim every message; the third's duplicates were found by the read and claim nothing.
    expect(claim).toHaveBeenCalledTimes(20);
    expect(handled).toEqual(expect.arrayContaining(batches[0] ?? []));
    expect(handled).toHaveLength(10);
  });

  it("with 'auto', keeps reading a stream of 30% duplicates once it starts, and stops after batches with none", async () => {
    const { store, readsOf } = harness({ readBeforeClaim: 'auto' });
    const mixed = [];
    for (let batch = 0; batch < 10; batch++) mixed.push([...(await doneElsewhere(store, 3)), ...fresh(7)]);
    const news = Array.from({ length: 10 }, () => fresh(10));

    const reads = await readsOf([...mixed, ...news]);

    // Off at first; once on, duplicates the read finds count as refused claims would, so it stays on.
    const startedAt = reads.indexOf(true);
    expect(startedAt).toBeGreaterThan(0);
    expect(startedAt).toBeLessThan(5);
    expect(reads.slice(startedAt, mixed.length)).toEqual(Array(mixed.length - startedAt).fill(true));
    // Read batches of new messages bring the share down until the read stops, and it stays off.
    const stoppedAt = reads.indexOf(false, mixed.length);
    expect(stoppedAt).toBeGreaterThan(mixed.length);
    expect(reads.slice(stoppedAt)).toEqual(Array(reads.length - stoppedAt).fill(false));
  });

  it("with 'auto', does not count duplicates the container's DONE cache answers", async () => {
    const { readsOf } = harness({ readBeforeClaim: 'auto' });
    const batch = fresh(10);

    // Committed here, then delivered again: known to the container, they cost no request, and a read saves nothing.
    expect(await readsOf([batch, batch, batch, fresh(10)])).toEqual([false, false, false, false]);
  });

  it('claims as without the read when the read fails, and logs it', async () => {
    const { store, findDone, claim, warn, process } = harness({ readBeforeClaim: 'always' });
    const [known] = await doneElsewhere(store, 1);
    if (known === undefined) throw new Error('no messageId');
    const [other] = fresh(1);
    if (other === undefined) throw new Error('no messageId');
    findDone.mockRejectedValueOnce(new Error('ProvisionedThroughputExceededException'));

    const kinds = await process([known, other]);

    expect(kinds).toEqual(['Duplicate', 'Processed']);
    expect(claim).toHaveBeenCalledTimes(2);
    expect(warn).toHaveBeenCalledWith(
      'Could not read which messages are done; going on without knowing',
      expect.objectContaining({ error: expect.stringContaining('ProvisionedThroughputExceededException') }),
    );
  });

  it('refuses at the claim a messageId committed between the read and the claim', async () => {
    const { store, findDone, handled, process } = harness({ readBeforeClaim: 'always' });
    const [racing, other] = fresh(2);
    if (racing === undefined || other === undefined) throw new Error('no messageId');
    // Another consumer commits it just after this batch's read saw nothing DONE.
    findDone.mockImplementationOnce(async (messageIds) => {
      const done = await MemoryClaimStore.prototype.findDone.call(store, messageIds);
      await store.commitAll([{ messageId: racing, stagedWrites: [] }]);
      return done;
    });

    const kinds = await process([racing, other]);

    expect(kinds).toEqual(['Duplicate', 'Processed']);
    expect(handled).toEqual([other]);
  });
});

describe('the batch read in optimistic mode', () => {
  it("with 'always', reads every batch, from the first", async () => {
    const { claim, readsOf } = harness({ mode: 'optimistic', readBeforeClaim: 'always' });

    expect(await readsOf([fresh(10), fresh(10)])).toEqual([true, true]);
    expect(claim).not.toHaveBeenCalled();
  });

  it("with 'auto' (the default), reads its first batches, and stops once about 70 deliveries held no duplicate", async () => {
    const { readsOf } = harness({ mode: 'optimistic' });

    const batches = Array.from({ length: 10 }, () => fresh(10));
    expect(await readsOf(batches)).toEqual([...Array(7).fill(true), false, false, false]);
  });

  it("with 'auto', a duplicate refused by the commit turns the read on again, and the read then keeps duplicates out", async () => {
    const { store, readsOf, process, handled } = harness({ mode: 'optimistic' });
    await readsOf(Array.from({ length: 8 }, () => fresh(10)));
    const [missed = ''] = await doneElsewhere(store, 1);

    expect(await readsOf([[missed, ...fresh(9)]])).toEqual([false]);
    const [known = ''] = await doneElsewhere(store, 1);
    const before = handled.length;
    expect(await process([known, ...fresh(9)])).toEqual(['Duplicate', ...Array(9).fill('Processed')]);
    expect(handled.slice(before)).not.toContain(known);
  });
});
