import {
  CreateTableCommand,
  type DynamoDBClient,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { LEDGER_KEYS, type LedgerTables } from '../lambda/app/ledger.js';
import { CLAIMS_TABLE_PARTITION_KEY, CLAIMS_TABLE_TTL_ATTRIBUTE } from '../lambda/core/claim-record.js';
import { OUTBOX_TABLE } from '../lambda/outbox/outbox.js';

/** Creates the claims table as the CDK construct defines it: on demand, string key messageId, TTL on. */
export async function createClaimsTable(dynamoDb: DynamoDBClient, tableName: string): Promise<void> {
  await createTable(dynamoDb, tableName, CLAIMS_TABLE_PARTITION_KEY);
  await dynamoDb.send(
    new UpdateTimeToLiveCommand({
      TableName: tableName,
      TimeToLiveSpecification: { AttributeName: CLAIMS_TABLE_TTL_ATTRIBUTE, Enabled: true },
    }),
  );
}

/** An on-demand table with one string partition key (and an optional string sort key). */
export async function createTable(
  dynamoDb: DynamoDBClient,
  tableName: string,
  partitionKey: string,
  sortKey?: string,
): Promise<void> {
  const keys = sortKey === undefined ? [partitionKey] : [partitionKey, sortKey];
  await dynamoDb.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: keys.map((name) => ({ AttributeName: name, AttributeType: 'S' })),
      KeySchema: keys.map((name, index) => ({
        AttributeName: name,
        KeyType: index === 0 ? 'HASH' : 'RANGE',
      })),
    }),
  );
  await waitUntilTableExists(
    { client: dynamoDb, maxWaitTime: 30, minDelay: 0.1, maxDelay: 1 },
    { TableName: tableName },
  );
}

/** The reference ledger's tables: accounts by accountId, entries by messageId. */
export async function createLedgerTables(dynamoDb: DynamoDBClient, tables: LedgerTables): Promise<void> {
  await Promise.all([
    createTable(dynamoDb, tables.accountsTableName, LEDGER_KEYS.accounts),
    createTable(dynamoDb, tables.entriesTableName, LEDGER_KEYS.entries),
  ]);
}

/** The outbox table: partition key sourceMessageId, numeric sort key index, stream of new images, TTL on. */
export async function createOutboxTable(dynamoDb: DynamoDBClient, tableName: string): Promise<void> {
  await dynamoDb.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: OUTBOX_TABLE.partitionKey, AttributeType: 'S' },
        { AttributeName: OUTBOX_TABLE.sortKey, AttributeType: 'N' },
      ],
      KeySchema: [
        { AttributeName: OUTBOX_TABLE.partitionKey, KeyType: 'HASH' },
        { AttributeName: OUTBOX_TABLE.sortKey, KeyType: 'RANGE' },
      ],
      StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_IMAGE' },
    }),
  );
  await waitUntilTableExists(
    { client: dynamoDb, maxWaitTime: 30, minDelay: 0.1, maxDelay: 1 },
    { TableName: tableName },
  );
  await dynamoDb.send(
    new UpdateTimeToLiveCommand({
      TableName: tableName,
      TimeToLiveSpecification: { AttributeName: OUTBOX_TABLE.ttlAttribute, Enabled: true },
    }),
  );
}
