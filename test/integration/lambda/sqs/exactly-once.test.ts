import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import { ledgerHandler, type SentPayment } from '../../../../lambda/app/ledger.js';
import { ClaimStore } from '../../../../lambda/core/claim-store.js';
import { type MessageHandler, toWireBody } from '../../../../lambda/index.js';
import { PARK_ATTRIBUTE } from '../../../../lambda/sqs/dead-letter-queue.js';
import { type ConsumerFixture, consumerFixture, payments } from '../../../support/consumer-fixture.js';
import { localDocumentClient, uniqueName } from '../../../support/local-aws.js';
import { RequestCounter } from '../../../support/request-counter.js';

function countingLedger(tables: Parameters<typeof ledgerHandler>[0]) {
  const ledger = ledgerHandler(tables);
  const calls: string[] = [];
  const handler: MessageHandler = (message, ctx) => {
    calls.push(message.messageId);
    return ledger(message, ctx);
  };
  return { handler, calls };
}

/** A hand-built record, for shapes the emulator cannot deliver in one batch (several of one FIFO group). */
function record(body: string, extra: Partial<SQSRecord['attributes']> = {}): SQSRecord {
  return {
    messageId: uniqueName('sqs'),
    receiptHandle: uniqueName('receipt'),
    body,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: '0',
      SenderId: 'test',
      ApproximateFirstReceiveTimestamp: '0',
      ...extra,
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:test',
    awsRegion: 'us-east-1',
  };
}

/**
 * n new payments applied by another container (its own client, so a counter on the fixture's sees none of it),
 * ready to be sent again: duplicates no DONE cache of a fresh consumer knows.
 */
async function committedElsewhere(fixture: ConsumerFixture, n: number): Promise<SentPayment[]> {
  const sent = payments(n, n);
  await fixture.send(sent);
  const result = await fixture.poll(fixture.consumer({ dynamoDb: localDocumentClient() }));
  expect(result.response?.outcomes.map((o) => o.kind)).toEqual(Array(n).fill('Processed'));
  return sent;
}

