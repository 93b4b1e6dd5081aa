import type { SQSRecord } from 'aws-lambda';
import { type ProcessingMode, QUEUE_DEFAULTS, RUNTIME_DEFAULTS } from '../lambda/contract/index.js';
import type { StagedWrite } from '../lambda/core/staged-writes.js';
import { BatchProcessor, type BatchProcessorDependencies } from '../lambda/sqs/batch-processor.js';
import { createDoneCache } from '../lambda/sqs/done-cache.js';
import type { ExactlyOnceHandler, ExactlyOnceOptions } from '../lambda/sqs/exactly-once.js';
import type { MessageHandler, RecordOutcome } from '../lambda/sqs/handler-contract.js';
import { validatingHandler } from '../lambda/sqs/payload-schema.js';
import { withEnvironment } from './environment.js';
import { MemoryClaimStore } from './memory-claim-store.js';
import type { ParkedMessage } from './parked-message.js';
import { settledOutcomes } from './settled.js';
import { type InMemoryMessage, sqsRecord } from './sqs-event.js';

export interface RunInMemoryOptions {
  /** @default the handler's options.mode, else 'lease' (the environment is not read) */
  readonly mode?: ProcessingMode;
  /**
   * Pass one to share claims between runs: a second run sees the first one's DONE records.
   * @default a new MemoryClaimStore on the run's clock, with the handler's leaseMs and dedupWindowSeconds
   */
  readonly store?: MemoryClaimStore;
  /** Deliveries of one SQS message before it counts as exhausted (SQS redrive to the DLQ). @default 10 */
  readonly maxReceives?: number;
  /** Records per invocation. @default 10 */
  readonly batchSize?: number;
  /** Epoch milliseconds. @default the store's clock, else the handler's options.clock, else Date.now */
  readonly clock?: () => number;
  /**
   * The table ctx.outbox stages its items in: in memory they are recorded with the other staged writes.
   * @default the handler's options.outboxTableName, else 'outbox'
   */
  readonly outboxTableName?: string;
  /**
   * Variables set in process.env while the run executes, as the construct's `environment` prop sets them on the
   * function (your own table names). Restored afterwards.
   * @default - none
   */
  readonly environment?: Readonly<Record<string, string>>;
}

export type { ParkedMessage } from './parked-message.js';

export interface InMemoryRun {
  /** Every delivery's outcome, in order of delivery. */
  readonly outcomes: readonly RecordOutcome[];
  /** The outcome that settled each message (see `settledOutcomes`): Processed or Parked if it was, else its last. */
  readonly final: ReadonlyMap<string, RecordOutcome>;
  readonly parked: readonly ParkedMessage[];
  /**
   * messageIds (SQS message ids when there is none) of SQS messages still unacknowledged after maxReceives
   * deliveries: SQS redrive would move them to the DLQ. One entry per SQS message, so a copy sent twice can
   * appear twice.
   */
  readonly exhausted: readonly string[];
  readonly store: MemoryClaimStore;
  /** The staged writes that committed with messageId's DONE record; undefined when it never committed. */
  committed(messageId: string): readonly StagedWrite[] | undefined;
  /** Records delivered, counting redeliveries. */
  readonly deliveries: number;
  /** Invocations of the processor. */
  readonly batches: number;
}

/** One SQS message on the in-memory queue. */
interface Delivery<Payload> {
  readonly message: InMemoryMessage<Payload>;
  readonly sqsMessageId: string;
  readonly receiveCount: number;
}

/** Metrics nobody reads: a unit test asserts outcomes, and nothing may print EMF lines. */
const discardedMetrics: BatchProcessorDependencies['metrics'] = {
  addMetric: () => undefined,
  publishStoredMetrics: () => undefined,
};

