import {
  CreateTableCommand,
  type DynamoDBClient,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { CLAIMS_TABLE, OUTBOX_TABLE, type TableSchema } from '../lambda/contract/index.js';

/**
 * Creates a table from a schema of the deployment contract, as the CDK construct would: on demand, the same keys,
 * TTL and stream. Waits until it is ACTIVE.
 *
 * @example
 * await createTable(dynamoDb, 'orders', { partitionKey: { name: 'orderId', type: 'S' } });
 */
export async function createTable(
  dynamoDb: DynamoDBClient,
  tableName: string,
  schema: TableSchema,
): Promise<void> {
  const keys = schema.sortKey === undefined ? [schema.partitionKey] : [schema.partitionKey, schema.sortKey];
  await dynamoDb.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: keys.map((key) => ({ AttributeName: key.name, AttributeType: key.type })),
      KeySchema: keys.map((key, index) => ({
        AttributeName: key.name,
        KeyType: index === 0 ? 'HASH' : 'RANGE',
      })),
      ...(schema.stream === undefined
        ? {}
        : { StreamSpecification: { StreamEnabled: true, StreamViewType: schema.stream } }),
    }),
  );
  await waitUntilTableExists(
    { client: dynamoDb, maxWaitTime: 30, minDelay: 0.1, maxDelay: 1 },
    { TableName: tableName },
  );
  if (schema.ttlAttribute !== undefined) {
    await dynamoDb.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: schema.ttlAttribute, Enabled: true },
      }),
    );
  }
}

/** The claims table, as `ExactlyOnceConsumer` creates it. */
export function createClaimsTable(dynamoDb: DynamoDBClient, tableName: string): Promise<void> {
  return createTable(dynamoDb, tableName, CLAIMS_TABLE);
}

/** The outbox table, as the construct's `outbox` creates it (with its stream of new images). */
export function createOutboxTable(dynamoDb: DynamoDBClient, tableName: string): Promise<void> {
  return createTable(dynamoDb, tableName, OUTBOX_TABLE);
}
