/**
 * The local outbox relay: a separate OS process that reads the outbox table's stream on DynamoDB Local the way
 * the Lambda DynamoDB Streams event source mapping does, and runs the relay the stack deploys. Its checkpoints go
 * to the parent, so a relay restarted after a kill -9 resumes where the last one had fully finished, sending
 * again what it had sent but not marked.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ENVIRONMENT, OutboxRelay } from 'onceflow';
import { StreamPoller } from '../stack/stream-poller.js';
import {
  injectConfiguredDynamoDbFaults,
  localSqs,
  reportMemory,
  requiredEnv,
  runChild,
  tell,
} from './child.js';
import { ArmedFaults, injectRelayFaults } from './fault-injection.js';
import { SERVER_ENV } from './protocol.js';

function main(): void {
  const tableName = requiredEnv('relay', ENVIRONMENT.outboxTableName);
  const faults = new ArmedFaults();
  // The relay's own client gets the faults; the poller's (the event source mapping's part) does not.
  const dynamoDb = DynamoDBDocumentClient.from(new DynamoDBClient({}));
  injectRelayFaults(faults, dynamoDb);
  injectConfiguredDynamoDbFaults(dynamoDb);
  const relay = new OutboxRelay({
    sqs: localSqs(),
    dynamoDb,
    tableName,
    deadLetterQueueUrl: process.env[ENVIRONMENT.relayDeadLetterQueueUrl],
    logger: new Logger({ serviceName: 'onceflow-relay' }),
  });
  const checkpoints: Record<string, string> = JSON.parse(process.env[SERVER_ENV.relayCheckpoints] ?? '{}');
  const poller = new StreamPoller({
    streams: new DynamoDBStreamsClient({}),
    dynamoDb: new DynamoDBClient({}),
    tableName,
    startAfter: checkpoints,
    onCheckpoint: (shardId, sequenceNumber) => tell({ type: 'checkpoint', shardId, sequenceNumber }),
    onShards: (shardIds) => tell({ type: 'shards', shardIds }),
    handler: async (event) => {
      const report = await relay.process(event);
      tell({ type: 'relayed', delivered: report.delivered, parked: report.parked });
      return report;
    },
  });
  runChild({
    onMessage: (message) => faults.handle(message),
    start: () => {
      reportMemory();
      poller.start();
    },
    stop: () => poller.stop(),
  });
}

main();