const silentLogger: BatchProcessorDependencies['logger'] = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/**
 * Runs a handler over the messages with no server: through the real BatchProcessor, against a
 * MemoryClaimStore, an in-memory DLQ and an in-memory queue that redelivers what was not acknowledged
 * (Retried, InFlight, ZombieRejected) in the next batch with its receive count + 1, until every message is
 * acknowledged or has been delivered maxReceives times. One processor serves every batch, like one warm
 * Lambda container.
 *
 * Staged writes are recorded, not executed, and their conditions are not evaluated (see MemoryClaimStore);
 * time moves only as the clock does, so a message InFlight under another live lease stays so until the clock
 * passes it. A ConfigurationError (ctx.outbox without an outbox table, say) rejects the run, as it fails the
 * invocation.
 *
 * @example
 * const handler = exactlyOnce<Order>(async (message, ctx) => {
 *   ctx.tx.put({ TableName: 'orders', Item: { orderId: message.messageId, ...message.payload } });
 * });
 * const run = await runInMemory(handler, [
 *   { messageId: 'order-42', payload: { amountCents: 500 } },
 *   { messageId: 'order-42', payload: { amountCents: 500 } },
 * ]);
 * expect(run.final.get('order-42')?.kind).toBe('Processed');
 * expect(run.committed('order-42')).toHaveLength(1);
 */
export function runInMemory<Payload>(
  handler: MessageHandler<Payload>,
  messages: readonly InMemoryMessage<Payload>[],
  options?: RunInMemoryOptions,
): Promise<InMemoryRun>;
/** The same, for the handler `exactlyOnce` returned: its message handler, with its mode, lease and window. */
export function runInMemory<Payload>(
  handler: ExactlyOnceHandler<Payload>,
  messages: readonly InMemoryMessage<Payload>[],
  options?: RunInMemoryOptions,
): Promise<InMemoryRun>;
// Overloads, not one union parameter, so an inline handler's (message, ctx) get their types.
export async function runInMemory<Payload>(
  handler: ExactlyOnceHandler<Payload> | MessageHandler<Payload>,
  messages: readonly InMemoryMessage<Payload>[],
  options: RunInMemoryOptions = {},
): Promise<InMemoryRun> {
  return withEnvironment(options.environment ?? {}, () => run(handler, messages, options));
}

async function run<Payload>(
  handler: ExactlyOnceHandler<Payload> | MessageHandler<Payload>,
  messages: readonly InMemoryMessage<Payload>[],
  options: RunInMemoryOptions,
): Promise<InMemoryRun> {
  const { messageHandler, handlerOptions } = unwrap(handler);
  const maxReceives = positiveInteger('maxReceives', options.maxReceives ?? QUEUE_DEFAULTS.maxReceiveCount);
  const batchSize = positiveInteger('batchSize', options.batchSize ?? 10);
  const clock = options.clock ?? options.store?.clock ?? handlerOptions.clock ?? Date.now;
  const store =
    options.store ??
    new MemoryClaimStore({
      clock,
      leaseMs: handlerOptions.leaseMs,
      dedupWindowSeconds: handlerOptions.dedupWindowSeconds,
    });
  const dlq: Omit<ParkedMessage, 'messageId'>[] = [];
  const processor = new BatchProcessor({
    store,
    handler:
      handlerOptions.schema === undefined
        ? wireHandler(messageHandler)
        : validatingHandler(handlerOptions.schema, wireHandler(messageHandler)),
    source: handlerOptions.source,
    payloadMismatch: handlerOptions.payloadMismatch,
    storeResult: handlerOptions.storeResult,
    mode: options.mode ?? handlerOptions.mode ?? RUNTIME_DEFAULTS.mode,
    readBeforeClaim: handlerOptions.readBeforeClaim,
    deadLetters: {
      park: async (record: SQSRecord, reason: string, errorType: string) => {
        dlq.push({ sqsMessageId: record.messageId, body: record.body, reason, errorType });
      },
    },
    // The in-memory queue redelivers returned records in the next batch; there is no visibility to change.
    sourceQueue: { returnAfter: async () => true },
    doneCache: createDoneCache(RUNTIME_DEFAULTS.doneCacheSize),
    logger: silentLogger,
    metrics: discardedMetrics,
    concurrency: RUNTIME_DEFAULTS.concurrency,
    heartbeat: handlerOptions.heartbeat ?? false,
    maxReceiveCount: maxReceives,
    visibilityTimeoutSeconds: undefined,
    clock,
    outboxTableName: options.outboxTableName ?? handlerOptions.outboxTableName ?? 'outbox',
  });
  const delivered = await deliverUntilSettled(processor, messages, { batchSize, maxReceives, clock });
  const messageIdOf = new Map(delivered.outcomes.map((outcome) => [outcome.sqsMessageId, outcome.messageId]));
  return {
    ...delivered,
    final: settledOutcomes(delivered.outcomes),
    parked: dlq.map((parked) => ({ messageId: messageIdOf.get(parked.sqsMessageId), ...parked })),
    store,
    committed: (messageId) => store.committedWrites(messageId),
  };
}

