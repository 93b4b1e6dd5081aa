import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { createOutboxTable, createTable, LOCAL_AWS_CONFIG } from 'onceflow/testing';
import { describe, expect, inject, it } from 'vitest';
import { ledgerHandler } from '../../../lambda/app/ledger.js';
import { ClaimStatus } from '../../../lambda/core/claim-record.js';
import { ClaimStore } from '../../../lambda/core/claim-store.js';
import { ClaimStoreUnavailableError } from '../../../lambda/core/errors.js';
import {
  type ExactlyOnceHandler,
  type MessageHandler,
  type MetricsSink,
  PermanentError,
  type ProcessingMode,
} from '../../../lambda/index.js';
import { OutboxRelay } from '../../../lambda/outbox/outbox-relay.js';
import type { RecordOutcome } from '../../../lambda/sqs/handler-contract.js';
import { StreamPoller } from '../../../local/stack/stream-poller.js';
import {
  type ConsumerFixture,
  consumerFixture,
  payments,
  silentLogger,
} from '../../support/consumer-fixture.js';
import { dropResponses, type SentRequest, updateExpressionOf } from '../../support/drop-response.js';
import { localDocumentClient, localSqs, newClaimsTable, uniqueName } from '../../support/local-aws.js';

// docs/design.md section 7: a DynamoDB (or SQS) request is applied, and its answer never arrives. For every call the
// runtime makes, with a real client on DynamoDB Local and the SQS emulator, the answer is dropped on the first
// attempt only (the SDK's own retry sends the request again) or on every attempt (the runtime sees the timeout).
// Either way: effects apply once, nothing is parked that should not be, and no zombie is reported.

const LOSSES = [
  ['the first attempt', 1],
  ['every attempt', Number.POSITIVE_INFINITY],
] as const;

const MODES: readonly ProcessingMode[] = ['lease', 'optimistic'];

/** The claim store's UpdateItem requests, told apart by their update expressions (docs/design.md section 3). */
const CALL = {
  claim: (r: SentRequest) => updateExpressionOf(r)?.startsWith('SET #status = :processing') === true,
  release: (r: SentRequest) => updateExpressionOf(r)?.startsWith('SET #leaseExpiresAtMs = :zero') === true,
  park: (r: SentRequest) => updateExpressionOf(r)?.startsWith('SET #status = :failed') === true,
  commit: (r: SentRequest) => r.commandName === 'TransactWriteItemsCommand',
  relaySend: (r: SentRequest) => r.commandName === 'SendMessageBatchCommand',
  relayDelete: (r: SentRequest) => r.commandName === 'BatchWriteItemCommand',
};

/** Sums every metric the consumers emit, by name. */
function metricTotals() {
  const totals = new Map<string, number>();
  const sink: MetricsSink = {
    addMetric: (name, unit, value) => {
      if (unit === 'Count') totals.set(name, (totals.get(name) ?? 0) + value);
    },
    publishStoredMetrics: () => undefined,
  };
  return { sink, total: (name: string) => totals.get(name) ?? 0 };
}

/**
 * One poll with the answers being lost, then polls without loss until the queue is empty, each unacknowledged
 * record made visible again at once. Returns every outcome, in order.
 */
async function deliverUntilSettled(
  fixture: ConsumerFixture,
  consumer: ExactlyOnceHandler,
  lost: { stop(): void },
): Promise<RecordOutcome[]> {
  const outcomes: RecordOutcome[] = [];
  for (let round = 0; round < 4; round++) {
    const poll = await fixture.poll(consumer);
    lost.stop();
    if (poll.received === 0) return outcomes;
    outcomes.push(...(poll.response?.outcomes ?? []));
    await fixture.expire(poll.event);
  }
  throw new Error(`not settled after 4 deliveries: ${outcomes.map((o) => o.kind).join(', ')}`);
}

/** A copy of each message, sent after everything settled, to a new container: DynamoDB itself must say DONE. */
async function copiesAreDuplicates(fixture: ConsumerFixture, sent: Parameters<ConsumerFixture['send']>[0]) {
  await fixture.send(sent);
  const poll = await fixture.poll(fixture.consumer());
  return poll.response?.outcomes.map((o) => o.kind);
}

async function claimStatus(fixture: ConsumerFixture, messageId: string) {
  const { Item } = await fixture.dynamoDb.send(
    new GetCommand({ TableName: fixture.claimsTable, Key: { messageId }, ConsistentRead: true }),
  );
  return Item?.status;
}

describe('a lost claim response', () => {
  it.each(LOSSES)(
    'on %s: the message is applied once, with no zombie and no takeover',
    async (_, attempts) => {
      const dynamoDb = localDocumentClient();
      const fixture = await consumerFixture({ dynamoDb });
      const metrics = metricTotals();
      const sent = payments(1);
      await fixture.send(sent);
      const lost = dropResponses(dynamoDb, { when: CALL.claim, attempts });

      const outcomes = await deliverUntilSettled(fixture, fixture.consumer({ metrics: metrics.sink }), lost);

      expect(lost.count).toBeGreaterThan(0);
      // First attempt: the SDK's retry finds this claim's own lease and the handler runs at once. Every attempt:
      // the runtime sees the timeout, ends the lease it may have taken, and the redelivery claims without waiting.
      expect(outcomes.map((o) => o.kind)).toEqual(attempts === 1 ? ['Processed'] : ['Retried', 'Processed']);
      expect((await fixture.audit(sent)).ok).toBe(true);
      expect(await copiesAreDuplicates(fixture, sent)).toEqual(['Duplicate']);
      expect([metrics.total('ZombieRejected'), metrics.total('Takeover'), metrics.total('Parked')]).toEqual([
        0, 0, 0,
      ]);
    },
  );
});