describe('exactlyOnce on DynamoDB Local and the SQS emulator', () => {
  it('acknowledges a duplicate of a DONE message without calling the handler', async () => {
    const fixture = await consumerFixture();
    const { handler, calls } = countingLedger(fixture.tables);
    const sent = payments(2);
    await fixture.send(sent);
    await fixture.poll(fixture.consumer({ handler }));

    await fixture.send(sent);
    const again = await fixture.poll(fixture.consumer({ handler }));

    expect(again.response).toMatchObject({ batchItemFailures: [] });
    expect(again.response?.outcomes.map((o) => o.kind)).toEqual(['Duplicate', 'Duplicate']);
    expect(calls).toHaveLength(2);
    expect((await fixture.audit(sent)).ok).toBe(true);
  });

  it('returns a message in flight elsewhere to the queue just after that lease ends', async () => {
    const fixture = await consumerFixture();
    const [payment] = payments(1);
    if (payment === undefined) throw new Error('no payment');
    await fixture.send([payment]);
    const leaseMs = 1_500;
    await new ClaimStore({ tableName: fixture.claimsTable, dynamoDb: fixture.dynamoDb, leaseMs }).claim(
      payment.messageId,
    );

    const deferred = await fixture.poll(fixture.consumer({ leaseMs }));
    expect(deferred.response?.batchItemFailures).toEqual([
      { itemIdentifier: deferred.event.Records[0]?.messageId },
    ]);
    const hidden = await fixture.sqs.send(new ReceiveMessageCommand({ QueueUrl: fixture.queues.queueUrl }));
    expect(hidden.Messages ?? []).toHaveLength(0);

    // The queue's own visibility timeout is 30 s; the deferral makes it about 3 s (lease left, rounded up, + 1 s).
    const back = await fixture.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: fixture.queues.queueUrl, WaitTimeSeconds: 6 }),
    );
    expect(back.Messages ?? []).toHaveLength(1);
  }, 20_000);

  it('releases the lease at once on a retryable error and returns the record to the queue', async () => {
    const fixture = await consumerFixture();
    const [payment] = payments(1);
    if (payment === undefined) throw new Error('no payment');
    await fixture.send([payment]);
    const flaky: MessageHandler = () => {
      throw new Error('downstream timed out');
    };

    const result = await fixture.poll(fixture.consumer({ handler: flaky }));

    expect(result.response?.outcomes).toMatchObject([
      { kind: 'Retried', reason: 'Error: downstream timed out' },
    ]);
    expect(result).toMatchObject({ deleted: 0, returned: 1 });
    const claim = await fixture.dynamoDb.send(
      new GetCommand({ TableName: fixture.claimsTable, Key: { messageId: payment.messageId } }),
    );
    expect(claim.Item).toMatchObject({
      status: 'PROCESSING',
      leaseExpiresAtMs: 0,
      lastError: expect.any(String),
    });
  });

  it('parks a PermanentError with the original body, its attributes and the reason', async () => {
    const fixture = await consumerFixture();
    const body = toWireBody({
      messageId: uniqueName('m'),
      timestamp: '2026-11-22T00:00:00Z',
      payload: 'nope',
    });
    await fixture.sqs.send(
      new SendMessageCommand({
        QueueUrl: fixture.queues.queueUrl,
        MessageBody: body,
        MessageAttributes: { tenant: { DataType: 'String', StringValue: 'acme' } },
      }),
    );

    const result = await fixture.poll(fixture.consumer());

    expect(result).toMatchObject({ deleted: 1, returned: 0 });
    const { Messages = [] } = await fixture.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: fixture.queues.deadLetterQueueUrl,
        MessageAttributeNames: ['All'],
      }),
    );
    expect(Messages).toHaveLength(1);
    expect(Messages[0]?.Body).toBe(body);
    expect(Messages[0]?.MessageAttributes).toMatchObject({
      tenant: { StringValue: 'acme' },
      [PARK_ATTRIBUTE.reason]: {
        StringValue: 'PermanentError: payload must be an object { accountId, amountCents }.',
      },
      [PARK_ATTRIBUTE.errorType]: { StringValue: 'PermanentError' },
    });
  });

  it('keeps a message it could not send to the DLQ on the source queue', async () => {
    const fixture = await consumerFixture();
    await fixture.send([{ body: 'garbage' }]);

    const result = await fixture.poll(
      fixture.consumer({ deadLetterQueueUrl: `${fixture.queues.deadLetterQueueUrl}-does-not-exist` }),
    );

    expect(result.response?.outcomes).toMatchObject([
      { kind: 'Retried', reason: expect.stringMatching(/^DLQ send failed/) },
    ]);
    expect(result).toMatchObject({ deleted: 0, returned: 1 });
  });

  it('runs the handler once for a messageId that appears twice in one batch, and acknowledges both', async () => {
    const fixture = await consumerFixture();
    const { handler, calls } = countingLedger(fixture.tables);
    const [payment] = payments(1);
    if (payment === undefined) throw new Error('no payment');
    await fixture.send([payment, payment]);

    const result = await fixture.poll(fixture.consumer({ handler }));

    expect(result).toMatchObject({ received: 2, deleted: 2 });
    expect(calls).toEqual([payment.messageId]);
    expect((await fixture.audit([payment])).ok).toBe(true);
  });

  it('commits a batch of new messages in one transaction after one claim each, with no read (lease mode)', async () => {
    const dynamoDb = localDocumentClient();
    const fixture = await consumerFixture({ dynamoDb });
    const sent = payments(10, 10); // ten accounts: no item twice, so one transaction holds them all
    await fixture.send(sent);
    const counter = RequestCounter.attachTo(dynamoDb);

    const result = await fixture.poll(fixture.consumer());

    expect(result).toMatchObject({ received: 10, deleted: 10 });
    // DescribeTable: a new container checks its claims table once, before its first batch. No BatchGetItem: a
    // fresh container (readBeforeClaim 'auto') has seen no duplicates yet.
    expect(counter.byOperation()).toEqual({
      DescribeTableCommand: 1,
      UpdateItemCommand: 10,
      TransactWriteItemsCommand: 1,
    });
    expect((await fixture.audit(sent)).ok).toBe(true);
  });

  it.each([
    ['auto', { DescribeTableCommand: 1, BatchGetItemCommand: 1, TransactWriteItemsCommand: 1 }],
    ['always', { DescribeTableCommand: 1, BatchGetItemCommand: 1, TransactWriteItemsCommand: 1 }],
  ] as const)(
    'commits a batch of new messages with one read and one transaction in optimistic mode (%s)',
    async (readBeforeClaim, requests) => {
      const dynamoDb = localDocumentClient();
      const fixture = await consumerFixture({ dynamoDb });
      const sent = payments(10, 10);
      await fixture.send(sent);
      const counter = RequestCounter.attachTo(dynamoDb);

      // 'auto' on a fresh container: it reads until its first deliveries have shown no duplicate.
      await fixture.poll(fixture.consumer({ mode: 'optimistic', readBeforeClaim }));

      expect(counter.byOperation()).toEqual(requests);
      expect((await fixture.audit(sent)).ok).toBe(true);
    },
  );

  it('splits a cancelled group by its reasons: a duplicate that won the race is refused, the innocent members commit', async () => {
    const dynamoDb = localDocumentClient();
    const fixture = await consumerFixture({ dynamoDb });
    const sent = payments(4, 4);
    const [racing] = sent;
    if (racing === undefined) throw new Error('no payment');
    await fixture.send(sent);
    // Another consumer commits the first message after this batch's read and before its commit: only the
    // transaction's condition can catch it.
    const rival = new ClaimStore({ tableName: fixture.claimsTable, dynamoDb });
    const ledger = ledgerHandler(fixture.tables);
    const handler: MessageHandler = async (message, ctx) => {
      if (message.messageId === racing.messageId) await rival.commitOptimistic(racing.messageId);
      return ledger(message, ctx);
    };
    const counter = RequestCounter.attachTo(dynamoDb);

    const result = await fixture.poll(
      fixture.consumer({ mode: 'optimistic', readBeforeClaim: 'always', handler }),
    );

    expect(result.response?.outcomes.map((o) => o.kind)).toEqual([
      'Duplicate',
      'Processed',
      'Processed',
      'Processed',
    ]);
    expect(counter.byOperation()).toEqual({
      DescribeTableCommand: 1,
      BatchGetItemCommand: 1,
      TransactWriteItemsCommand: 3, // the rival's commit, the cancelled group, its innocent members again
    });
    const [, ...innocent] = sent;
    expect((await fixture.audit(innocent)).ok).toBe(true);
  });

  it.each([
    // One transaction, and it commits: a cancelled one would be charged for all of its items and sent again.
    ['optimistic', { DescribeTableCommand: 1, BatchGetItemCommand: 1, TransactWriteItemsCommand: 1 }],
    // Three claims, for the new messages only: the duplicate's would have been refused at 1 WRU.
    [
      'lease',
      { DescribeTableCommand: 1, BatchGetItemCommand: 1, UpdateItemCommand: 3, TransactWriteItemsCommand: 1 },
    ],
  ] as const)(
    "reads the batch first with readBeforeClaim 'always' (%s mode): a known duplicate makes no claim, runs no handler and stays out of the transaction",
    async (mode, requests) => {
      const dynamoDb = localDocumentClient();
      const fixture = await consumerFixture({ dynamoDb });
      const { handler, calls } = countingLedger(fixture.tables);
      const sent = payments(4, 4);
      const [already] = sent;
      if (already === undefined) throw new Error('no payment');
      await fixture.send([already]);
      await fixture.poll(fixture.consumer({ mode, handler }));
      await fixture.send(sent);
      const counter = RequestCounter.attachTo(dynamoDb);

      const result = await fixture.poll(fixture.consumer({ mode, readBeforeClaim: 'always', handler }));

      expect(result.response?.outcomes.map((o) => o.kind)).toEqual([
        'Duplicate',
        'Processed',
        'Processed',
        'Processed',
      ]);
      expect(counter.byOperation()).toEqual(requests);
      expect(calls.filter((id) => id === already.messageId)).toHaveLength(1);
      expect((await fixture.audit(sent)).ok).toBe(true);
    },
  );

  it.each([
    ['auto', [0, 1, 1], [10, 0, 0]],
    ['never', [0, 0, 0], [10, 10, 10]],
  ] as const)(
    "with readBeforeClaim '%s', reads batches of cold duplicates %j times and claims %j of them",
    async (readBeforeClaim, reads, claims) => {
      const dynamoDb = localDocumentClient();
      const fixture = await consumerFixture({ dynamoDb });
      const consumer = fixture.consumer({ readBeforeClaim });
      const counter = RequestCounter.attachTo(dynamoDb);
      const seen: { reads: number; claims: number }[] = [];

      for (let batch = 0; batch < 3; batch++) {
        const sent = await committedElsewhere(fixture, 10);
        counter.reset();
        await fixture.send(sent);
        const result = await fixture.poll(consumer);
        expect(result.response?.outcomes.map((o) => o.kind)).toEqual(Array(10).fill('Duplicate'));
        const { BatchGetItemCommand = 0, UpdateItemCommand = 0 } = counter.byOperation();
        seen.push({ reads: BatchGetItemCommand, claims: UpdateItemCommand });
      }

      expect(seen).toEqual(reads.map((read, index) => ({ reads: read, claims: claims[index] })));
    },
  );

  it('refuses at the claim a duplicate committed between the read and its claim (lease mode)', async () => {
    const dynamoDb = localDocumentClient();
    const fixture = await consumerFixture({ dynamoDb });
    const { handler, calls } = countingLedger(fixture.tables);
    const sent = payments(4, 4);
    const [racing] = sent;
    if (racing === undefined) throw new Error('no payment');
    await fixture.send(sent);
    // Another consumer commits the first message just after this batch's read: only the claim can catch it.
    const rival = new ClaimStore({ tableName: fixture.claimsTable, dynamoDb: localDocumentClient() });
    dynamoDb.middlewareStack.add(
      (next, context) => async (args) => {
        const output = await next(args);
        if (context.commandName === 'BatchGetItemCommand') await rival.commitOptimistic(racing.messageId);
        return output;
      },
      { step: 'initialize', name: 'rivalCommitsAfterRead' },
    );
    const counter = RequestCounter.attachTo(dynamoDb);

    const result = await fixture.poll(fixture.consumer({ readBeforeClaim: 'always', handler }));

    expect(result.response?.outcomes.map((o) => o.kind)).toEqual([
      'Duplicate',
      'Processed',
      'Processed',
      'Processed',
    ]);
    expect(counter.byOperation()).toEqual({
      DescribeTableCommand: 1,
      BatchGetItemCommand: 1,
      UpdateItemCommand: 4, // the racing message's claim is refused: the record is DONE
      TransactWriteItemsCommand: 1,
    });
    expect(calls).not.toContain(racing.messageId);
    const [, ...others] = sent;
    expect((await fixture.audit(others)).ok).toBe(true);
  });

  it('keeps two messages for one account in separate transactions, and applies both', async () => {
    const fixture = await consumerFixture();
    const sent = payments(6, 1); // one account: every member updates the same item
    await fixture.send(sent);

    const result = await fixture.poll(fixture.consumer());

    expect(result).toMatchObject({ received: 6, deleted: 6 });
    expect((await fixture.audit(sent)).ok).toBe(true);
  });

  it('answers a repeated duplicate in a warm container with no DynamoDB request', async () => {
    const dynamoDb = localDocumentClient();
    const fixture = await consumerFixture({ dynamoDb });
    const sent = payments(3);
    const warm = fixture.consumer();
    await fixture.send(sent);
    await fixture.poll(warm);
    await fixture.send(sent);
    const counter = RequestCounter.attachTo(dynamoDb);

    const again = await fixture.poll(warm);

    expect(again.response?.outcomes.map((o) => [o.kind, o.cached])).toEqual([
      ['Duplicate', true],
      ['Duplicate', true],
      ['Duplicate', true],
    ]);
    expect(counter.total).toBe(0);
  });

  it('answers an empty batch with no failures', async () => {
    const fixture = await consumerFixture();
    await expect(fixture.consumer()({ Records: [] })).resolves.toEqual({ batchItemFailures: [] });
  });

  it('returns every record when every record fails, and loses none', async () => {
    const fixture = await consumerFixture();
    const sent = payments(5);
    await fixture.send(sent);
    const broken: MessageHandler = () => Promise.reject(new Error('database password rotated'));

    const result = await fixture.poll(fixture.consumer({ handler: broken }));

    expect(result.response?.batchItemFailures).toHaveLength(5);
    expect(result).toMatchObject({ deleted: 0, returned: 5 });
    await fixture.expire(result.event);
    expect((await fixture.poll(fixture.consumer())).deleted).toBe(5);
    expect((await fixture.audit(sent)).ok).toBe(true);
  });

  it('runs each FIFO group in order, and returns the rest of a group after its first failure', async () => {
    const fixture = await consumerFixture();
    const order: string[] = [];
    const ledger = ledgerHandler(fixture.tables);
    const handler: MessageHandler = (message, ctx) => {
      order.push(message.messageId);
      if (message.messageId === 'g1-2') throw new Error('transient');
      return ledger(message, ctx);
    };
    const body = (messageId: string) =>
      toWireBody({ messageId, timestamp: 1, payload: { accountId: 'a', amountCents: 1 } });
    const event: SQSEvent = {
      Records: [
        record(body('g1-1'), { MessageGroupId: 'g1' }),
        record(body('g2-1'), { MessageGroupId: 'g2' }),
        record(body('g1-2'), { MessageGroupId: 'g1' }),
        record(body('g1-3'), { MessageGroupId: 'g1' }),
      ].map((r) => ({ ...r, eventSourceARN: `${r.eventSourceARN}.fifo` })),
    };

    const report = await fixture.consumer({ handler }).processBatch(event);

    expect(report.outcomes.map((o) => o.kind)).toEqual(['Processed', 'Processed', 'Retried', 'Retried']);
    expect(order.filter((id) => id.startsWith('g1'))).toEqual(['g1-1', 'g1-2']);
    expect(report.outcomes[3]?.reason).toMatch(/earlier message of its group/);
  });

  it('bounds how many records of a batch run at once', async () => {
    const fixture = await consumerFixture();
    let running = 0;
    let peak = 0;
    // Handlers hold until three run at once, so the peak does not depend on how fast the claims come back.
    let openGate: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      openGate = resolve;
    });
    const handler: MessageHandler = async () => {
      running += 1;
      peak = Math.max(peak, running);
      if (running === 3) openGate();
      await gate;
      running -= 1;
    };
    await fixture.send(payments(10));

    await fixture.poll(fixture.consumer({ handler, concurrency: 3 }));

    expect(peak).toBe(3);
  });

  it('emits a metric per outcome and logs with the messageId and fencing token', async () => {
    const fixture = await consumerFixture();
    const metrics = new Metrics({ namespace: 'OnceflowTest' });
    const addMetric = vi.spyOn(metrics, 'addMetric');
    const logger = new Logger({ logLevel: 'SILENT' });
    const info = vi.spyOn(logger, 'info');
    const ledger = ledgerHandler(fixture.tables);
    const handler: MessageHandler = (message, ctx) => {
      ctx.logger.info('crediting');
      return ledger(message, ctx);
    };
    const sent = payments(2);
    await fixture.send([...sent, { body: '{}' }]);

    await fixture.poll(fixture.consumer({ handler, metrics, logger }));

    const counts = Object.fromEntries(
      addMetric.mock.calls.filter(([, unit]) => unit === 'Count').map(([name, , value]) => [name, value]),
    );
    expect(counts).toMatchObject({
      Processed: 2,
      Parked: 1,
      Duplicate: 0,
      Retried: 0,
      ZombieRejected: 0,
      Takeover: 0,
    });
    expect(addMetric.mock.calls.some(([name]) => name === 'ClaimLatency')).toBe(true);
    expect(info).toHaveBeenCalledWith('crediting', { messageId: sent[0]?.messageId, fencingToken: 1 });
  });
});