/**
 * The in-memory queue: batches in order; as the event source mapping does, what is not in batchItemFailures is
 * deleted and the rest is delivered again (at the front, receive count + 1) until maxReceives.
 */
async function deliverUntilSettled<Payload>(
  processor: BatchProcessor,
  messages: readonly InMemoryMessage<Payload>[],
  settings: { readonly batchSize: number; readonly maxReceives: number; readonly clock: () => number },
): Promise<Pick<InMemoryRun, 'outcomes' | 'exhausted' | 'deliveries' | 'batches'>> {
  const outcomes: RecordOutcome[] = [];
  const exhausted: string[] = [];
  let batches = 0;
  let deliveries = 0;
  let queue: Delivery<Payload>[] = messages.map((message, index) => ({
    message,
    sqsMessageId: `in-memory-${index + 1}`,
    receiveCount: 1,
  }));
  while (queue.length > 0) {
    const batch = queue.slice(0, settings.batchSize);
    const report = await processor.process({
      Records: batch.map(({ message, sqsMessageId, receiveCount }) =>
        sqsRecord(message, { sqsMessageId, receiveCount, clock: settings.clock }),
      ),
    });
    batches += 1;
    deliveries += batch.length;
    const failed = new Set(report.batchItemFailures.map((failure) => failure.itemIdentifier));
    const outcomeOf = new Map(report.outcomes.map((outcome) => [outcome.sqsMessageId, outcome]));
    const returned: Delivery<Payload>[] = [];
    for (const delivery of batch) {
      const outcome = outcomeOf.get(delivery.sqsMessageId);
      if (outcome !== undefined) outcomes.push(outcome);
      if (!failed.has(delivery.sqsMessageId)) continue;
      if (delivery.receiveCount >= settings.maxReceives)
        exhausted.push(outcome?.messageId ?? delivery.sqsMessageId);
      else returned.push({ ...delivery, receiveCount: delivery.receiveCount + 1 });
    }
    queue = [...returned, ...queue.slice(settings.batchSize)];
  }
  return { outcomes, exhausted, deliveries, batches };
}

function unwrap<Payload>(handler: ExactlyOnceHandler<Payload> | MessageHandler<Payload>): {
  messageHandler: MessageHandler<Payload>;
  handlerOptions: ExactlyOnceOptions;
} {
  if ('messageHandler' in handler)
    return { messageHandler: handler.messageHandler, handlerOptions: handler.options };
  return { messageHandler: handler, handlerOptions: {} };
}

/**
 * The payload type is the test's claim about the bodies it sends, unchecked on the wire exactly as in
 * production (exactlyOnce makes the same claim): the handler gets whatever JSON.parse produced, raw bodies
 * included.
 */
function wireHandler<Payload>(handler: MessageHandler<Payload>): MessageHandler {
  return handler as MessageHandler;
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`runInMemory: ${name} must be a positive integer, got ${value}.`);
  }
  return value;
}
