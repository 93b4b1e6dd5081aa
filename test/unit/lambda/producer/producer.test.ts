import { S3Client } from '@aws-sdk/client-s3';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  messageIdFromBusinessKey,
  OnceflowProducer,
  ProducerSendError,
} from '../../../../lambda/producer/producer.js';

// Partial batch failures and outages cannot be provoked on the emulator on demand; a mock gives them.
const sqs = new SQSClient({ region: 'us-east-1' });
const mock = mockClient(sqs);
const noSleep = () => Promise.resolve();
const producer = new OnceflowProducer({ sqs, queueUrl: 'q', maxAttempts: 3, sleep: noSleep });

beforeEach(() => mock.reset());

describe('OnceflowProducer', () => {
  it.each([
    ['a FIFO queue: the ordering group, with the messageId as deduplication id', 'orders.fifo', 'm1'],
    ['a standard (fair) queue: the tenant key, with no deduplication id', 'orders', undefined],
  ])('sends groupId as the MessageGroupId of %s', async (_name, queueUrl, deduplicationId) => {
    mock.on(SendMessageBatchCommand).resolves({ Failed: [] });

    await new OnceflowProducer({ sqs, queueUrl, sleep: noSleep }).send([
      { messageId: 'm1', payload: 1, groupId: 'tenant-a' },
    ]);

    const [entry] = mock.commandCalls(SendMessageBatchCommand)[0]?.args[0].input.Entries ?? [];
    expect(entry?.MessageGroupId).toBe('tenant-a');
    expect(entry?.MessageDeduplicationId).toBe(deduplicationId);
  });

  it('sends in batches of 10', async () => {
    mock.on(SendMessageBatchCommand).resolves({ Failed: [] });

    const ids = await producer.send(
      Array.from({ length: 23 }, (_, i) => ({ messageId: `m${i}`, payload: i })),
    );

    expect(ids).toHaveLength(23);
    expect(mock.commandCalls(SendMessageBatchCommand).map((c) => c.args[0].input.Entries?.length)).toEqual([
      10, 10, 3,
    ]);
  });

  it('sends again only the entries SQS refused, until they get through', async () => {
    mock
      .on(SendMessageBatchCommand)
      .resolvesOnce({ Failed: [{ Id: '1', Code: 'InternalError', SenderFault: false }] })
      .resolves({ Failed: [] });

    await producer.send([
      { messageId: 'a', payload: 1 },
      { messageId: 'b', payload: 2 },
    ]);

    const second = mock.commandCalls(SendMessageBatchCommand)[1]?.args[0].input.Entries ?? [];
    expect(second.map((entry) => JSON.parse(entry.MessageBody ?? '').messageId)).toEqual(['b']);
  });

  it('never drops a message: after the last attempt it throws with what was not sent', async () => {
    mock.on(SendMessageBatchCommand).rejects(new Error('network down'));

    const attempt = producer.send([{ messageId: 'a', payload: 1 }]);

    await expect(attempt).rejects.toBeInstanceOf(ProducerSendError);
    await expect(attempt).rejects.toMatchObject({
      unsent: [{ messageId: 'a', reason: 'Error: network down' }],
      sentMessageIds: [],
    });
    expect(mock.commandCalls(SendMessageBatchCommand)).toHaveLength(3);
  });

  it('derives the same messageId from the same business key', async () => {
    mock.on(SendMessageBatchCommand).resolves({ Failed: [] });

    const [first] = await producer.send([{ businessKey: 'order-42', payload: 1 }]);
    const [again] = await producer.send([{ businessKey: 'order-42', payload: 1 }]);

    expect(first).toBe(again);
    expect(first).toBe(messageIdFromBusinessKey('order-42'));
    expect(messageIdFromBusinessKey('order-43')).not.toBe(first);
  });

  it('refuses a message with neither messageId nor business key, before sending anything', async () => {
    await expect(producer.send([{ payload: 1 }])).rejects.toThrow(
      'Give each message a messageId or a businessKey.',
    );
    expect(mock.calls()).toHaveLength(0);
  });
});

describe('OnceflowProducer large payloads', () => {
  it('refuses a Uint8Array payload without largePayloads, in one line that says what to give', async () => {
    await expect(producer.send([{ messageId: 'bytes', payload: new Uint8Array([1, 2]) }])).rejects.toThrow(
      new TypeError('A Uint8Array payload travels through S3: give OnceflowProducer largePayloads options.'),
    );
    expect(mock.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
  });

  it('sends a payload under the threshold inline, touching no S3', async () => {
    mock.on(SendMessageBatchCommand).resolves({ Failed: [] });
    const s3 = new S3Client({ region: 'us-east-1' });
    const s3Mock = mockClient(s3);
    const withLarge = new OnceflowProducer({ sqs, queueUrl: 'q', largePayloads: { s3, bucket: 'b' } });

    await withLarge.send([{ messageId: 'small', payload: { note: 'x'.repeat(100_000) } }]);

    expect(s3Mock.calls()).toHaveLength(0);
    const body = mock.commandCalls(SendMessageBatchCommand)[0]?.args[0].input.Entries?.[0]?.MessageBody ?? '';
    expect(JSON.parse(body).payload).toEqual({ note: 'x'.repeat(100_000) });
    expect(withLarge.largePayloadStats?.payloads).toBe(0);
  });
});
