import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * The clients the runtime builds when options give none: one home for how they are configured.
 * When AWS_ENDPOINT_URL_SQS points at an emulator, its queue URLs may name hosts that do not resolve, so requests
 * must go to the configured endpoint, not the URL's host.
 */
export function defaultSqsClient(): SQSClient {
  const endpoint = process.env.AWS_ENDPOINT_URL_SQS;
  return new SQSClient(endpoint === undefined || endpoint === '' ? {} : { useQueueUrlAsEndpoint: false });
}

/** A document client that drops undefined attributes, as staged writes built from optional fields need. */
export function defaultDocumentClient(): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(new DynamoDBClient({}), {
    marshallOptions: { removeUndefinedValues: true },
  });
}
