import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { inject } from 'vitest';
import { LOCAL_AWS_CONFIG } from '../../local/dynamodb-local.js';
import { createClaimsTable } from '../../local/tables.js';

/** A document client on the run's DynamoDB Local (started by the integration global setup). */
export function localDocumentClient(): DynamoDBDocumentClient {
  const client = new DynamoDBClient({ ...LOCAL_AWS_CONFIG, endpoint: inject('dynamoDbEndpoint') });
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

/** A fresh name, so test files can run in parallel on one DynamoDB Local. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID()}`;
}

export async function newClaimsTable(documentClient: DynamoDBDocumentClient): Promise<string> {
  const tableName = uniqueName('claims');
  await createClaimsTable(documentClient, tableName);
  return tableName;
}
