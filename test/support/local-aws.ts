import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AwsRequestSettings } from 'onceflow';
import {
  createClaimsTable,
  LOCAL_AWS_CONFIG,
  localRequestSettings,
  localSqsClient,
  peekMessages,
} from 'onceflow/testing';
import { inject } from 'vitest';

/** A document client on the run's DynamoDB Local (started by the integration global setup). */
export function localDocumentClient(): DynamoDBDocumentClient {
  const client = new DynamoDBClient({ ...LOCAL_AWS_CONFIG, endpoint: inject('dynamoDbEndpoint') });
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

/** A client on the run's SQS emulator. */
export function localSqs(): SQSClient {
  return localSqsClient(inject('sqsEndpoint'));
}

/** The runtime's own SQS calls (parking, visibility) on the test run's emulator. */
export function localSqsSettings(): AwsRequestSettings {
  return localRequestSettings(inject('sqsEndpoint'));
}

/** A fresh name, so test files can run in parallel on one DynamoDB Local and one emulator. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID()}`;
}

export async function newClaimsTable(documentClient: DynamoDBDocumentClient): Promise<string> {
  const tableName = uniqueName('claims');
  await createClaimsTable(documentClient, tableName);
  return tableName;
}

/** Every message on a queue now (and makes them visible again at once, unless `keepHidden`). */
export const drainVisible = peekMessages;
