import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { CreateQueueCommand } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Duration } from 'aws-cdk-lib';
import { toConsumerEnvironment, toRelayEnvironment } from 'onceflow';
import { findTimingViolations, resolveConsumerSettings } from 'onceflow/cdk';
import {
  createClaimsTable,
  createOutboxTable,
  createQueuePair,
  LOCAL_AWS_CONFIG,
  localS3Client,
  localSqsClient,
  type QueuePair,
  startDynamoDbLocal,
  startSqsLocal,
} from 'onceflow/testing';
import { APP_ENVIRONMENT, type LedgerTables } from '../../lambda/app/contract.js';
import { createLedgerTables, createNotificationsTable } from './tables.js';

/** The servers' "function timeout" in `npm start`; a soak sets its own. */
export const DEFAULT_LOCAL_FUNCTION_TIMEOUT_SECONDS = 5;

/**
 * The local stack's consumer settings, derived by the construct's own code from the same defaults, so names,
 * keys, TTL, visibility timeout and redrive agree with what `cdk deploy` creates. Only the times are shorter:
 * one machine has one clock (1 s skew margin), and a 5 s "function timeout" lets takeovers happen in seconds while
 * leaving a batch on a busy 2-core machine room to finish (its first batch after a restart, still compiling, takes
 * seconds; a 2 s timeout ended most of them). The visibility timeout follows: 6 x the function timeout.
 */
export function localConsumerSettings(functionTimeoutSeconds = DEFAULT_LOCAL_FUNCTION_TIMEOUT_SECONDS) {
  return resolveConsumerSettings({
    functionTimeout: Duration.seconds(functionTimeoutSeconds),
    clockSkewMargin: Duration.seconds(1),
  });
}

export interface LocalStackOptions {
  /** Table and queue name prefix. @default 'onceflow' */
  readonly prefix?: string;
  /** The servers' "function timeout"; the lease and the visibility timeout follow from it. @default 5 */
  readonly functionTimeoutSeconds?: number;
  /** Tune DynamoDB Local for a run of an hour or more (a soak). @default false */
  readonly longRunning?: boolean;
  /** DynamoDB Local's JVM options instead of the testing kit's choice (the bench compares them). */
  readonly dynamoDbJvmOptions?: readonly string[];
}

export interface LocalStackResources {
  readonly dynamoDbEndpoint: string;
  readonly sqsEndpoint: string;
  readonly claimsTableName: string;
  readonly ledgerTables: LedgerTables;
  readonly queues: QueuePair;
  /** Second stage: the ledger's outbox, its relay's DLQ, and the notifications consumer's queue and table. */
  readonly outboxTableName: string;
  readonly relayDeadLetterQueueUrl: string;
  readonly notificationsQueues: QueuePair;
  readonly notificationsTableName: string;
  readonly leaseMs: number;
  /** How long a server gives one batch before it stops, as Lambda's function timeout does. */
  readonly functionTimeoutMs: number;
  readonly maxReceiveCount: number | undefined;
  readonly visibilityTimeoutSeconds: number;
  readonly dedupWindowSeconds: number;
  readonly batchSize: number;
  /** The emulator's S3 bucket where large payloads' chunks go (fauxqs serves S3 on the SQS endpoint). */
  readonly payloadBucket: string;
}

export interface LocalStack extends LocalStackResources {
  readonly dynamoDb: DynamoDBDocumentClient;
  readonly sqs: ReturnType<typeof localSqsClient>;
  stop(): Promise<void>;
}

