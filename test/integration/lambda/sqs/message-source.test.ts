import { CreateTopicCommand, PublishCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { LOCAL_AWS_CONFIG } from 'onceflow/testing';
import { describe, expect, inject, it } from 'vitest';
import { type MessageHandler, type MessageSource, MessageSources } from '../../../../lambda/index.js';
import { type ConsumerFixture, consumerFixture } from '../../../support/consumer-fixture.js';
import { uniqueName } from '../../../support/local-aws.js';

/** What the handler saw of each message it ran for. */
function recording() {
  const seen: { messageId: string; timestamp: string | number; payload: unknown }[] = [];
  const handler: MessageHandler = ({ messageId, timestamp, payload }) => {
    seen.push({ messageId, timestamp, payload });
  };
  return { handler, seen };
}

async function sendBodies(fixture: ConsumerFixture, bodies: readonly string[]) {
  await fixture.send(bodies.map((body) => ({ body })));
}

/** A topic on the emulator with the fixture's queue subscribed, raw or not. */
async function subscribedTopic(fixture: ConsumerFixture, raw: boolean) {
  const sns = new SNSClient({ ...LOCAL_AWS_CONFIG, endpoint: inject('sqsEndpoint') });
  const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: uniqueName('orders') }));
  await sns.send(
    new SubscribeCommand({
      TopicArn,
      Protocol: 'sqs',
      Endpoint: fixture.queues.queueArn,
      Attributes: raw ? { RawMessageDelivery: 'true' } : {},
    }),
  );
  return (message: unknown) => sns.send(new PublishCommand({ TopicArn, Message: JSON.stringify(message) }));
}

