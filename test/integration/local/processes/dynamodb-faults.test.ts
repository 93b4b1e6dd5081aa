import { randomUUID } from 'node:crypto';
import { DynamoDBClient, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { createTable, LOCAL_AWS_CONFIG } from 'onceflow/testing';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { injectDynamoDbFaults } from '../../../../local/processes/dynamodb-faults.js';
import type { DynamoDbFaultKind } from '../../../../local/processes/protocol.js';
import { seededRandom } from '../../../../local/support/random.js';

const tableName = `faults-${randomUUID()}`;

function client(kinds: readonly DynamoDbFaultKind[], faults: DynamoDbFaultKind[] = []) {
  const dynamoDb = DynamoDBDocumentClient.from(
    new DynamoDBClient({ ...LOCAL_AWS_CONFIG, endpoint: inject('dynamoDbEndpoint') }),
  );
  injectDynamoDbFaults(dynamoDb, {
    rate: 1,
    kinds,
    random: seededRandom(1),
    onFault: (kind) => faults.push(kind),
  });
  return dynamoDb;
}

const plain = () =>
  DynamoDBDocumentClient.from(
    new DynamoDBClient({ ...LOCAL_AWS_CONFIG, endpoint: inject('dynamoDbEndpoint') }),
  );

async function stored(id: string) {
  const { Item } = await plain().send(
    new GetCommand({ TableName: tableName, Key: { id }, ConsistentRead: true }),
  );
  return Item;
}

beforeAll(async () => {
  await createTable(plain(), tableName, { partitionKey: { name: 'id', type: 'S' } });
});

describe('DynamoDB fault injection', () => {
  it('loses the response of a write DynamoDB applied: the caller gets a timeout, the item is there', async () => {
    const faults: DynamoDbFaultKind[] = [];
    const put = client(['lost-response'], faults).send(
      new PutCommand({ TableName: tableName, Item: { id: 'lost-1', value: 1 } }),
    );

    await expect(put).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(await stored('lost-1')).toEqual({ id: 'lost-1', value: 1 });
    expect(faults).toEqual(['lost-response']);
  });

  it('cancels a transaction with one TransactionConflict reason per item and applies nothing', async () => {
    const error = await client(['conflict'])
      .send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: { TableName: tableName, Item: { id: 'tx-1' } } },
            { Put: { TableName: tableName, Item: { id: 'tx-2' } } },
          ],
        }),
      )
      .catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(TransactionCanceledException);
    const reasons = error instanceof TransactionCanceledException ? error.CancellationReasons : undefined;
    expect(reasons?.map((reason) => reason.Code).sort()).toEqual(['None', 'TransactionConflict']);
    expect(await stored('tx-1')).toBeUndefined();
  });

  it('injects conflicts only into transactions', async () => {
    const faults: DynamoDbFaultKind[] = [];
    await client(['conflict'], faults).send(
      new PutCommand({ TableName: tableName, Item: { id: 'plain-1' } }),
    );

    expect(await stored('plain-1')).toEqual({ id: 'plain-1' });
    expect(faults).toEqual([]);
  });

  it.each([
    [['throttle'] as const, ['ProvisionedThroughputExceededException', 'ThrottlingException']],
    [['server-error'] as const, ['InternalServerError', 'InternalServerError']],
  ])(
    'fails %s before the request is sent, past the SDK retries, with DynamoDB error names',
    async (kinds, names) => {
      const dynamoDb = client(kinds);
      const errors = [];
      for (const id of ['refused-1', 'refused-2']) {
        errors.push(
          await dynamoDb
            .send(new PutCommand({ TableName: tableName, Item: { id } }))
            .catch((e: unknown) => e),
        );
      }

      expect(errors.map((error) => (error instanceof Error ? error.name : error))).toEqual(names);
      expect(
        errors.map((error) => (error instanceof Error && '$metadata' in error ? error.$metadata : {})),
      ).toEqual([expect.objectContaining({ attempts: 1 }), expect.objectContaining({ attempts: 1 })]);
      expect(await stored('refused-1')).toBeUndefined();
    },
  );
});
