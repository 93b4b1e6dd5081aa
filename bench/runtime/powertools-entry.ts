// The same consumer as Powertools' documentation builds it (BatchProcessor + makeIdempotent on the messageId), bundled
// by the cold-start bench with the same settings as the Onceflow one.
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';

const logger = new Logger();
const dynamoDb = DynamoDBDocumentClient.from(new DynamoDBClient({}));
const persistenceStore = new DynamoDBPersistenceLayer({
  tableName: process.env.IDEMPOTENCY_TABLE ?? 'idempotency',
});
const config = new IdempotencyConfig({ eventKeyJmesPath: 'messageId' });
const processor = new BatchProcessor(EventType.SQS);

const apply = makeIdempotent(
  async (message: { messageId: string; payload: unknown }) => {
    await dynamoDb.send(
      new PutCommand({ TableName: 'effects', Item: { id: message.messageId, payload: message.payload } }),
    );
    logger.debug('applied', { messageId: message.messageId });
  },
  { persistenceStore, config },
);

export const handler = async (event: SQSEvent, context: Context) => {
  config.registerLambdaContext(context);
  return processPartialResponse(event, (record: SQSRecord) => apply(JSON.parse(record.body)), processor, {
    context,
  });
};
