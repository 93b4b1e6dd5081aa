import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { ConfigurationError, exactlyOnce, PermanentError } from 'onceflow';
import { type LocalAws, startLocalAws } from 'onceflow/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** The user's view of the test kit: their own handler, their own table, through the package's public entries. */
const ORDERS_TABLE = 'ORDERS_TABLE';

let calls = new Map<string, number>();
const handler = exactlyOnce<{ sku: string; fail?: 'permanent' | 'once' }>(async (message, ctx) => {
  const call = (calls.get(message.messageId) ?? 0) + 1;
  calls.set(message.messageId, call);
  if (message.payload.fail === 'permanent') throw new PermanentError(`unknown sku ${message.payload.sku}`);
  if (message.payload.fail === 'once' && call === 1) throw new Error('inventory service timed out');
  ctx.tx.put({
    TableName: process.env[ORDERS_TABLE],
    Item: { orderId: message.messageId, sku: message.payload.sku, attempt: ctx.attempt },
  });
});

describe('onceflow/testing: startLocalAws', () => {
  let aws: LocalAws;
  const endpointBefore = process.env.AWS_ENDPOINT_URL_DYNAMODB;

  beforeAll(async () => {
    aws = await startLocalAws();
    await aws.createTable('orders', { partitionKey: { name: 'orderId', type: 'S' } });
  });
  afterAll(() => aws?.stop());

  it('runs a handler until every message settles: duplicates once, a permanent failure parked, a retry applied', async () => {
    calls = new Map();
    const consumer = await aws.createConsumer({ name: 'orders', environment: { [ORDERS_TABLE]: 'orders' } });
    const result = await consumer.run(handler, [
      { messageId: 'order-1', payload: { sku: 'A' } },
      { messageId: 'order-1', payload: { sku: 'A' } },
      { messageId: 'order-2', payload: { sku: 'B', fail: 'once' } },
      { messageId: 'order-3', payload: { sku: 'Z', fail: 'permanent' } },
      { body: 'not json' },
    ]);

    expect(calls).toEqual(
      new Map([
        ['order-1', 1],
        ['order-2', 2],
        ['order-3', 1],
      ]),
    );
    expect(result.final.get('order-1')?.kind).toBe('Processed');
    expect(result.final.get('order-2')?.kind).toBe('Processed');
    expect(result.final.get('order-3')?.kind).toBe('Parked');
    const order2 = await aws.documentClient.send(
      new GetCommand({ TableName: 'orders', Key: { orderId: 'order-2' } }),
    );
    expect(order2.Item).toEqual({ orderId: 'order-2', sku: 'B', attempt: 2 });
    expect(result.parked.map((p) => [p.messageId, p.errorType, p.reason]).sort()).toEqual([
      [undefined, 'MalformedMessageError', expect.stringContaining('not JSON')],
      ['order-3', 'PermanentError', 'PermanentError: unknown sku Z'],
    ]);
    expect(await consumer.claimRecord('order-1')).toMatchObject({ status: 'DONE', fencingToken: 1 });
    expect(process.env[ORDERS_TABLE]).toBeUndefined();
  });

  it('fails with the setting named when the handler points at a claims table that does not exist', async () => {
    const consumer = await aws.createConsumer({ environment: { [ORDERS_TABLE]: 'orders' } });
    const misconfigured = exactlyOnce(handler.messageHandler, { tableName: 'claims' });

    const run = consumer.run(misconfigured, [{ messageId: 'order-9', payload: { sku: 'A' } }]);

    await expect(run).rejects.toThrow(ConfigurationError);
    await expect(run).rejects.toThrow(/claims table 'claims' \(from options.tableName\) does not exist/);
  });

  it('points clients the handler builds itself at the local services, and restores the environment on stop', async () => {
    expect(process.env.AWS_ENDPOINT_URL_DYNAMODB).toBe(aws.dynamoDbEndpoint);
    const other = await startLocalAws();
    expect(process.env.AWS_ENDPOINT_URL_DYNAMODB).toBe(other.dynamoDbEndpoint);
    await other.stop();
    expect(process.env.AWS_ENDPOINT_URL_DYNAMODB).toBe(aws.dynamoDbEndpoint);
    expect(endpointBefore).not.toBe(aws.dynamoDbEndpoint);
  });

  it('leaves nothing in the temporary directories once stopped', async () => {
    // Java's own default is /tmp whatever TMPDIR says; DynamoDB Local unpacks its SQLite library there.
    const javaTemp = '/tmp';
    const nativeLibraries = () => readdirSync(javaTemp).filter((name) => name.includes('sqlite4java'));
    const before = { ours: new Set(readdirSync(tmpdir())), java: new Set(nativeLibraries()) };

    const other = await startLocalAws();
    await other.stop();

    expect(readdirSync(tmpdir()).filter((name) => !before.ours.has(name))).toEqual([]);
    expect(nativeLibraries().filter((name) => !before.java.has(name))).toEqual([]);
  });
});
