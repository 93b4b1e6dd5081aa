import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { ConfigurationError } from '../core/errors.js';
import { OutboxRelay } from '../outbox/outbox-relay.js';
import {
  DEFAULT_SERVICE_NAME,
  defaultSqsClientConfig,
  ENVIRONMENT,
  METRIC,
  METRICS_NAMESPACE,
} from '../runtime-contract.js';

let relay: { readonly relay: OutboxRelay; readonly metrics: Metrics } | undefined;

/** The outbox relay, driven by the outbox table's stream (ReportBatchItemFailures on). */
export const handler = async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
  relay ??= buildRelay();
  const report = await relay.relay.process(event);
  relay.metrics.addMetric(METRIC.outboxDelivered, MetricUnit.Count, report.delivered);
  relay.metrics.addMetric(METRIC.outboxParked, MetricUnit.Count, report.parked);
  relay.metrics.publishStoredMetrics();
  return { batchItemFailures: report.batchItemFailures };
};

function buildRelay() {
  const tableName = process.env[ENVIRONMENT.outboxTableName];
  if (tableName === undefined)
    throw new ConfigurationError(`The relay needs ${ENVIRONMENT.outboxTableName}.`);
  const serviceName = process.env.POWERTOOLS_SERVICE_NAME ?? DEFAULT_SERVICE_NAME;
  return {
    relay: new OutboxRelay({
      sqs: new SQSClient(defaultSqsClientConfig()),
      dynamoDb: DynamoDBDocumentClient.from(new DynamoDBClient({})),
      tableName,
      deadLetterQueueUrl: process.env[ENVIRONMENT.relayDeadLetterQueueUrl],
      logger: new Logger({ serviceName }),
    }),
    metrics: new Metrics({ namespace: METRICS_NAMESPACE, serviceName }),
  };
}