describe('exactlyOnce reads the id, timestamp and payload where the producer put them', () => {
  it('parks a plain JSON body under the default wire format, naming the missing messageId', async () => {
    const fixture = await consumerFixture();
    await sendBodies(fixture, [JSON.stringify({ orderId: 'o-1', amountCents: 5 })]);

    const result = await fixture.poll(fixture.consumer({ handler: recording().handler }));

    expect(result.response?.outcomes.map((o) => o.kind)).toEqual(['Parked']);
    expect((await fixture.parked())[0]?.reason).toBe(
      'Invalid messageId: messageId must be a string, got nothing.',
    );
  });

  it('takes the id, timestamp and payload at field paths of a plain JSON body, and applies each id once', async () => {
    const fixture = await consumerFixture();
    const { handler, seen } = recording();
    const order = { order: { id: 'o-2', placedAt: '2026-12-01T10:00:00Z', lines: [{ sku: 'a' }] } };
    await sendBodies(fixture, [JSON.stringify(order), JSON.stringify(order)]);
    const source = MessageSources.jsonBody({
      messageId: 'order.id',
      timestamp: 'order.placedAt',
      payload: 'order.lines',
    });

    const first = await fixture.poll(fixture.consumer({ handler, source }));

    expect(first.response?.outcomes.map((o) => o.kind).sort()).toEqual(['Duplicate', 'Processed']);
    expect(seen).toEqual([{ messageId: 'o-2', timestamp: '2026-12-01T10:00:00Z', payload: [{ sku: 'a' }] }]);
  });

  it('takes a numeric business key as its decimal string, and the SentTimestamp when no timestamp is named', async () => {
    const fixture = await consumerFixture();
    const { handler, seen } = recording();
    await sendBodies(fixture, [JSON.stringify({ id: 42, total: 7 })]);

    await fixture.poll(fixture.consumer({ handler, source: MessageSources.jsonBody({ messageId: 'id' }) }));

    expect(seen).toEqual([{ messageId: '42', timestamp: expect.any(Number), payload: { id: 42, total: 7 } }]);
  });

  it('parks a JSON body without the named field, naming the source', async () => {
    const fixture = await consumerFixture();
    await sendBodies(fixture, [JSON.stringify({ other: 1 })]);

    await fixture.poll(fixture.consumer({ source: MessageSources.jsonBody({ messageId: 'order.id' }) }));

    expect((await fixture.parked())[0]).toMatchObject({
      errorType: 'MalformedMessageError',
      reason: "Invalid messageId (source 'jsonBody'): messageId must be a string, got nothing.",
    });
  });

  it('unwraps an SNS notification: the SNS MessageId, Timestamp and the parsed Message by default', async () => {
    const fixture = await consumerFixture();
    const publish = await subscribedTopic(fixture, false);
    const published = await publish({ orderId: 'o-3', amountCents: 10 });
    const { handler, seen } = recording();

    await fixture.poll(fixture.consumer({ handler, source: MessageSources.sns() }));

    expect(seen).toEqual([
      {
        messageId: published.MessageId,
        timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        payload: { orderId: 'o-3', amountCents: 10 },
      },
    ]);
  });

  it('applies once a message an SNS producer published twice, with a business key from the Message', async () => {
    const fixture = await consumerFixture();
    const publish = await subscribedTopic(fixture, false);
    await publish({ orderId: 'o-4', amountCents: 10 });
    await publish({ orderId: 'o-4', amountCents: 10 });
    const { handler, seen } = recording();

    const result = await fixture.poll(
      fixture.consumer({ handler, source: MessageSources.sns({ messageId: 'orderId' }) }),
    );

    expect(result.response?.outcomes.map((o) => o.kind).sort()).toEqual(['Duplicate', 'Processed']);
    expect(seen.map((m) => m.messageId)).toEqual(['o-4']);
  });

  it('reads a raw SNS delivery with a path, and parks one without, saying what to give', async () => {
    const fixture = await consumerFixture();
    const publish = await subscribedTopic(fixture, true);
    await publish({ orderId: 'o-5', amountCents: 1 });
    const { handler, seen } = recording();
    await fixture.poll(fixture.consumer({ handler, source: MessageSources.sns({ messageId: 'orderId' }) }));
    expect(seen).toEqual([
      { messageId: 'o-5', timestamp: expect.any(Number), payload: { orderId: 'o-5', amountCents: 1 } },
    ]);

    await publish({ orderId: 'o-6', amountCents: 1 });
    await fixture.poll(fixture.consumer({ handler, source: MessageSources.sns() }));
    expect((await fixture.parked())[0]?.reason).toBe(
      'Body is not an SNS envelope (raw message delivery?); give MessageSources.sns({ messageId: path }) to read the id from the Message.',
    );
  });

  it('reads an EventBridge event: id, time and detail by default', async () => {
    const fixture = await consumerFixture();
    const event = {
      version: '0',
      id: 'a1b2c3d4-0000-4000-8000-000000000001',
      'detail-type': 'OrderPlaced',
      source: 'shop.orders',
      account: '000000000000',
      time: '2026-12-01T10:00:00Z',
      region: 'us-east-1',
      resources: [],
      detail: { orderId: 'o-7' },
    };
    await sendBodies(fixture, [JSON.stringify(event)]);
    const { handler, seen } = recording();

    await fixture.poll(fixture.consumer({ handler, source: MessageSources.eventBridge() }));

    expect(seen).toEqual([{ messageId: event.id, timestamp: event.time, payload: { orderId: 'o-7' } }]);
  });

  it('takes the id from a function of the record, and parks what the function throws', async () => {
    const fixture = await consumerFixture();
    const source: MessageSource = MessageSources.custom('attribute', (record) => {
      const key = record.messageAttributes.idempotencyKey?.stringValue;
      if (key === undefined) throw new Error('no idempotencyKey attribute');
      return { messageId: key, payload: record.body };
    });
    await fixture.sqs.send(
      new SendMessageCommand({
        QueueUrl: fixture.queues.queueUrl,
        MessageBody: 'plain text',
        MessageAttributes: { idempotencyKey: { DataType: 'String', StringValue: 'k-8' } },
      }),
    );
    await fixture.sqs.send(
      new SendMessageCommand({ QueueUrl: fixture.queues.queueUrl, MessageBody: 'no key' }),
    );
    const { handler, seen } = recording();

    await fixture.poll(fixture.consumer({ handler, source }));

    expect(seen).toEqual([{ messageId: 'k-8', timestamp: expect.any(Number), payload: 'plain text' }]);
    expect((await fixture.parked())[0]?.reason).toBe(
      "Source 'attribute' could not read the record: no idempotencyKey attribute",
    );
  });
});
