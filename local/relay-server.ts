/**
 * The local outbox relay: a separate OS process that reads the outbox table's stream on DynamoDB Local the way
 * the Lambda DynamoDB Streams event source mapping does, and runs the relay the stack deploys. Its checkpoints go
 * to the parent, so a relay restarted after a kill -9 resumes where the last one had fully finished, sending
 * again what it had sent but not marked.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ENVIRONMENT, OutboxRelay } from 'onceflow';
import { type ParentMessage, SERVER_ENV, type ServerMessage } from './server-protocol.js';
import { StreamPoller } from './stream-poller.js';

const env = process.env;
const tableName = env[ENVIRONMENT.outboxTableName];
if (tableName === undefined) throw new Error(`relay: ${ENVIRONMENT.outboxTableName} is not set`);

function tell(message: ServerMessage): void {
  process.send?.(message);
}

let crashArmed = false;
const rawDynamoDb = new DynamoDBClient({});
const dynamoDb = DynamoDBDocumentClient.from(rawDynamoDb);
// "After send, before mark": the item went to its queue; die before deleting it (and before the checkpoint).
dynamoDb.middlewareStack.add(
  (next, context) => async (args) => {
    if (crashArmed && context.commandName === 'BatchWriteItemCommand') process.kill(process.pid, 'SIGKILL');
    return next(args);
  },
  { step: 'initialize', name: 'crashAfterSend' },
);

const relay = new OutboxRelay({
  // The emulator's queue URLs name a host that does not resolve: always use the configured endpoint.
  sqs: new SQSClient({ useQueueUrlAsEndpoint: false }),
  dynamoDb,
  tableName,
  deadLetterQueueUrl: env[ENVIRONMENT.relayDeadLetterQueueUrl],
  logger: new Logger({ serviceName: 'onceflow-relay' }),
});
const checkpoints: Record<string, string> = JSON.parse(env[SERVER_ENV.relayCheckpoints] ?? '{}');
const poller = new StreamPoller({
  streams: new DynamoDBStreamsClient({}),
  dynamoDb: rawDynamoDb,
  tableName,
  startAfter: checkpoints,
  onCheckpoint: (shardId, sequenceNumber) => tell({ type: 'checkpoint', shardId, sequenceNumber }),
  handler: async (event) => {
    const report = await relay.process(event);
    tell({ type: 'relayed', delivered: report.delivered, parked: report.parked });
    return report;
  },
});

process.on('message', (message: ParentMessage) => {
  if (message.type === 'arm-crash') crashArmed = true;
  if (message.type === 'stop') void poller.stop().then(() => process.exit(0));
});
process.on('disconnect', () => process.exit(0));
// Ctrl-C reaches the whole process group: the parent stops us in order, so the signal itself is ignored.
process.on('SIGINT', () => undefined);
poller.start();
tell({ type: 'ready' });
