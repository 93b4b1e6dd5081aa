import { GetCommand } from '@aws-sdk/lib-dynamodb';
import * as v from 'valibot';
import { describe, expect, expectTypeOf, it, vi } from 'vitest';
import { z } from 'zod';
import {
  ClaimStore,
  exactlyOnce,
  MAX_STORED_RESULT_BYTES,
  type MessageHandler,
  type MetricsSink,
  payloadFingerprint,
  type StandardSchemaV1,
  toWireBody,
} from '../../../../lambda/index.js';
import { type ConsumerFixture, consumerFixture } from '../../../support/consumer-fixture.js';
import { uniqueName } from '../../../support/local-aws.js';

const wire = (messageId: string, payload: unknown) =>
  toWireBody({ messageId, timestamp: '2026-12-01T10:00:00Z', payload });

function recordingMetrics() {
  const counts: Record<string, number> = {};
  const sink: MetricsSink = {
    addMetric: (name, unit, value) => {
      if (unit === 'Count') counts[name] = (counts[name] ?? 0) + value;
    },
    publishStoredMetrics: () => undefined,
  };
  return { sink, counts };
}

async function claimRecord(fixture: ConsumerFixture, messageId: string) {
  const { Item } = await fixture.dynamoDb.send(
    new GetCommand({ TableName: fixture.claimsTable, Key: { messageId }, ConsistentRead: true }),
  );
  return Item;
}

describe('payload schemas', () => {
  const Order = z.object({
    orderId: z.string(),
    amountCents: z.number().int().positive(),
    currency: z.string().default('EUR'),
  });

  it('hands the handler the schema output, typed, and parks a payload that fails with the issues', async () => {
    const fixture = await consumerFixture();
    const seen: { orderId: string; currency: string }[] = [];
    const typed = exactlyOnce(
      (message) => {
        expectTypeOf(message.payload).toEqualTypeOf<z.output<typeof Order>>();
        seen.push({ orderId: message.payload.orderId, currency: message.payload.currency });
      },
      { ...fixture.consumer().options, schema: Order },
    );
    await fixture.send([
      { body: wire(uniqueName('m'), { orderId: 'o-1', amountCents: 100 }) },
      { body: wire(uniqueName('m'), { orderId: 'o-2', amountCents: -5 }) },
    ]);

    const result = await fixture.poll(typed);

    expect(result.response?.outcomes.map((o) => o.kind).sort()).toEqual(['Parked', 'Processed']);
    expect(seen).toEqual([{ orderId: 'o-1', currency: 'EUR' }]);
    const [parked] = await fixture.parked();
    expect(parked?.errorType).toBe('PayloadValidationError');
    expect(parked?.reason).toMatch(
      /^PayloadValidationError: payload of m-[\w-]+ does not match the schema: amountCents: .*>0/,
    );
  });

  it('accepts any Standard Schema: valibot, and a schema whose validate is asynchronous', async () => {
    const fixture = await consumerFixture();
    const seen: unknown[] = [];
    const handler: MessageHandler = (message) => {
      seen.push(message.payload);
    };
    const upper: StandardSchemaV1<unknown, string> = {
      '~standard': {
        version: 1,
        vendor: 'test',
        validate: async (value) =>
          typeof value === 'string'
            ? { value: value.toUpperCase() }
            : { issues: [{ message: 'expected a string', path: [{ key: 'note' }] }] },
      },
    };
    await fixture.send([{ body: wire(uniqueName('m'), 'hello') }, { body: wire(uniqueName('m'), 7) }]);
    await fixture.poll(fixture.consumer({ handler, schema: upper }));
    expect(seen).toEqual(['HELLO']);
    expect((await fixture.parked())[0]?.reason).toMatch(
      /does not match the schema: note: expected a string$/,
    );

    await fixture.send([{ body: wire(uniqueName('m'), { n: 'x' }) }]);
    await fixture.poll(fixture.consumer({ handler, schema: v.object({ n: v.number() }) }));
    expect((await fixture.parked()).map((p) => p.reason)).toContainEqual(
      expect.stringMatching(/does not match the schema: n: Invalid type/),
    );
  });
});

