import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { createOutboxTable, createQueuePair, createTable, LOCAL_AWS_CONFIG } from 'onceflow/testing';
import { describe, expect, inject, it } from 'vitest';
import { type MessageHandler, toWireBody } from '../../../../lambda/index.js';
import { OutboxRelay } from '../../../../lambda/outbox/outbox-relay.js';
import { StreamPoller } from '../../../../local/stack/stream-poller.js';
import { consumerFixture, silentLogger } from '../../../support/consumer-fixture.js';
import { drainVisible, localDocumentClient, uniqueName } from '../../../support/local-aws.js';

/** A source consumer whose handler emits `perMessage` outbox items, a relay on the outbox stream, a target queue. */
async function outboxFixture(
  options: {
    perMessage?: number;
    failFirstDeletes?: number;
    failSendOf?: string;
    /** Where the handler sends; the fixture's target queue when left out. */
    targetOf?: (message: { messageId: string }, target: string) => string;
  } = {},
) {
  const fixture = await consumerFixture();
  const outboxTable = uniqueName('outbox');
  await createOutboxTable(fixture.dynamoDb, outboxTable);
  const target = await createQueuePair(fixture.sqs, uniqueName('notifications'));
  const sentOrder: string[] = [];
  const sendRequests: number[] = [];
  const relayDeadLetters = await createQueuePair(fixture.sqs, uniqueName('relay'));

  const emitting: MessageHandler = (message, ctx) => {
    for (let i = 0; i < (options.perMessage ?? 1); i++) {
      const queueUrl = options.targetOf?.(message, target.queueUrl) ?? target.queueUrl;
      ctx.outbox.send(queueUrl, { about: message.messageId, n: i });
    }
  };

  // The relay's own clients, so faults injected into them touch nothing else.
  const relayDynamoDb = localDocumentClient();
  let deletesToFail = options.failFirstDeletes ?? 0;
  relayDynamoDb.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'BatchWriteItemCommand' && deletesToFail > 0) {
        deletesToFail -= 1;
        throw Object.assign(new Error('relay died after the send, before the mark'), {
          name: 'TimeoutError',
        });
      }
      return next(args);
    },
    { step: 'initialize', name: 'failDeletes' },
  );
  const relaySqs = fixture.sqs;
  let sendFailuresLeft = options.failSendOf === undefined ? 0 : 1;
  relaySqs.middlewareStack.add(
    (next, context) => async (args) => {
      // The relay's sends, not the test's own sends to the source queue.
      const toSource = 'QueueUrl' in args.input && args.input.QueueUrl === fixture.queues.queueUrl;
      if (context.commandName === 'SendMessageBatchCommand' && !toSource) {
        const entries = 'Entries' in args.input ? (args.input.Entries as { MessageBody?: string }[]) : [];
        const ids = entries.map((entry): unknown => JSON.parse(entry.MessageBody ?? '{}').messageId);
        if (ids.includes(options.failSendOf) && sendFailuresLeft > 0) {
          sendFailuresLeft -= 1;
          throw Object.assign(new Error('SQS hiccup'), { name: 'InternalError' });
        }
        for (const id of ids) if (typeof id === 'string') sentOrder.push(id);
        sendRequests.push(ids.length);
      }
      return next(args);
    },
    { step: 'initialize', name: 'recordSends' },
  );
  const relay = new OutboxRelay({
    sqs: relaySqs,
    dynamoDb: relayDynamoDb,
    tableName: outboxTable,
    deadLetterQueueUrl: relayDeadLetters.queueUrl,
    logger: silentLogger(),
  });
  const streams = new StreamPoller({
    streams: new DynamoDBStreamsClient({ ...LOCAL_AWS_CONFIG, endpoint: inject('dynamoDbEndpoint') }),
    dynamoDb: new DynamoDBClient({ ...LOCAL_AWS_CONFIG, endpoint: inject('dynamoDbEndpoint') }),
    tableName: outboxTable,
    handler: (event) => relay.process(event),
  });
  /** Runs the relay until the stream has nothing more to give. */
  const relayAll = async () => {
    for (let idle = 0; idle < 3; ) idle = (await streams.pollOnce()) === 0 ? idle + 1 : 0;
  };
  const outboxItems = async () =>
    (await fixture.dynamoDb.send(new ScanCommand({ TableName: outboxTable, ConsistentRead: true }))).Items ??
    [];
  const delivered = async () =>
    (await drainVisible(fixture.sqs, target.queueUrl, { keepHidden: true })).map((m) => {
      const id: unknown = JSON.parse(m.Body ?? '{}').messageId;
      return typeof id === 'string' ? id : '';
    });
  const parked = async () =>
    (await drainVisible(fixture.sqs, relayDeadLetters.queueUrl, { keepHidden: true })).map(
      (m) => m.MessageAttributes?.['onceflow.reason']?.StringValue ?? '',
    );
  return {
    fixture,
    outboxTable,
    target,
    emitting,
    relayAll,
    outboxItems,
    delivered,
    sentOrder,
    sendRequests,
    parked,
  };
}

