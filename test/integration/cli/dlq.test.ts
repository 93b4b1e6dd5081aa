import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { exactlyOnce, PARK_ATTRIBUTE, PermanentError, toWireBody } from 'onceflow';
import { createTable, peekMessages } from 'onceflow/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { createLocalConsumer, type LocalConsumer } from '../../../testing/local-consumer.js';
import { uniqueName } from '../../support/local-aws.js';
import { localServices, onceflow } from './cli-process.js';

interface Order {
  readonly quantity: number;
}

/** Applies an order by adding 1 to its count, in the commit transaction: the count is how often it applied. */
const applying = (countsTable: string, refuse: (order: Order) => boolean) =>
  exactlyOnce<Order>(async (message, ctx) => {
    if (refuse(message.payload)) throw new PermanentError('quantity must be positive');
    ctx.tx.update({
      TableName: countsTable,
      Key: { id: message.messageId },
      UpdateExpression: 'ADD applied :one',
      ExpressionAttributeValues: { ':one': 1 },
    });
  });

describe('onceflow dlq', () => {
  const services = localServices();
  let consumer: LocalConsumer;
  const countsTable = uniqueName('counts');

  const dlq = (...args: string[]) => onceflow(['dlq', ...args, '--dlq-url', consumer.deadLetterQueueUrl]);
  const applied = async (id: string) =>
    (await services.documentClient.send(new GetCommand({ TableName: countsTable, Key: { id } }))).Item
      ?.applied;

  beforeAll(async () => {
    await createTable(services.dynamoDb, countsTable, { partitionKey: { name: 'id', type: 'S' } });
    consumer = await createLocalConsumer(services, { name: 'cli-dlq' });
    // One message with attributes of its own, which the park keeps and the redrive must restore.
    await services.sqs.send(
      new SendMessageCommand({
        QueueUrl: consumer.queueUrl,
        MessageBody: toWireBody({ messageId: 'order-3', timestamp: 1, payload: { quantity: -1 } }),
        MessageAttributes: { tenant: { DataType: 'String', StringValue: 'acme' } },
      }),
    );
    const run = await consumer.run(
      applying(countsTable, (order) => order.quantity <= 0),
      [
        { messageId: 'order-1', payload: { quantity: 2 } },
        { messageId: 'order-2', payload: { quantity: 0 } },
        { body: 'not json' },
        { body: '{"timestamp":1,"payload":{}}' },
      ],
    );
    expect(run.parked).toHaveLength(4);
  });

  it('lists the parked messages by error type and reason, and consumes none', async () => {
    const result = await dlq('list');

    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toBe(
      `DLQ ${consumer.deadLetterQueueUrl}: read 4 of about 4 message(s), all visible again.`,
    );
    expect(lines[2]).toMatch(/^COUNT +OLDEST +ERROR TYPE +REASON$/);
    // The largest group first; each malformed body has its own reason.
    expect(lines[3]).toMatch(/^ {4}2 +\d+(ms|s) +PermanentError +PermanentError: quantity must be positive$/);
    expect(lines.slice(4, 6).sort()).toEqual([
      expect.stringMatching(/^ {4}1 +\d+(ms|s) +MalformedMessageError +Body is not JSON: /),
      expect.stringMatching(/^ {4}1 +\d+(ms|s) +MalformedMessageError +\S/),
    ]);
    expect(lines.slice(6)).toEqual(['']);
    expect(await peekMessages(services.sqs, consumer.deadLetterQueueUrl)).toHaveLength(4);
  });

  it('gives the groups with their messageIds as JSON', async () => {
    const result = await dlq('list', '--json');

    expect(result.code).toBe(0);
    const listing: { read: number; groups: { errorType: string; count: number; messageIds: unknown[] }[] } =
      JSON.parse(result.stdout);
    expect(listing.read).toBe(4);
    const permanent = listing.groups.find((g) => g.errorType === 'PermanentError');
    expect(permanent?.messageIds.sort()).toEqual(['order-2', 'order-3']);
    const malformed = listing.groups.filter((g) => g.errorType === 'MalformedMessageError');
    expect(malformed.flatMap((g) => g.messageIds)).toEqual([null, null]);
  });

  it('changes nothing on a dry run and says what it would move', async () => {
    const result = await dlq('redrive', '--error-type', 'PermanentError', '--dry-run');

    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Dry run: would move 2 of 4 message(s) read');
    expect(result.stdout).toContain('nothing was sent or deleted');
    expect(await peekMessages(services.sqs, consumer.deadLetterQueueUrl)).toHaveLength(4);
    expect(await peekMessages(services.sqs, consumer.queueUrl)).toHaveLength(0);
  });

  it('moves the chosen messages back with their own attributes, and a second run applies each once', async () => {
    const result = await dlq(
      'redrive',
      '--reason',
      'quantity must be positive',
      '--queue-url',
      consumer.queueUrl,
    );

    expect(result.code).toBe(0);
    expect(result.stdout.split('\n')[0]).toBe(
      `Moved 2 of 4 message(s) read from ${consumer.deadLetterQueueUrl} to ${consumer.queueUrl}.`,
    );
    expect(result.stdout).toContain('2 not chosen, visible on the DLQ again.');
    const back = await peekMessages(services.sqs, consumer.queueUrl);
    const order3 = back.find((m) => m.Body?.includes('order-3'));
    expect(back).toHaveLength(2);
    expect(Object.keys(order3?.MessageAttributes ?? {})).toEqual(['tenant']);
    expect(order3?.MessageAttributes?.tenant?.StringValue).toBe('acme');
    expect((await peekMessages(services.sqs, consumer.deadLetterQueueUrl)).length).toBe(2);

    // The fix is deployed: the consumer now accepts them.
    const run = await consumer.run(applying(countsTable, () => false));

    expect(run.final.get('order-2')?.kind).toBe('Processed');
    expect(run.final.get('order-3')?.kind).toBe('Processed');
    expect(await applied('order-1')).toBe(1);
    expect(await applied('order-2')).toBe(1);
    expect(await applied('order-3')).toBe(1);
  });

  it('still applies a message at most once when a copy of it is redriven again', async () => {
    // A second copy of order-2 on the DLQ (a park repeated after a crash), moved back with the source queue derived.
    await services.sqs.send(
      new SendMessageCommand({
        QueueUrl: consumer.deadLetterQueueUrl,
        MessageBody: toWireBody({ messageId: 'order-2', timestamp: 1, payload: { quantity: 0 } }),
        MessageAttributes: {
          [PARK_ATTRIBUTE.reason]: {
            DataType: 'String',
            StringValue: 'PermanentError: quantity must be positive',
          },
          [PARK_ATTRIBUTE.errorType]: { DataType: 'String', StringValue: 'PermanentError' },
        },
      }),
    );
    const result = await dlq('redrive', '--message-id', 'order-2');

    expect(result.code).toBe(0);
    expect(result.stdout.split('\n')[0]).toBe(
      `Moved 1 of 3 message(s) read from ${consumer.deadLetterQueueUrl} to ${consumer.queueUrl}.`,
    );
    const run = await consumer.run(applying(countsTable, () => false));

    expect(run.final.get('order-2')?.kind).toBe('Duplicate');
    expect(await applied('order-2')).toBe(1);
    expect(await consumer.claimRecord('order-2')).toMatchObject({ status: 'DONE' });
  });

  it('moves at most --max, and sends one of two copies of the same park', async () => {
    const copy = (sqsMessageId: string) =>
      services.sqs.send(
        new SendMessageCommand({
          QueueUrl: consumer.deadLetterQueueUrl,
          MessageBody: toWireBody({ messageId: 'order-9', timestamp: 1, payload: { quantity: 1 } }),
          MessageAttributes: {
            [PARK_ATTRIBUTE.reason]: { DataType: 'String', StringValue: 'RetriesExhausted: timed out' },
            [PARK_ATTRIBUTE.errorType]: { DataType: 'String', StringValue: 'RetriesExhausted' },
            [PARK_ATTRIBUTE.sourceMessageId]: { DataType: 'String', StringValue: sqsMessageId },
          },
        }),
      );
    await copy('source-9');
    await copy('source-9');

    const result = await dlq(
      'redrive',
      '--error-type',
      'RetriesExhausted',
      '--queue-url',
      consumer.queueUrl,
      '--json',
    );

    expect(result.code).toBe(0);
    const report: { moved: { messageId: string }[]; duplicateCopies: { messageId: string }[] } = JSON.parse(
      result.stdout,
    );
    expect(report.moved.map((m) => m.messageId)).toEqual(['order-9']);
    expect(report.duplicateCopies.map((m) => m.messageId)).toEqual(['order-9']);
    expect((await peekMessages(services.sqs, consumer.queueUrl)).map((m) => m.Body)).toEqual([
      expect.stringContaining('"order-9"'),
    ]);

    const limited = await dlq(
      'redrive',
      '--max',
      '1',
      '--queue-url',
      consumer.queueUrl,
      '--dry-run',
      '--json',
    );
    expect(JSON.parse(limited.stdout).moved).toHaveLength(1);
  });

  it('refuses a DLQ that does not exist in one line', async () => {
    const result = await onceflow(['dlq', 'list', '--dlq-url', `${consumer.deadLetterQueueUrl}-gone`]);

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^onceflow: queue '.*-gone' does not exist at http:\/\/127\.0\.0\.1:\d+\n$/,
    );
  });
});