describe('a lost commit response', () => {
  const cases = MODES.flatMap((mode) =>
    [
      ['grouped', 2],
      ['single', 1],
    ].flatMap(([shape, size]) =>
      LOSSES.map(([loss, attempts]) => ({ mode, shape, size: Number(size), loss, attempts })),
    ),
  );

  it.each(cases)(
    '$mode mode, $shape commit, on $loss: applied once; Retried at worst, then acknowledged without a second application',
    async ({ mode, size, attempts }) => {
      const dynamoDb = localDocumentClient();
      const fixture = await consumerFixture({ dynamoDb });
      const metrics = metricTotals();
      const sent = payments(size); // different accounts: one transaction for the batch
      await fixture.send(sent);
      const lost = dropResponses(dynamoDb, { when: CALL.commit, attempts });

      const outcomes = await deliverUntilSettled(
        fixture,
        fixture.consumer({ mode, metrics: metrics.sink }),
        lost,
      );

      expect(lost.count).toBeGreaterThan(0);
      const each = (kind: RecordOutcome['kind']) => sent.map(() => kind);
      // First attempt: the SDK re-sends the transaction with the same ClientRequestToken; DynamoDB answers it as
      // the one it applied. Every attempt: Retried, and the redelivery finds DONE (lease: at the claim; optimistic:
      // the handler runs again and its commit is refused on the DONE record).
      expect(outcomes.map((o) => o.kind)).toEqual(
        attempts === 1 ? each('Processed') : [...each('Retried'), ...each('Duplicate')],
      );
      expect((await fixture.audit(sent)).ok).toBe(true);
      expect(await copiesAreDuplicates(fixture, sent)).toEqual(each('Duplicate'));
      expect([metrics.total('ZombieRejected'), metrics.total('Parked')]).toEqual([0, 0]);
    },
  );

  it.each([
    ['lease', { kind: 'Committed' }],
    ['optimistic', { kind: 'Duplicate' }],
  ] as const)(
    '%s mode: a commit sent again without its token after the lost answer is no zombie, and applies nothing more',
    async (mode, expected) => {
      const dynamoDb = localDocumentClient();
      const claimsTable = await newClaimsTable(dynamoDb);
      const counters = uniqueName('counters');
      await createTable(dynamoDb, counters, { partitionKey: { name: 'id', type: 'S' } });
      const store = new ClaimStore({ tableName: claimsTable, dynamoDb, leaseMs: 10_000 });
      const messageId = uniqueName('m');
      const count = {
        Update: {
          TableName: counters,
          Key: { id: messageId },
          UpdateExpression: 'ADD applied :one',
          ExpressionAttributeValues: { ':one': 1 },
        },
      };
      const claimed = mode === 'lease' ? await store.claim(messageId) : undefined;
      const claim = claimed?.kind === 'Claimed' ? claimed.claim : undefined;
      const commit = () =>
        claim === undefined
          ? store.commitOptimistic(messageId, [count])
          : store.commit(claim, [count]).then(() => ({ kind: 'Committed' }));
      const lost = dropResponses(dynamoDb, { when: CALL.commit, attempts: Number.POSITIVE_INFINITY });
      await expect(commit()).rejects.toBeInstanceOf(ClaimStoreUnavailableError);
      lost.stop();

      // A new TransactWriteItems, so a new ClientRequestToken: DynamoDB cancels it on the DONE record.
      await expect(commit()).resolves.toMatchObject(expected);

      const { Item } = await dynamoDb.send(
        new GetCommand({ TableName: counters, Key: { id: messageId }, ConsistentRead: true }),
      );
      expect(Item?.applied).toBe(1);
    },
  );
});

describe('a lost release response', () => {
  it.each(LOSSES)('on %s: Retried, then claimed at once and applied once', async (_, attempts) => {
    const dynamoDb = localDocumentClient();
    const fixture = await consumerFixture({ dynamoDb });
    const metrics = metricTotals();
    const ledger = ledgerHandler(fixture.tables);
    let runs = 0;
    const failingOnce: MessageHandler = async (message, ctx) => {
      runs += 1;
      if (runs === 1) throw new Error('downstream timed out');
      await ledger(message, ctx);
    };
    const sent = payments(1);
    await fixture.send(sent);
    const lost = dropResponses(dynamoDb, { when: CALL.release, attempts });

    const outcomes = await deliverUntilSettled(
      fixture,
      fixture.consumer({ handler: failingOnce, metrics: metrics.sink }),
      lost,
    );

    expect(lost.count).toBeGreaterThan(0);
    // The release landed, so the retry claims at once: an ordinary retry, not a takeover.
    expect(outcomes.map((o) => [o.kind, o.takeover])).toEqual([
      ['Retried', false],
      ['Processed', false],
    ]);
    expect((await fixture.audit(sent)).ok).toBe(true);
    expect([metrics.total('ZombieRejected'), metrics.total('Takeover'), metrics.total('Parked')]).toEqual([
      0, 0, 0,
    ]);
  });
});