describe('payload mismatch', () => {
  it.each(['lease', 'optimistic'] as const)(
    'parks the same messageId with another payload as PayloadMismatch, with both fingerprints (%s mode)',
    async (mode) => {
      const fixture = await consumerFixture();
      const { sink, counts } = recordingMetrics();
      // One warm container: the second payload must not be answered from its cache of DONE ids.
      const consumer = fixture.consumer({ handler: () => undefined, mode, metrics: sink });
      const messageId = uniqueName('m');
      await fixture.send([{ body: wire(messageId, { amountCents: 100 }) }]);
      await fixture.poll(consumer);

      await fixture.send([{ body: wire(messageId, { amountCents: 999 }) }]);
      const again = await fixture.poll(consumer);

      const stored = payloadFingerprint({ amountCents: 100 });
      const received = payloadFingerprint({ amountCents: 999 });
      expect(again.response?.outcomes).toMatchObject([
        { kind: 'Parked', payloadMismatch: { storedFingerprint: stored, receivedFingerprint: received } },
      ]);
      expect(await fixture.parked()).toMatchObject([
        {
          errorType: 'PayloadMismatchError',
          reason: `messageId ${messageId} was first claimed with payload sha256:${stored}; this delivery has sha256:${received}`,
        },
      ]);
      expect(await claimRecord(fixture, messageId)).toMatchObject({
        status: 'DONE',
        payloadFingerprint: stored,
      });
      expect(counts.PayloadMismatch).toBe(1);
    },
  );

  it('reads a payload with its keys in another order as a duplicate', async () => {
    const fixture = await consumerFixture();
    const messageId = uniqueName('m');
    await fixture.send([{ body: wire(messageId, { a: 1, b: { c: 2, d: [1, { e: 3, f: 4 }] } }) }]);
    await fixture.poll(fixture.consumer({ handler: () => undefined }));
    await fixture.send([{ body: wire(messageId, { b: { d: [1, { f: 4, e: 3 }], c: 2 }, a: 1 }) }]);

    const again = await fixture.poll(fixture.consumer({ handler: () => undefined }));

    expect(again.response?.outcomes.map((o) => o.kind)).toEqual(['Duplicate']);
  });

  it("only counts and logs a mismatch with payloadMismatch: 'count'", async () => {
    const fixture = await consumerFixture();
    const { sink, counts } = recordingMetrics();
    const messageId = uniqueName('m');
    await fixture.send([{ body: wire(messageId, 1) }]);
    await fixture.poll(fixture.consumer({ handler: () => undefined }));
    await fixture.send([{ body: wire(messageId, 2) }]);

    const again = await fixture.poll(
      fixture.consumer({ handler: () => undefined, payloadMismatch: 'count', metrics: sink }),
    );

    expect(again.response?.outcomes).toMatchObject([
      { kind: 'Duplicate', payloadMismatch: { receivedFingerprint: payloadFingerprint(2) } },
    ]);
    expect(await fixture.parked()).toEqual([]);
    expect(counts.PayloadMismatch).toBe(1);
  });

  it('parks a copy with another payload in the same batch, and applies the first', async () => {
    const fixture = await consumerFixture();
    const calls = vi.fn();
    const messageId = uniqueName('m');
    await fixture.send([{ body: wire(messageId, 'first') }, { body: wire(messageId, 'second') }]);

    const result = await fixture.poll(fixture.consumer({ handler: calls }));

    expect(result.response?.outcomes.map((o) => o.kind).sort()).toEqual(['Parked', 'Processed']);
    expect(calls).toHaveBeenCalledTimes(1);
    expect((await fixture.parked())[0]?.errorType).toBe('PayloadMismatchError');
  });

  it('parks another payload while the first is in flight elsewhere, leaving that lease alone', async () => {
    const fixture = await consumerFixture();
    const messageId = uniqueName('m');
    const store = new ClaimStore({ tableName: fixture.claimsTable, dynamoDb: fixture.dynamoDb });
    await store.claim(messageId, { payloadFingerprint: payloadFingerprint('first') });
    await fixture.send([{ body: wire(messageId, 'second') }]);

    const result = await fixture.poll(fixture.consumer({ handler: () => undefined }));

    expect(result.response?.outcomes).toMatchObject([{ kind: 'Parked' }]);
    expect(await claimRecord(fixture, messageId)).toMatchObject({
      status: 'PROCESSING',
      payloadFingerprint: payloadFingerprint('first'),
    });
  });

  it('reads a record written before fingerprints (none stored) as a plain duplicate', async () => {
    const fixture = await consumerFixture();
    const messageId = uniqueName('m');
    const store = new ClaimStore({ tableName: fixture.claimsTable, dynamoDb: fixture.dynamoDb });
    const claimed = await store.claim(messageId);
    if (claimed.kind !== 'Claimed') throw new Error('not claimed');
    await store.commit(claimed.claim);
    await fixture.send([{ body: wire(messageId, 'anything') }]);

    const result = await fixture.poll(fixture.consumer({ handler: () => undefined }));

    expect(result.response?.outcomes.map((o) => o.kind)).toEqual(['Duplicate']);
  });
});

