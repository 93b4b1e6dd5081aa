import {
  EventType,
  BatchProcessor as PowertoolsBatchProcessor,
  processPartialResponse,
} from '@aws-lambda-powertools/batch';
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { EmfMetrics, exactlyOnce, METRICS_NAMESPACE, type MessageHandler, type SqsSettings } from 'onceflow';
import { LOCAL_AWS_CONFIG } from 'onceflow/testing';
import { type LedgerTables, ledgerWrites, readPayment } from '../../lambda/app/ledger.js';
import { type OnceflowMessage, readMessage } from '../../lambda/sqs/wire-format.js';
import { atLeastOnce } from '../../local/support/at-least-once.js';

/** Onceflow's lease in the bench; crash scenarios move an injected clock past it. */
export const BENCH_LEASE_MS = 60_000;

/** What one container did with one batch. */
export interface ContainerResult {
  /** SQS messageIds of the records that go back to the queue. */
  readonly failedSqsMessageIds: readonly string[];
  /** Per-record outcomes in the system's own words (Onceflow's outcome kinds, Powertools' error names, ...). */
  readonly outcomes: Readonly<Record<string, number>>;
}

/** One warm Lambda container of a system: its caches and clients live as long as the container. */
export type Container = (event: SQSEvent) => Promise<ContainerResult>;

export interface ContainerOptions {
  /** Onceflow's clock (epoch ms); crash scenarios move it past the lease. @default Date.now */
  readonly clock?: () => number;
  /** What the fake Lambda context says is left; Powertools' in-progress expiry follows it. @default 60_000 */
  readonly remainingTimeMs?: number;
  /** An external side effect the handler performs before its writes (an HTTP call, in real life). */
  readonly sideEffect?: (messageId: string) => Promise<void>;
  /**
   * Onceflow answers every duplicate from the claims table, never from the container's DONE cache: what a
   * container that lives for many batches meets at scale, where another container applied the original (see
   * `meteredColdMixed`). @default false
   */
  readonly coldDuplicates?: boolean;
}

/** The handler with the container's external side effect run first, when it has one. */
export function withSideEffect(handler: MessageHandler, options: ContainerOptions): MessageHandler {
  const { sideEffect } = options;
  if (sideEffect === undefined) return handler;
  return async (message, ctx) => {
    await sideEffect(message.messageId);
    await handler(message, ctx);
  };
}

/**
 * Onceflow's consumer with the bench's lease and injected clock; its outcomes counted by kind. Every other setting is
 * the default a user deploys with: in lease mode, readBeforeClaim 'auto' reads a batch before claiming only while the
 * container's recent deliveries hold more than 10% cold duplicates.
 */
export function onceflowContainer(
  handler: MessageHandler,
  options: {
    tableName: string;
    documentClient: DynamoDBDocumentClient;
    mode: 'lease' | 'optimistic';
    clock: (() => number) | undefined;
    coldDuplicates?: boolean;
  },
): Container {
  const cold = options.coldDuplicates === true;
  // storeResult is the runtime's one switch past the DONE cache (a stored result is on the record, so duplicates
  // read the record). The handler then returns nothing: nothing is stored, and every request is the default's.
  const consumer = exactlyOnce(cold ? returningNothing(handler) : handler, {
    tableName: options.tableName,
    dynamoDb: options.documentClient,
    sqs: offlineSqs(),
    mode: options.mode,
    leaseMs: BENCH_LEASE_MS,
    clock: options.clock,
    storeResult: cold,
    logger: new Logger({ logLevel: 'SILENT' }),
    // The runtime's EMF documents are built as deployed; only their line on stdout is dropped, to keep the
    // bench's output readable (Powertools' consumer emits no metrics).
    metrics: new EmfMetrics({ namespace: METRICS_NAMESPACE, serviceName: 'bench', write: () => undefined }),
  });
  return async (event) => {
    const report = await consumer.processBatch(event);
    const outcomes: Record<string, number> = {};
    for (const outcome of report.outcomes) {
      const kind = outcome.cached === true ? `${outcome.kind} (cached)` : outcome.kind;
      outcomes[kind] = (outcomes[kind] ?? 0) + 1;
      if (outcome.takeover) outcomes.Takeover = (outcomes.Takeover ?? 0) + 1;
    }
    return {
      failedSqsMessageIds: report.batchItemFailures.map((failure) => failure.itemIdentifier),
      outcomes,
    };
  };
}

/** The handler, with whatever it returns dropped. */
function returningNothing(handler: MessageHandler): MessageHandler {
  return async (message, ctx) => {
    await handler(message, ctx);
  };
}

