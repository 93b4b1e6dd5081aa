/**
 * One local "server": a separate OS process that polls the source queue the way the Lambda SQS event source
 * mapping does and runs the ledger handler the stack deploys (`exactlyOnce(ledgerHandler())`, configured from the
 * same environment variables). The parent (`local/pipeline.ts`) can arm faults at points of the protocol; the
 * server then kills itself with SIGKILL there, or stops to be frozen as a zombie.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SQSEvent } from 'aws-lambda';
import { type BatchReport, ENVIRONMENT, exactlyOnce, type MessageHandler } from 'onceflow';
import { EventSourcePoller } from 'onceflow/testing';
import {
  APP_ENVIRONMENT,
  readLedgerEnvironment,
  readNotificationsTableName,
} from '../lambda/app/contract.js';
import { ledgerHandler } from '../lambda/app/ledger.js';
import { notificationsHandler } from '../lambda/app/notifications.js';
import { atLeastOnce } from './at-least-once.js';
import {
  type CrashPoint,
  type ParentMessage,
  SERVER_ENV,
  type ServerMessage,
  type Stage,
  summarize,
} from './server-protocol.js';

const env = process.env;
const queueUrl = required(SERVER_ENV.queueUrl);
const queueArn = required(SERVER_ENV.queueArn);

function required(name: string): string {
  const value = env[name];
  if (value === undefined) throw new Error(`server: ${name} is not set`);
  return value;
}

function tell(message: ServerMessage): void {
  process.send?.(message);
}

/** What the parent armed. Each fault fires once, at the first record that reaches its point. */
const armed: { crashAt: CrashPoint | undefined; zombie: boolean } = { crashAt: undefined, zombie: false };
let zombieGo: (() => void) | undefined;

function crashIfArmed(point: CrashPoint): void {
  if (armed.crashAt !== point) return;
  // kill -9 of ourselves: no cleanup, no release, no response, exactly like a host dying.
  process.kill(process.pid, 'SIGKILL');
}

const dynamoDb = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
  marshallOptions: { removeUndefinedValues: true },
});
// The emulator's queue URLs name a host that does not resolve: always use the configured endpoint.
const sqs = new SQSClient({ useQueueUrlAsEndpoint: false });

// "During commit": the transaction has been handed to DynamoDB; die before its answer is read.
dynamoDb.middlewareStack.add(
  (next, context) => async (args) => {
    if (context.commandName !== 'TransactWriteItemsCommand' || armed.crashAt !== 'during-commit')
      return next(args);
    const pending = next(args);
    setTimeout(() => crashIfArmed('during-commit'), 2);
    return pending;
  },
  { step: 'finalizeRequest', name: 'crashDuringCommit' },
);
// "After commit, before the SQS delete": the commit succeeded; die before the poller deletes the batch.
sqs.middlewareStack.add(
  (next, context) => async (args) => {
    if (context.commandName === 'DeleteMessageBatchCommand') crashIfArmed('after-commit');
    return next(args);
  },
  { step: 'initialize', name: 'crashAfterCommit' },
);

const { notificationsQueueUrl, ...ledgerTables } = readLedgerEnvironment(env);
const ledger = ledgerHandler(ledgerTables, { notificationsQueueUrl });
const handler: MessageHandler = async (message, ctx) => {
  crashIfArmed('after-claim');
  await ledger(message, ctx);
  crashIfArmed('after-stage');
  if (armed.zombie) {
    armed.zombie = false;
    // Ask to be frozen (SIGSTOP) past our lease, then resume and try to commit as if nothing happened.
    const resumed = new Promise<void>((resolve) => {
      zombieGo = resolve;
    });
    tell({ type: 'zombie-ready', messageId: message.messageId, fencingToken: ctx.fencingToken });
    await resumed;
  }
};

const unsafeNoDedup = env[SERVER_ENV.unsafeNoDedup] === '1';
const ledgerConsumer = exactlyOnce(handler, { dynamoDb, sqs });
const processLedgerBatch = async (event: SQSEvent): Promise<BatchReport> => {
  if (!unsafeNoDedup) return ledgerConsumer.processBatch(event);
  const response = await atLeastOnce(ledger, dynamoDb, { outboxTableName: env[ENVIRONMENT.outboxTableName] })(
    event,
  );
  const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
  return {
    batchItemFailures: response.batchItemFailures,
    outcomes: event.Records.map((record) => ({
      sqsMessageId: record.messageId,
      messageId: undefined,
      kind: failed.has(record.messageId) ? 'Retried' : 'Processed',
      takeover: false,
    })),
  };
};
// The second stage: notifications from the ledger's outbox, deduplicated by their own Onceflow consumer.
const notificationsConsumer = exactlyOnce(notificationsHandler(readNotificationsTableName(env)), {
  // A pure DynamoDB write with no external side effect: optimistic mode saves the claim request.
  mode: 'optimistic',
  dynamoDb,
  sqs,
  sourceQueueUrl: required(APP_ENVIRONMENT.notificationsQueueUrl),
  deadLetterQueueUrl: required(SERVER_ENV.notificationsDeadLetterQueueUrl),
});

const reporting =
  (stage: Stage, process: (event: SQSEvent) => Promise<BatchReport>) =>
  async (event: SQSEvent): Promise<BatchReport> => {
    const report = await process(event);
    tell({ type: 'batch', stage, ...summarize(report, event, Date.now()) });
    return report;
  };
const batchSize = Number(env[SERVER_ENV.batchSize] ?? 10);
const pollers = [
  new EventSourcePoller({
    sqs,
    queueUrl,
    queueArn,
    batchSize,
    waitTimeSeconds: 1,
    handler: reporting('ledger', processLedgerBatch),
  }),
  new EventSourcePoller({
    sqs,
    queueUrl: required(APP_ENVIRONMENT.notificationsQueueUrl),
    queueArn: required(SERVER_ENV.notificationsQueueArn),
    batchSize,
    waitTimeSeconds: 1,
    handler: reporting('notifications', notificationsConsumer.processBatch),
  }),
];

process.on('message', (message: ParentMessage) => {
  switch (message.type) {
    case 'arm-crash':
      armed.crashAt = message.point;
      break;
    case 'arm-zombie':
      armed.zombie = true;
      break;
    case 'zombie-go':
      zombieGo?.();
      zombieGo = undefined;
      break;
    case 'stop':
      void Promise.all(pollers.map((poller) => poller.stop())).then(() => process.exit(0));
      break;
  }
});
// The parent is gone (even by SIGKILL): never outlive it.
process.on('disconnect', () => process.exit(0));
// Ctrl-C reaches the whole process group: the parent stops us in order, so the signal itself is ignored.
process.on('SIGINT', () => undefined);
setInterval(() => tell({ type: 'memory', rssMb: process.memoryUsage().rss / 2 ** 20 }), 1_000).unref();

for (const poller of pollers) poller.start();
tell({ type: 'ready' });
