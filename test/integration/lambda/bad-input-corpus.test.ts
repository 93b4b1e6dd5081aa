import { paginateScan } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import type { ProcessingMode } from '../../../lambda/index.js';
import type { RecordOutcome } from '../../../lambda/sqs/handler-contract.js';
import { badInputCorpus, type CorpusEntry } from '../../support/bad-input-corpus.js';
import { consumerFixture } from '../../support/consumer-fixture.js';
import { uniqueName } from '../../support/local-aws.js';

// At least 1,000 bad SQS bodies, generated from a seed, mixed with valid messages on the edges of the wire format's
// rules (README, "Wire format"), through the ledger consumer on DynamoDB Local and the SQS emulator.

describe('a corpus of bad input', () => {
  it.each<ProcessingMode>(['lease', 'optimistic'])(
    '%s mode: parks every bad body with its reason, applies every valid message once, and never fails a batch',
    async (mode) => {
      const prototypeKeys = Object.getOwnPropertyNames(Object.prototype);
      const fixture = await consumerFixture();
      const corpus = badInputCorpus(uniqueName('corpus'));
      const bad = corpus.filter((entry) => entry.kind === 'bad');
      const valid = corpus.flatMap((entry) => (entry.kind === 'valid' ? [entry] : []));
      expect(bad.length).toBeGreaterThanOrEqual(1000);
      await fixture.send(corpus.map((entry) => ({ body: entry.body })));

      const consumer = fixture.consumer({ mode });
      const outcomes: RecordOutcome[] = [];
      const invocationErrors: unknown[] = [];
      for (let round = 0; round < 500; round++) {
        const poll = await fixture.poll(consumer);
        if (poll.received === 0) break;
        if (poll.handlerError !== undefined) invocationErrors.push(poll.handlerError);
        outcomes.push(...(poll.response?.outcomes ?? []));
        await fixture.expire(poll.event);
      }

      expect(invocationErrors).toEqual([]);
      expect(outcomes.filter((o) => !['Processed', 'Parked'].includes(o.kind))).toEqual([]);
      const parked = await fixture.parked();
      expect(parked.map((p) => p.body).sort()).toEqual(bad.map((entry) => entry.body).sort());
      const expectedType = new Map(bad.map((entry) => [entry.body, entry.errorType]));
      expect(parked.filter((p) => p.reason === '' || p.errorType !== expectedType.get(p.body))).toEqual([]);

      const applied = valid.map((entry) => entry.payment);
      expect(await fixture.audit(applied)).toMatchObject({ ok: true, applied: valid.length });
      // Each valid message's timestamp reached the handler as sent: the ledger stores it with the entry.
      expect(await storedTimestamps(fixture.dynamoDb, fixture.tables.entriesTableName)).toEqual(
        new Map(valid.map((entry) => [entry.payment.messageId, entry.timestamp])),
      );
      expect(Object.getOwnPropertyNames(Object.prototype)).toEqual(prototypeKeys);
      expect(Object.prototype).not.toHaveProperty('polluted');
    },
    240_000,
  );

  it('is the same corpus for the same seed, with bad and valid entries of every category', () => {
    const first = badInputCorpus('run', { seed: 7 });
    const second = badInputCorpus('run', { seed: 7 });

    expect(second).toEqual(first);
    const categories = (kind: CorpusEntry['kind']) =>
      new Set(first.filter((entry) => entry.kind === kind).map((entry) => entry.category)).size;
    expect([categories('bad'), categories('valid')]).toEqual([22, 9]);
  });
});

async function storedTimestamps(
  dynamoDb: Parameters<typeof paginateScan>[0]['client'],
  tableName: string,
): Promise<Map<string, unknown>> {
  const stored = new Map<string, unknown>();
  for await (const page of paginateScan(
    { client: dynamoDb },
    { TableName: tableName, ConsistentRead: true },
  )) {
    for (const item of page.Items ?? []) stored.set(String(item.messageId), item.timestamp);
  }
  return stored;
}