describe('transactional outbox', () => {
  it('emits each outbox item once the source commits, as an Onceflow message <sourceMessageId>#<index>', async () => {
    const { fixture, outboxTable, emitting, relayAll, outboxItems, delivered } = await outboxFixture({
      perMessage: 2,
    });
    await fixture.send([{ messageId: 'src-1', accountId: 'a', amountCents: 1 }]);

    await fixture.poll(fixture.consumer({ handler: emitting, outboxTableName: outboxTable }));
    expect(await outboxItems()).toHaveLength(2);
    await relayAll();

    expect((await delivered()).sort()).toEqual(['src-1#0', 'src-1#1']);
    expect(await outboxItems()).toHaveLength(0); // delivered items are marked by deleting them
  });

  it('writes no outbox item when the commit is cancelled', async () => {
    const { fixture, outboxTable, target, relayAll, outboxItems, delivered } = await outboxFixture();
    const guarded = uniqueName('guarded');
    await createTable(fixture.dynamoDb, guarded, { partitionKey: { name: 'id', type: 'S' } });
    const refusing: MessageHandler = (_message, ctx) => {
      ctx.outbox.send(target.queueUrl, { never: true });
      ctx.tx.put({ TableName: guarded, Item: { id: 'x' }, ConditionExpression: 'attribute_exists(id)' });
    };
    await fixture.send([{ messageId: 'src-cancelled', accountId: 'a', amountCents: 1 }]);

    const result = await fixture.poll(fixture.consumer({ handler: refusing, outboxTableName: outboxTable }));
    await relayAll();

    expect(result.response?.outcomes.map((o) => o.kind)).toEqual(['Parked']);
    expect(await outboxItems()).toHaveLength(0);
    expect(await delivered()).toEqual([]);
  });

  it('sends again after a relay dies between send and mark, and the downstream applies it once', async () => {
    const { fixture, outboxTable, emitting, relayAll, delivered } = await outboxFixture({
      perMessage: 1,
      failFirstDeletes: 1,
    });
    await fixture.send([
      { messageId: 'src-a', accountId: 'a', amountCents: 1 },
      { messageId: 'src-b', accountId: 'a', amountCents: 1 },
    ]);
    await fixture.poll(fixture.consumer({ handler: emitting, outboxTableName: outboxTable }));

    await relayAll();
    const copies = await delivered();
    expect(copies.length).toBeGreaterThan(2); // at least one item went out twice

    // The downstream Onceflow consumer drops the copy.
    const downstream = await consumerFixture();
    const applied: string[] = [];
    const recordNotification: MessageHandler = (message) => {
      applied.push(message.messageId);
    };
    for (const id of copies) {
      await downstream.sqs.send(
        new SendMessageCommand({
          QueueUrl: downstream.queues.queueUrl,
          MessageBody: toWireBody({ messageId: id, timestamp: 1, payload: {} }),
        }),
      );
    }
    while ((await downstream.poll(downstream.consumer({ handler: recordNotification }))).received > 0) {}
    expect(applied.sort()).toEqual(['src-a#0', 'src-b#0']);
  });

  it("keeps the order of one source message's items, even when one of them has to be sent again", async () => {
    const { fixture, outboxTable, emitting, relayAll, sentOrder } = await outboxFixture({
      perMessage: 5,
      failSendOf: 'src-ordered#2',
    });
    await fixture.send([{ messageId: 'src-ordered', accountId: 'a', amountCents: 1 }]);
    await fixture.poll(fixture.consumer({ handler: emitting, outboxTableName: outboxTable }));

    await relayAll();

    const firstSends = sentOrder.filter((id, index) => sentOrder.indexOf(id) === index);
    expect(firstSends).toEqual([
      'src-ordered#0',
      'src-ordered#1',
      'src-ordered#2',
      'src-ordered#3',
      'src-ordered#4',
    ]);
  });

  it('sends the items of many source messages in batches of up to 10 per target queue', async () => {
    const { fixture, outboxTable, emitting, relayAll, delivered, sendRequests } = await outboxFixture();
    const sources = Array.from({ length: 25 }, (_, i) => ({
      messageId: `src-many-${i}`,
      accountId: 'a',
      amountCents: 1,
    }));
    await fixture.send(sources);
    while (
      (await fixture.poll(fixture.consumer({ handler: emitting, outboxTableName: outboxTable }))).received > 0
    ) {}

    await relayAll();

    expect((await delivered()).sort()).toEqual(sources.map((s) => `${s.messageId}#0`).sort());
    expect(Math.max(...sendRequests)).toBeGreaterThan(1);
    expect(sendRequests.every((entries) => entries <= 10)).toBe(true);
    expect(sendRequests.length).toBeLessThan(sources.length);
  });

  it('parks an item whose target queue does not exist, with the reason, and delivers the others', async () => {
    const { fixture, outboxTable, emitting, relayAll, delivered, parked, outboxItems } = await outboxFixture({
      targetOf: (message, target) => (message.messageId === 'src-lost' ? `${target}-missing` : target),
    });
    await fixture.send([
      { messageId: 'src-lost', accountId: 'a', amountCents: 1 },
      { messageId: 'src-fine', accountId: 'a', amountCents: 1 },
    ]);
    await fixture.poll(fixture.consumer({ handler: emitting, outboxTableName: outboxTable }));

    await relayAll();

    expect(await delivered()).toEqual(['src-fine#0']);
    const reasons = await parked();
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toMatch(
      /^(QueueDoesNotExist|AWS\.SimpleQueueService\.NonExistentQueue): cannot send to /,
    );
    expect(await outboxItems()).toHaveLength(0);
  });
});
