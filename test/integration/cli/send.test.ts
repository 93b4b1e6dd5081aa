import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exactlyOnce, messageIdFromBusinessKey } from 'onceflow';
import { peekMessages } from 'onceflow/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { createLocalConsumer, type LocalConsumer } from '../../../testing/local-consumer.js';
import { localServices, onceflow } from './cli-process.js';

const LINES = [
  '{"messageId":"pay-1","timestamp":"2025-01-01T00:00:00Z","payload":{"amountCents":500}}',
  '',
  '{"businessKey":"order-42/payment-1","payload":{"amountCents":700}}',
  '{"payload":{"orderId":"order-43","amountCents":900}}',
].join('\n');

describe('onceflow send', () => {
  const services = localServices();
  let consumer: LocalConsumer;

  beforeEach(async () => {
    consumer = await createLocalConsumer(services, { name: 'cli-send' });
  });

  const bodies = async () =>
    (await peekMessages(services.sqs, consumer.queueUrl))
      .map((m) => JSON.parse(m.Body ?? ''))
      .sort((a, b) => String(a.messageId).localeCompare(String(b.messageId)));

  it('sends JSON lines from a file, with ids given or derived from a business key', async () => {
    const file = join(tmpdir(), 'payments.jsonl');
    writeFileSync(file, LINES);

    const result = await onceflow(['send', file, '--queue-url', consumer.queueUrl, '--id-from', 'orderId']);

    expect(result.code).toBe(0);
    const fromKey = messageIdFromBusinessKey('order-42/payment-1');
    const fromField = messageIdFromBusinessKey('order-43');
    expect(result.stdout).toBe(
      [
        `Sent 3 message(s) to ${consumer.queueUrl}.`,
        'LINE  MESSAGE ID',
        '1     pay-1',
        `3     ${fromKey}`,
        `4     ${fromField}`,
        '',
      ].join('\n'),
    );
    expect(await bodies()).toEqual(
      [
        { messageId: 'pay-1', timestamp: '2025-01-01T00:00:00Z', payload: { amountCents: 500 } },
        { messageId: fromKey, timestamp: expect.any(Number), payload: { amountCents: 700 } },
        {
          messageId: fromField,
          timestamp: expect.any(Number),
          payload: { orderId: 'order-43', amountCents: 900 },
        },
      ].sort((a, b) => a.messageId.localeCompare(b.messageId)),
    );
  });

  it('reads stdin, and the same input sent twice applies once', async () => {
    const input = '{"payload":{"orderId":"order-7"}}\n';
    const first = await onceflow(
      ['send', '--queue-url', consumer.queueUrl, '--id-from', 'orderId', '--json'],
      {
        input,
      },
    );
    const second = await onceflow(
      ['send', '-', '--queue-url', consumer.queueUrl, '--id-from', 'orderId', '--json'],
      {
        input,
      },
    );

    expect(first.code).toBe(0);
    const id = messageIdFromBusinessKey('order-7');
    expect(JSON.parse(first.stdout)).toEqual({
      queueUrl: consumer.queueUrl,
      sent: [{ line: 1, messageId: id }],
    });
    expect(JSON.parse(second.stdout).sent).toEqual([{ line: 1, messageId: id }]);
    let handled = 0;
    const run = await consumer.run(
      exactlyOnce(async () => {
        handled += 1;
      }),
    );
    expect(run.outcomes.map((o) => o.kind).sort()).toEqual(['Duplicate', 'Processed']);
    expect(handled).toBe(1);
  });

  it.each([
    ['{"messageId":"a","payload":1}\n{"messageId":"b"}\n', 'line 2: no "payload"'],
    ['{"messageId":"a","payload":1}\nnot json\n', 'line 2: not JSON'],
    ['{"payload":{"orderId":"o-1"}}\n', 'line 1: no "messageId" or "businessKey" (or give --id-from FIELD)'],
  ])('sends nothing when a line is wrong, and names the line: %j', async (input, message) => {
    const result = await onceflow(['send', '--queue-url', consumer.queueUrl], { input });

    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`onceflow: ${message}\n`);
    expect(await bodies()).toEqual([]);
  });
});
