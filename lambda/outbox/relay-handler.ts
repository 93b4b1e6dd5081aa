import { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { defaultDocumentClient, defaultSqsClient } from '../aws/clients.js';
import { EmfMetrics } from '../aws/emf-metrics.js';
import {
  type EnvironmentVariables,
  METRIC,
  METRICS_NAMESPACE,
  readRelayEnvironment,
} from '../contract/index.js';
import { OutboxRelay } from './outbox-relay.js';

/**
 * The outbox relay as a Lambda handler on the outbox table's stream (ReportBatchItemFailures on). Configured from
 * the environment the construct sets, read once, at the first invocation.
 *
 * @example
 * export const handler = outboxRelayHandler();
 */
export function outboxRelayHandler(
  env: EnvironmentVariables = process.env,
): (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse> {
  let built: { readonly relay: OutboxRelay; readonly metrics: EmfMetrics } | undefined;
  return async (event) => {
    built ??= buildRelay(env);
    const { relay, metrics } = built;
    const report = await relay.process(event);
    metrics.addMetric(METRIC.outboxDelivered, 'Count', report.delivered);
    metrics.addMetric(METRIC.outboxParked, 'Count', report.parked);
    metrics.publishStoredMetrics();
    return { batchItemFailures: report.batchItemFailures };
  };
}

function buildRelay(env: EnvironmentVariables) {
  const settings = readRelayEnvironment(env);
  return {
    relay: new OutboxRelay({
      sqs: defaultSqsClient(),
      dynamoDb: defaultDocumentClient(),
      tableName: settings.outboxTableName,
      deadLetterQueueUrl: settings.relayDeadLetterQueueUrl,
      logger: new Logger({ serviceName: settings.serviceName }),
    }),
    metrics: new EmfMetrics({ namespace: METRICS_NAMESPACE, serviceName: settings.serviceName }),
  };
}