/**
 * Powertools as its documentation shows it for SQS batches: BatchProcessor + processPartialResponse, a record
 * handler made idempotent with makeIdempotent on the body's messageId, registerLambdaContext on every invocation,
 * and the handler's writes applied inside the idempotent function as one TransactWriteItems.
 */
export function powertoolsContainer(options: {
  tables: LedgerTables;
  sideEffect: ((messageId: string) => Promise<void>) | undefined;
  tableName: string;
  dynamoDb: DynamoDBClient;
  documentClient: DynamoDBDocumentClient;
  remainingTimeMs: number;
}): Container {
  const persistenceStore = new DynamoDBPersistenceLayer({
    tableName: options.tableName,
    awsSdkV3Client: options.dynamoDb,
  });
  const config = new IdempotencyConfig({ eventKeyJmesPath: 'messageId' });
  const applyPayment = makeIdempotent(
    async (message: OnceflowMessage): Promise<boolean> => {
      await options.sideEffect?.(message.messageId);
      await options.documentClient.send(
        new TransactWriteCommand({ TransactItems: powertoolsLedgerWrites(options.tables, message) }),
      );
      return true;
    },
    { persistenceStore, config, keyPrefix: 'onceflow-bench' },
  );
  const processor = new PowertoolsBatchProcessor(EventType.SQS);
  const context = fakeLambdaContext(options.remainingTimeMs);
  return async (event) => {
    const errors: Record<string, number> = {};
    const recordHandler = async (record: SQSRecord): Promise<boolean> => {
      try {
        return await applyPayment(readMessage(record));
      } catch (error) {
        const name = error instanceof Error ? error.name : 'Error';
        errors[name] = (errors[name] ?? 0) + 1;
        throw error;
      }
    };
    config.registerLambdaContext(context);
    let failedSqsMessageIds: string[];
    try {
      const response = await processPartialResponse(event, recordHandler, processor, { context });
      failedSqsMessageIds = response.batchItemFailures.map((failure) => failure.itemIdentifier);
    } catch {
      // Every record failed: Powertools throws FullBatchFailureError and Lambda returns the whole batch.
      failedSqsMessageIds = event.Records.map((record) => record.messageId);
    }
    const succeeded = event.Records.length - failedSqsMessageIds.length;
    return { failedSqsMessageIds, outcomes: succeeded > 0 ? { ...errors, Succeeded: succeeded } : errors };
  };
}

/** The ledger's two writes, as a Powertools user writes them inside the idempotent function: the same effects. */
function powertoolsLedgerWrites(tables: LedgerTables, message: OnceflowMessage) {
  const { creditAccount, appendEntry } = ledgerWrites(tables, message, readPayment(message.payload), 0);
  return [{ Update: creditAccount }, { Put: appendEntry }];
}

/** The handler's writes applied on every delivery, duplicates included: the floor with no dedup. */
export function rawContainer(handler: MessageHandler, documentClient: DynamoDBDocumentClient): Container {
  const consumer = atLeastOnce(handler, documentClient);
  return async (event) => {
    const { batchItemFailures } = await consumer(event);
    const applied = event.Records.length - batchItemFailures.length;
    return {
      failedSqsMessageIds: batchItemFailures.map((failure) => failure.itemIdentifier),
      outcomes: {
        Applied: applied,
        ...(batchItemFailures.length > 0 ? { Failed: batchItemFailures.length } : {}),
      },
    };
  };
}

/**
 * There is no queue at handler level: SQS calls (a visibility change for a record in flight elsewhere) are answered
 * here without leaving the process, so they cost nothing and never reach a real endpoint.
 */
export function offlineSqs(): SqsSettings {
  return {
    ...LOCAL_AWS_CONFIG,
    endpoint: 'http://127.0.0.1:9',
    requestHandler: {
      handle: async () => ({ response: { statusCode: 200, headers: {}, body: Buffer.from('{}') } }),
      updateHttpClientConfig: () => undefined,
      httpHandlerConfigs: () => ({}),
    },
  };
}

/** A Lambda context whose remaining time never runs down: Powertools reads it for the in-progress expiry. */
export function fakeLambdaContext(remainingTimeMs: number): Context {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: 'onceflow-bench',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:onceflow-bench',
    memoryLimitInMB: '512',
    awsRequestId: 'bench',
    logGroupName: '/aws/lambda/onceflow-bench',
    logStreamName: 'bench',
    getRemainingTimeInMillis: () => remainingTimeMs,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