describe('stored results', () => {
  it.each(['lease', 'optimistic'] as const)(
    'keeps the handler result on the DONE record and hands it to every duplicate (%s mode)',
    async (mode) => {
      const fixture = await consumerFixture();
      const handler: MessageHandler = (message) => ({ receiptId: `r-${JSON.stringify(message.payload)}` });
      const consumer = fixture.consumer({ handler, mode, storeResult: true });
      const messageId = uniqueName('m');
      await fixture.send([{ body: wire(messageId, 5) }]);
      const first = await fixture.poll(consumer);
      await fixture.send([{ body: wire(messageId, 5) }]);
      const again = await fixture.poll(consumer);

      expect(first.response?.outcomes).toMatchObject([{ kind: 'Processed', result: { receiptId: 'r-5' } }]);
      expect(again.response?.outcomes).toMatchObject([{ kind: 'Duplicate', result: { receiptId: 'r-5' } }]);
      expect(await claimRecord(fixture, messageId)).toMatchObject({ result: '{"receiptId":"r-5"}' });
    },
  );

  it.each([
    [
      'too large',
      () => 'x'.repeat(MAX_STORED_RESULT_BYTES),
      /its JSON is 32770 bytes; at most 32768 are stored/,
    ],
    ['not JSON', () => 10n, /it is not JSON \(Do not know how to serialize a BigInt\)/],
  ])('parks a result that is %s, committing nothing', async (_name, result, reason) => {
    const fixture = await consumerFixture();
    const messageId = uniqueName('m');
    await fixture.send([{ body: wire(messageId, 1) }]);
    const handler: MessageHandler = (_message, ctx) => {
      ctx.tx.put({ TableName: fixture.tables.entriesTableName, Item: { messageId } });
      return result();
    };

    const outcome = await fixture.poll(fixture.consumer({ handler, storeResult: true }));

    expect(outcome.response?.outcomes).toMatchObject([{ kind: 'Parked' }]);
    expect((await fixture.parked())[0]).toMatchObject({ errorType: 'StoredResultError' });
    expect(outcome.response?.outcomes[0]?.reason).toMatch(reason);
    expect(await claimRecord(fixture, messageId)).toMatchObject({ status: 'FAILED' });
    const entry = await fixture.dynamoDb.send(
      new GetCommand({ TableName: fixture.tables.entriesTableName, Key: { messageId } }),
    );
    expect(entry.Item).toBeUndefined();
  });
});
