import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { ConfigurationError } from '../core/errors.js';
import { OutboxRelay } from '../outbox/outbox-relay.js';
import { DEFAULT_SERVICE_NAME, defaultSqsClientConfig, ENVIRONMENT } from '../runtime-contract.js';

let relay: OutboxRelay | undefined;

/** The outbox relay, driven by the outbox table's stream (ReportBatchItemFailures on). */
export const handler = async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
  relay ??= buildRelay();
  const { batchItemFailures } = await relay.process(event);
  return { batchItemFailures };
};

function buildRelay(): OutboxRelay {
  const tableName = process.env[ENVIRONMENT.outboxTableName];
  if (tableName === undefined)
    throw new ConfigurationError(`The relay needs ${ENVIRONMENT.outboxTableName}.`);
  return new OutboxRelay({
    sqs: new SQSClient(defaultSqsClientConfig()),
    dynamoDb: DynamoDBDocumentClient.from(new DynamoDBClient({})),
    tableName,
    deadLetterQueueUrl: process.env[ENVIRONMENT.relayDeadLetterQueueUrl],
    logger: new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? DEFAULT_SERVICE_NAME }),
  });
}
