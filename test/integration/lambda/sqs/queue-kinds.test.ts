import type { SQSEvent } from 'aws-lambda';
import { sqsRecord } from 'onceflow/testing';
import { describe, expect, it } from 'vitest';
import { ledgerHandler } from '../../../../lambda/app/ledger.js';
import { type MessageHandler, OnceflowProducer } from '../../../../lambda/index.js';
import { consumerFixture, payments } from '../../../support/consumer-fixture.js';
import { uniqueName } from '../../../support/local-aws.js';

describe('FIFO queues, end to end on a FIFO queue of the emulator', () => {
  it('applies every message once, each group in the order it was sent, across polls', async () => {
    const fixture = await consumerFixture({ fifo: true });
    const producer = new OnceflowProducer({ sqs: fixture.sqs, queueUrl: fixture.queues.queueUrl });
    const sent = payments(8);
    const groupOf = (index: number) => `account-${index % 2}`;
    await producer.send(
      sent.map((payment, index) => ({
        messageId: payment.messageId,
        payload: { accountId: payment.accountId, amountCents: payment.amountCents },
        groupId: groupOf(index),
      })),
    );
    // A producer retry after the FIFO deduplication interval: a second SQS message with the same messageId.
    const [resent] = sent;
    if (resent === undefined) throw new Error('no payment');
    await fixture.send([{ ...resent, groupId: groupOf(0) }]);
    const ledger = ledgerHandler(fixture.tables);
    const order = new Map<string, string[]>();
    const handler: MessageHandler = (message, ctx) => {
      const group =
        message.messageId === resent.messageId
          ? groupOf(0)
          : groupOf(sent.findIndex((p) => p.messageId === message.messageId));
      order.set(group, [...(order.get(group) ?? []), message.messageId]);
      return ledger(message, ctx);
    };
    const consumer = fixture.consumer({ handler });

    const kinds: string[] = [];
    for (let poll = 0; poll < 20 && kinds.length < sent.length + 1; poll++) {
      const result = await fixture.poll(consumer);
      expect(result.response?.batchItemFailures).toEqual([]);
      kinds.push(...(result.response?.outcomes.map((o) => o.kind) ?? []));
    }

    expect(kinds.filter((kind) => kind === 'Processed')).toHaveLength(sent.length);
    expect(kinds.filter((kind) => kind === 'Duplicate')).toHaveLength(1);
    for (const group of [groupOf(0), groupOf(1)]) {
      const expected = sent.filter((_, index) => groupOf(index) === group).map((p) => p.messageId);
      expect(order.get(group)).toEqual(expected);
    }
    expect((await fixture.audit(sent)).ok).toBe(true);
  });
});

describe('fair queues: a tenant key as MessageGroupId on a standard queue', () => {
  it('sends a tenant key to a standard queue of the emulator and applies each message once', async () => {
    const fixture = await consumerFixture();
    const producer = new OnceflowProducer({ sqs: fixture.sqs, queueUrl: fixture.queues.queueUrl });
    const sent = payments(4);
    await producer.send(
      sent.map((payment) => ({
        messageId: payment.messageId,
        payload: { accountId: payment.accountId, amountCents: payment.amountCents },
        groupId: 'tenant-a',
      })),
    );

    const result = await fixture.poll(fixture.consumer());

    expect(result.response?.outcomes.map((o) => o.kind)).toEqual(Array(4).fill('Processed'));
    expect((await fixture.audit(sent)).ok).toBe(true);
  });

  it("does not hold a tenant's other messages behind one that fails, as it would on a FIFO queue", async () => {
    const fixture = await consumerFixture();
    const failing = uniqueName('m');
    const handler: MessageHandler = (message) => {
      if (message.messageId === failing) throw new Error('downstream timed out');
    };
    const tenantRecord = (messageId: string) => {
      const record = sqsRecord({ messageId, payload: {} }, { eventSourceARN: fixture.queues.queueArn });
      return { ...record, attributes: { ...record.attributes, MessageGroupId: 'tenant-a' } };
    };
    const event: SQSEvent = {
      Records: [tenantRecord(failing), tenantRecord(uniqueName('m')), tenantRecord(uniqueName('m'))],
    };

    const report = await fixture.consumer({ handler }).processBatch(event);

    expect(report.outcomes.map((o) => o.kind)).toEqual(['Retried', 'Processed', 'Processed']);
  });
});
