import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Duration } from 'aws-cdk-lib';
import type { LedgerTables } from '../lambda/app/ledger.js';
import { ENVIRONMENT } from '../lambda/runtime-contract.js';
import { findTimingViolations } from '../lib/consumer-invariants.js';
import { resolveConsumerSettings } from '../lib/exactly-once-consumer.js';
import { LOCAL_AWS_CONFIG, startDynamoDbLocal } from './dynamodb-local.js';
import { createQueuePair, type QueuePair } from './queues.js';
import { localSqsClient, startSqsLocal } from './sqs-local.js';
import { createClaimsTable, createLedgerTables } from './tables.js';

/**
 * The local stack's consumer settings, derived by the construct's own code from the same defaults, so names,
 * keys, TTL, visibility timeout and redrive agree with what `cdk deploy` creates. Only the times are shorter:
 * one machine has one clock (1 s skew margin), and a 2 s "function timeout" lets takeovers happen in seconds.
 */
export const LOCAL_CONSUMER_SETTINGS = resolveConsumerSettings({
  entry: 'lambda/handlers/ledger.ts',
  functionTimeout: Duration.seconds(2),
  clockSkewMargin: Duration.seconds(1),
});

export interface LocalStackResources {
  readonly dynamoDbEndpoint: string;
  readonly sqsEndpoint: string;
  readonly claimsTableName: string;
  readonly ledgerTables: LedgerTables;
  readonly queues: QueuePair;
  readonly leaseMs: number;
  readonly dedupWindowSeconds: number;
  readonly batchSize: number;
}

export interface LocalStack extends LocalStackResources {
  readonly dynamoDb: DynamoDBDocumentClient;
  readonly sqs: ReturnType<typeof localSqsClient>;
  stop(): Promise<void>;
}

/**
 * Starts DynamoDB Local (in memory) and the SQS emulator on free ports and creates the claims table, the ledger
 * tables, the source queue and its DLQ.
 *
 * @example
 * const stack = await startLocalStack('onceflow');
 * console.log(stack.queues.queueUrl);
 * await stack.stop();
 */
export async function startLocalStack(prefix = 'onceflow'): Promise<LocalStack> {
  const violations = findTimingViolations(LOCAL_CONSUMER_SETTINGS);
  if (violations.length > 0)
    throw new Error(`Local consumer settings are invalid:\n${violations.join('\n')}`);

  const [dynamoDbLocal, sqsLocal] = await Promise.all([startDynamoDbLocal(), startSqsLocal()]);
  const stop = async () => {
    await Promise.all([dynamoDbLocal.stop(), sqsLocal.stop()]);
  };
  try {
    const dynamoDb = DynamoDBDocumentClient.from(
      new DynamoDBClient({ ...LOCAL_AWS_CONFIG, endpoint: dynamoDbLocal.endpoint }),
      { marshallOptions: { removeUndefinedValues: true } },
    );
    const sqs = localSqsClient(sqsLocal.endpoint);
    const settings = LOCAL_CONSUMER_SETTINGS;
    const claimsTableName = `${prefix}-claims`;
    const ledgerTables: LedgerTables = {
      accountsTableName: `${prefix}-accounts`,
      entriesTableName: `${prefix}-entries`,
    };
    await Promise.all([
      createClaimsTable(dynamoDb, claimsTableName),
      createLedgerTables(dynamoDb, ledgerTables),
    ]);
    const queues = await createQueuePair(sqs, `${prefix}-ledger`, {
      fifo: settings.fifo,
      visibilityTimeoutSeconds: settings.visibilityTimeout.toSeconds(),
      retentionPeriodSeconds: settings.retentionPeriod.toSeconds(),
      maxReceiveCount: settings.deadLetterQueue?.maxReceiveCount,
      deadLetterRetentionPeriodSeconds: settings.deadLetterQueue?.retentionPeriod?.toSeconds(),
    });
    return {
      dynamoDbEndpoint: dynamoDbLocal.endpoint,
      sqsEndpoint: sqsLocal.endpoint,
      claimsTableName,
      ledgerTables,
      queues,
      leaseMs: settings.leaseDuration.toMilliseconds(),
      dedupWindowSeconds: settings.dedupWindow.toSeconds(),
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

/** The environment a server process needs: what the CDK construct sets on the function, pointed at this machine. */
export function serverEnvironment(
  stack: LocalStackResources,
  mode: 'lease' | 'optimistic',
): Record<string, string> {
  return {
    [ENVIRONMENT.claimsTableName]: stack.claimsTableName,
    [ENVIRONMENT.deadLetterQueueUrl]: stack.queues.deadLetterQueueUrl,
    [ENVIRONMENT.sourceQueueUrl]: stack.queues.queueUrl,
    [ENVIRONMENT.mode]: mode,
    [ENVIRONMENT.leaseMs]: String(stack.leaseMs),
    [ENVIRONMENT.dedupWindowSeconds]: String(stack.dedupWindowSeconds),
    [ENVIRONMENT.ledgerAccountsTableName]: stack.ledgerTables.accountsTableName,
    [ENVIRONMENT.ledgerEntriesTableName]: stack.ledgerTables.entriesTableName,
    AWS_ENDPOINT_URL_DYNAMODB: stack.dynamoDbEndpoint,
    AWS_ENDPOINT_URL_SQS: stack.sqsEndpoint,
    AWS_REGION: LOCAL_AWS_CONFIG.region,
    AWS_ACCESS_KEY_ID: LOCAL_AWS_CONFIG.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_AWS_CONFIG.credentials.secretAccessKey,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    POWERTOOLS_LOG_LEVEL: 'ERROR',
    POWERTOOLS_METRICS_DISABLED: 'true',
  };
}