/**
 * Starts DynamoDB Local (in memory) and the SQS emulator on free ports and creates the claims table, the ledger
 * tables, the source queue and its DLQ, and the second stage: the outbox table (with its stream), the relay's DLQ,
 * the notifications queue with its DLQ, and the notifications table.
 *
 * @example
 * const stack = await startLocalStack({ prefix: 'onceflow' });
 * console.log(stack.queues.queueUrl);
 * await stack.stop();
 */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const prefix = options.prefix ?? 'onceflow';
  const settings = localConsumerSettings(options.functionTimeoutSeconds);
  const violations = findTimingViolations(settings);
  if (violations.length > 0)
    throw new Error(`Local consumer settings are invalid:\n${violations.join('\n')}`);

  const [dynamoDbLocal, sqsLocal] = await Promise.all([
    startDynamoDbLocal({ longRunning: options.longRunning, jvmOptions: options.dynamoDbJvmOptions }),
    startSqsLocal(),
  ]);
  const stop = async () => {
    await Promise.all([dynamoDbLocal.stop(), sqsLocal.stop()]);
  };
  try {
    const dynamoDb = DynamoDBDocumentClient.from(
      new DynamoDBClient({ ...LOCAL_AWS_CONFIG, endpoint: dynamoDbLocal.endpoint }),
      { marshallOptions: { removeUndefinedValues: true } },
    );
    const sqs = localSqsClient(sqsLocal.endpoint);
    const tables = await createTables(dynamoDb, prefix);
    const queues = await createQueues(sqs, prefix, settings);
    const payloadBucket = `${prefix}-payloads`;
    const s3 = localS3Client(sqsLocal.endpoint);
    await s3.send(new CreateBucketCommand({ Bucket: payloadBucket }));
    s3.destroy();
    return {
      payloadBucket,
      dynamoDbEndpoint: dynamoDbLocal.endpoint,
      sqsEndpoint: sqsLocal.endpoint,
      ...tables,
      ...queues,
      leaseMs: settings.leaseDuration.toMilliseconds(),
      dedupWindowSeconds: settings.dedupWindow.toSeconds(),
      functionTimeoutMs: settings.functionTimeout.toMilliseconds(),
      maxReceiveCount: settings.deadLetterQueue?.maxReceiveCount,
      visibilityTimeoutSeconds: settings.visibilityTimeout.toSeconds(),
      batchSize: settings.batchSize,
      dynamoDb,
      sqs,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function createTables(dynamoDb: DynamoDBDocumentClient, prefix: string) {
  const claimsTableName = `${prefix}-claims`;
  const ledgerTables: LedgerTables = {
    accountsTableName: `${prefix}-accounts`,
    entriesTableName: `${prefix}-entries`,
  };
  const outboxTableName = `${prefix}-outbox`;
  const notificationsTableName = `${prefix}-notifications`;
  await Promise.all([
    createClaimsTable(dynamoDb, claimsTableName),
    createLedgerTables(dynamoDb, ledgerTables),
    createOutboxTable(dynamoDb, outboxTableName),
    createNotificationsTable(dynamoDb, notificationsTableName),
  ]);
  return { claimsTableName, ledgerTables, outboxTableName, notificationsTableName };
}

async function createQueues(
  sqs: LocalStack['sqs'],
  prefix: string,
  settings: ReturnType<typeof localConsumerSettings>,
) {
  const queueSettings = {
    fifo: settings.fifo,
    visibilityTimeoutSeconds: settings.visibilityTimeout.toSeconds(),
    retentionPeriodSeconds: settings.retentionPeriod.toSeconds(),
    maxReceiveCount: settings.deadLetterQueue?.maxReceiveCount,
    deadLetterRetentionPeriodSeconds: settings.deadLetterQueue?.retentionPeriod?.toSeconds(),
  };
  const queues = await createQueuePair(sqs, `${prefix}-ledger`, queueSettings);
  const notificationsQueues = await createQueuePair(sqs, `${prefix}-notifications`, queueSettings);
  const { QueueUrl: relayDeadLetterQueueUrl } = await sqs.send(
    new CreateQueueCommand({ QueueName: `${prefix}-relay-dlq` }),
  );
  if (relayDeadLetterQueueUrl === undefined) throw new Error('CreateQueue returned no URL for the relay DLQ');
  return { queues, notificationsQueues, relayDeadLetterQueueUrl };
}

/** The environment a server process needs: what the CDK construct sets on the function, pointed at this machine. */
export function serverEnvironment(
  stack: LocalStackResources,
  mode: 'lease' | 'optimistic',
): Record<string, string> {
  return {
    ...toConsumerEnvironment({
      claimsTableName: stack.claimsTableName,
      deadLetterQueueUrl: stack.queues.deadLetterQueueUrl,
      sourceQueueUrl: stack.queues.queueUrl,
      mode,
      leaseMs: stack.leaseMs,
      dedupWindowSeconds: stack.dedupWindowSeconds,
      outboxTableName: stack.outboxTableName,
      serviceName: 'onceflow',
      maxReceiveCount: stack.maxReceiveCount,
      visibilityTimeoutSeconds: stack.visibilityTimeoutSeconds,
    }),
    ...toRelayEnvironment({
      outboxTableName: stack.outboxTableName,
      relayDeadLetterQueueUrl: stack.relayDeadLetterQueueUrl,
      serviceName: 'onceflow',
    }),
    [APP_ENVIRONMENT.ledgerAccountsTableName]: stack.ledgerTables.accountsTableName,
    [APP_ENVIRONMENT.ledgerEntriesTableName]: stack.ledgerTables.entriesTableName,
    [APP_ENVIRONMENT.notificationsQueueUrl]: stack.notificationsQueues.queueUrl,
    [APP_ENVIRONMENT.notificationsTableName]: stack.notificationsTableName,
    AWS_ENDPOINT_URL_DYNAMODB: stack.dynamoDbEndpoint,
    AWS_ENDPOINT_URL_DYNAMODB_STREAMS: stack.dynamoDbEndpoint,
    AWS_ENDPOINT_URL_SQS: stack.sqsEndpoint,
    AWS_ENDPOINT_URL_S3: stack.sqsEndpoint,
    AWS_REGION: LOCAL_AWS_CONFIG.region,
    AWS_ACCESS_KEY_ID: LOCAL_AWS_CONFIG.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_AWS_CONFIG.credentials.secretAccessKey,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    // Warnings too (retries, zombies, parks): the run's log is where a failed audit is explained.
    POWERTOOLS_LOG_LEVEL: 'WARN',
    POWERTOOLS_METRICS_DISABLED: 'true',
  };
}
