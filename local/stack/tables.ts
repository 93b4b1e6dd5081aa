import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createTable } from 'onceflow/testing';
import { LEDGER_KEYS, type LedgerTables, NOTIFICATIONS_KEY } from '../../lambda/app/contract.js';

/** The reference ledger's tables: accounts by accountId, entries by messageId. */
export async function createLedgerTables(dynamoDb: DynamoDBClient, tables: LedgerTables): Promise<void> {
  await Promise.all([
    createTable(dynamoDb, tables.accountsTableName, {
      partitionKey: { name: LEDGER_KEYS.accounts, type: 'S' },
    }),
    createTable(dynamoDb, tables.entriesTableName, {
      partitionKey: { name: LEDGER_KEYS.entries, type: 'S' },
    }),
  ]);
}

/** The notifications stage's table: one item per notification, keyed by its messageId. */
export function createNotificationsTable(dynamoDb: DynamoDBClient, tableName: string): Promise<void> {
  return createTable(dynamoDb, tableName, { partitionKey: { name: NOTIFICATIONS_KEY, type: 'S' } });
}