describe('a lost park response (the FAILED write)', () => {
  const cases = MODES.flatMap((mode) => LOSSES.map(([loss, attempts]) => ({ mode, loss, attempts })));

  it.each(cases)(
    '$mode mode, on $loss: the permanent failure is parked once, with its reason, and nothing applies',
    async ({ mode, attempts }) => {
      const dynamoDb = localDocumentClient();
      const fixture = await consumerFixture({ dynamoDb });
      const metrics = metricTotals();
      const refusing: MessageHandler = () => {
        throw new PermanentError('account closed');
      };
      const [payment] = payments(1);
      if (payment === undefined) throw new Error('no payment');
      await fixture.send([payment]);
      const lost = dropResponses(dynamoDb, { when: CALL.park, attempts });

      const outcomes = await deliverUntilSettled(
        fixture,
        fixture.consumer({ mode, handler: refusing, metrics: metrics.sink }),
        lost,
      );

      expect(lost.count).toBeGreaterThan(0);
      // Parked is right here: the handler said the message can never succeed. The lost answer changes nothing.
      expect(outcomes.map((o) => o.kind)).toEqual(['Parked']);
      expect((await fixture.parked()).map((p) => [p.messageId, p.reason])).toEqual([
        [payment.messageId, 'PermanentError: account closed'],
      ]);
      expect(await claimStatus(fixture, payment.messageId)).toBe(ClaimStatus.FAILED);
      expect((await fixture.audit([payment], new Set([payment.messageId]))).applied).toBe(0);
      expect(metrics.total('ZombieRejected')).toBe(0);
    },
  );
});

describe('a lost relay response', () => {
  const cases = (['relaySend', 'relayDelete'] as const).flatMap((call) =>
    MODES.flatMap((mode) => LOSSES.map(([loss, attempts]) => ({ call, mode, loss, attempts }))),
  );

  it.each(cases)(
    '$call on $loss: the item is sent again at worst, and the $mode downstream applies it once',
    async ({ call, mode, attempts }) => {
      const source = await consumerFixture();
      const downstream = await consumerFixture();
      const outboxTable = uniqueName('outbox');
      await createOutboxTable(source.dynamoDb, outboxTable);
      const emitting: MessageHandler = (_message, ctx) => {
        ctx.outbox.send(downstream.queues.queueUrl, { accountId: 'acct-relayed', amountCents: 250 });
      };
      const sourceMessageId = uniqueName('src');
      await source.send([{ messageId: sourceMessageId, accountId: 'a', amountCents: 1 }]);
      await source.poll(source.consumer({ handler: emitting, outboxTableName: outboxTable }));

      // The relay's own clients, so the lost answers touch nothing else.
      const relayDynamoDb = localDocumentClient();
      const relaySqs = localSqs();
      const lost =
        call === 'relaySend'
          ? dropResponses(relaySqs, { when: CALL.relaySend, attempts })
          : dropResponses(relayDynamoDb, { when: CALL.relayDelete, attempts });
      const relay = new OutboxRelay({
        sqs: relaySqs,
        dynamoDb: relayDynamoDb,
        tableName: outboxTable,
        deadLetterQueueUrl: undefined,
        logger: silentLogger(),
      });
      const endpoint = inject('dynamoDbEndpoint');
      const stream = new StreamPoller({
        streams: new DynamoDBStreamsClient({ ...LOCAL_AWS_CONFIG, endpoint }),
        dynamoDb: new DynamoDBClient({ ...LOCAL_AWS_CONFIG, endpoint }),
        tableName: outboxTable,
        handler: (event) => relay.process(event),
      });
      await stream.pollOnce();
      lost.stop();
      for (let idle = 0; idle < 2; ) idle = (await stream.pollOnce()) === 0 ? idle + 1 : 0;

      expect(lost.count).toBeGreaterThan(0);
      const { Items: left = [] } = await source.dynamoDb.send(
        new ScanCommand({ TableName: outboxTable, ConsistentRead: true }),
      );
      expect(left).toEqual([]); // delivered, and marked so
      const outcomes = await deliverUntilSettled(downstream, downstream.consumer({ mode }), {
        stop: () => undefined,
      });
      const kinds = outcomes.map((o) => o.kind);
      expect(kinds.filter((kind) => kind === 'Processed')).toHaveLength(1);
      expect(kinds.every((kind) => kind === 'Processed' || kind === 'Duplicate')).toBe(true);
      const relayed = { messageId: `${sourceMessageId}#0`, accountId: 'acct-relayed', amountCents: 250 };
      expect((await downstream.audit([relayed])).ok).toBe(true);
    },
  );
});
