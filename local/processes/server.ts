/**
 * One local "server": a separate OS process that polls the source queue the way the Lambda SQS event source
 * mapping does and runs the ledger handler the stack deploys (`exactlyOnce(ledgerHandler())`, configured from the
 * same environment variables). It also consumes the second stage, the notifications. The parent
 * (`local/pipeline/fleet.ts`) can arm faults at points of the protocol (see `fault-injection.ts`).
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context, SQSEvent } from 'aws-lambda';
import { type BatchReport, ENVIRONMENT, exactlyOnce, type MessageHandler } from 'onceflow';
import { EventSourcePoller } from 'onceflow/testing';
import {
  APP_ENVIRONMENT,
  readLedgerEnvironment,
  readNotificationsTableName,
} from '../../lambda/app/contract.js';
import { ledgerHandler } from '../../lambda/app/ledger.js';
import { notificationsHandler } from '../../lambda/app/notifications.js';
import { atLeastOnce } from '../support/at-least-once.js';
import {
  injectConfiguredDynamoDbFaults,
  localSqs,
  reportMemory,
  requiredEnv,
  runChild,
  tell,
} from './child.js';
import { ArmedFaults, injectServerFaults } from './fault-injection.js';
import { FUNCTION_TIMEOUT_EXIT_CODE, type PipelineStage, SERVER_ENV, summarize } from './protocol.js';

type ProcessBatch = (event: SQSEvent, context?: Context) => Promise<BatchReport>;

interface Clients {
  readonly dynamoDb: DynamoDBDocumentClient;
  readonly sqs: SQSClient;
}

function required(name: string): string {
  return requiredEnv('server', name);
}

function main(): void {
  const queueUrl = required(SERVER_ENV.queueUrl);
  const queueArn = required(SERVER_ENV.queueArn);
  const faults = new ArmedFaults();
  const clients: Clients = {
    dynamoDb: DynamoDBDocumentClient.from(new DynamoDBClient({}), {
      marshallOptions: { removeUndefinedValues: true },
    }),
    sqs: localSqs(),
  };
  injectServerFaults(faults, clients.dynamoDb, clients.sqs);
  injectConfiguredDynamoDbFaults(clients.dynamoDb);
  const batchSize = Number(process.env[SERVER_ENV.batchSize] ?? 10);
  const functionTimeoutMs = Number(required(SERVER_ENV.functionTimeoutMs));
  const poller = (pollQueueUrl: string, pollQueueArn: string, handler: ProcessBatch) =>
    new EventSourcePoller({
      sqs: clients.sqs,
      queueUrl: pollQueueUrl,
      queueArn: pollQueueArn,
      batchSize,
      waitTimeSeconds: 1,
      handler: withFunctionTimeout(functionTimeoutMs, handler),
    });
  const pollers = [
    poller(queueUrl, queueArn, reporting('ledger', ledgerBatches(faults, clients))),
    poller(
      required(APP_ENVIRONMENT.notificationsQueueUrl),
      required(SERVER_ENV.notificationsQueueArn),
      reporting('notifications', notificationsBatches(clients)),
    ),
  ];
  runChild({
    onMessage: (message) => faults.handle(message),
    start: () => {
      reportMemory();
      for (const each of pollers) each.start();
    },
    stop: () => Promise.all(pollers.map((each) => each.stop())),
  });
}

/** The first stage: the deployed ledger handler with the handler-level crash points and the zombie around it. */
function ledgerBatches(faults: ArmedFaults, { dynamoDb }: Clients): ProcessBatch {
  const { notificationsQueueUrl, ...ledgerTables } = readLedgerEnvironment(process.env);
  const ledger = ledgerHandler(ledgerTables, { notificationsQueueUrl });
  const handler: MessageHandler = async (message, ctx) => {
    faults.crashIfArmed('after-claim');
    await ledger(message, ctx);
    faults.crashIfArmed('after-stage');
    await faults.zombieIfArmed(message.messageId, ctx.fencingToken);
  };
  if (process.env[SERVER_ENV.unsafeNoDedup] !== '1')
    // The runtime's own SQS calls find the emulator as the deployed function finds SQS: from the environment.
    return exactlyOnce(handler, { dynamoDb }).processBatch;
  const unsafe = atLeastOnce(ledger, dynamoDb, { outboxTableName: process.env[ENVIRONMENT.outboxTableName] });
  return async (event) => {
    const response = await unsafe(event);
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
}

/** The second stage: notifications from the ledger's outbox, deduplicated by their own Onceflow consumer. */
function notificationsBatches({ dynamoDb }: Clients): ProcessBatch {
  return exactlyOnce(notificationsHandler(readNotificationsTableName(process.env)), {
    // A pure DynamoDB write with no external side effect: optimistic mode saves the claim request.
    mode: 'optimistic',
    dynamoDb,
    sourceQueueUrl: required(APP_ENVIRONMENT.notificationsQueueUrl),
    deadLetterQueueUrl: required(SERVER_ENV.notificationsDeadLetterQueueUrl),
  }).processBatch;
}

/**
 * Runs each batch as a Lambda invocation with a function timeout: the runtime sees the deadline in its context
 * (ctx.signal fires before it), and a batch still running at the deadline ends the process, as Lambda ends the
 * invocation; the parent restarts it and the batch's records return after their visibility timeout. A process's
 * first batch is only signalled, not ended: it pays for compiling and connecting, which Lambda does in its init
 * phase, outside the function timeout (ending it made every restart on a busy machine end again).
 */
function withFunctionTimeout(timeoutMs: number, processBatch: ProcessBatch): ProcessBatch {
  let warm = false;
  return async (event) => {
    const deadlineMs = Date.now() + timeoutMs;
    const timer = setTimeout(() => {
      if (!warm) return;
      process.stderr.write(
        `batch of ${event.Records.length} still running after ${timeoutMs} ms: timed out\n`,
      );
      process.exit(FUNCTION_TIMEOUT_EXIT_CODE);
    }, timeoutMs);
    try {
      return await processBatch(event, invocationContext(deadlineMs));
    } finally {
      clearTimeout(timer);
      warm = true;
    }
  };
}

/** What Lambda hands a handler about its invocation, for a local one that ends at deadlineMs. */
function invocationContext(deadlineMs: number): Context {
  const unsupported = () => {
    throw new Error('The local servers answer through the returned promise, not the callback API.');
  };
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'onceflow-local',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:onceflow-local',
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: '/aws/lambda/onceflow-local',
    logStreamName: `local/${process.pid}`,
    getRemainingTimeInMillis: () => Math.max(0, deadlineMs - Date.now()),
    done: unsupported,
    fail: unsupported,
    succeed: unsupported,
  };
}

/** Tells the parent what each batch came to. */
function reporting(stage: PipelineStage, processBatch: ProcessBatch): ProcessBatch {
  return async (event, context) => {
    const report = await processBatch(event, context);
    tell({ type: 'batch', stage, ...summarize(report, event, Date.now()) });
    return report;
  };
}

main();
