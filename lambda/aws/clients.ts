import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { REQUEST_TIMEOUTS } from '../contract/defaults.js';

/**
 * How the runtime's own clients wait for AWS. Without a request timeout, a response lost on the network waits for
 * the SDK's 300 s idle-socket timeout, far past the Lambda function timeout. `throwOnRequestTimeout` makes the
 * timeout an error the SDK retries (it only logs a warning otherwise).
 */
export function runtimeRequestHandler() {
  return {
    connectionTimeout: REQUEST_TIMEOUTS.connectionTimeoutMs,
    requestTimeout: REQUEST_TIMEOUTS.requestTimeoutMs,
    throwOnRequestTimeout: true,
  };
}

/**
 * The clients the runtime builds when options give none: one home for how they are configured.
 * When AWS_ENDPOINT_URL_SQS points at an emulator, its queue URLs may name hosts that do not resolve, so requests
 * must go to the configured endpoint, not the URL's host.
 */
export function defaultSqsClient(): SQSClient {
  const endpoint = process.env.AWS_ENDPOINT_URL_SQS;
  return new SQSClient({
    requestHandler: runtimeRequestHandler(),
    ...(endpoint === undefined || endpoint === '' ? {} : { useQueueUrlAsEndpoint: false }),
  });
}

/** A document client that drops undefined attributes, as staged writes built from optional fields need. */
export function defaultDocumentClient(): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(new DynamoDBClient({ requestHandler: runtimeRequestHandler() }), {
    marshallOptions: { removeUndefinedValues: true },
  });
}
