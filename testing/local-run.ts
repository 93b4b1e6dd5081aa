import { setTimeout as sleep } from 'node:timers/promises';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SqsSettings } from '../lambda/aws/signed-sqs.js';
import {
  ACKNOWLEDGED_KINDS,
  type EnvironmentVariables,
  type ProcessingMode,
} from '../lambda/contract/index.js';
import { PARK_ATTRIBUTE } from '../lambda/sqs/dead-letter-queue.js';
import { type ExactlyOnceHandler, type ExactlyOnceOptions, exactlyOnce } from '../lambda/sqs/exactly-once.js';
import type { BatchReport, RecordOutcome } from '../lambda/sqs/handler-contract.js';
import { LOCAL_AWS_CONFIG } from './dynamodb-local.js';
import { EventSourcePoller, type PollResult } from './event-source-poller.js';
import type { ParkedMessage } from './parked-message.js';
import { makeVisible, messagesOnQueue, peekMessages, type QueuePair } from './queues.js';
import { settledOutcomes } from './settled.js';
import { localRequestSettings } from './sqs-local.js';

export interface LocalRunOptions {
  /** Give up (and throw, naming what did not settle) after this long. @default 30_000 */
  readonly timeoutMs?: number;
  /** Records per invocation. @default 10, as the construct */
  readonly batchSize?: number;
  /**
   * Where the handler's log lines go. @default collected in `LocalRunResult.logs`, none printed
   */
  readonly logger?: ExactlyOnceOptions['logger'];
}

/** One log line the handler or Onceflow wrote during the run. */
export interface LocalLogLine {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly message: string;
  readonly extra: unknown;
}

export interface LocalRunResult {
  /** Every record of every invocation, in order: a message retried twice appears three times. */
  readonly outcomes: readonly RecordOutcome[];
  /** The outcome that settled each message (see `settledOutcomes`): Processed or Parked if it was, else its last. */
  readonly final: ReadonlyMap<string, RecordOutcome>;
  /** What is on the DLQ after the run (also messages parked before it). */
  readonly parked: readonly ParkedMessage[];
  /** Handler invocations (batches). */
  readonly invocations: number;
  /** Invocations that failed as a whole (a configuration error, say), with their errors. */
  readonly invocationErrors: readonly unknown[];
  readonly logs: readonly LocalLogLine[];
}

/** Where a run happens: one consumer's queues, on the local clients, with its settings. */
export interface RunTarget<Payload> {
  readonly handler: ExactlyOnceHandler<Payload>;
  readonly modeOverride: ProcessingMode | undefined;
  readonly sqs: SQSClient;
  readonly documentClient: DynamoDBDocumentClient;
  readonly queues: QueuePair;
  readonly environment: EnvironmentVariables;
}

interface RunState {
  readonly outcomes: RecordOutcome[];
  readonly invocationErrors: unknown[];
  invocations: number;
}

/** Polls one consumer's queue, invoking the handler's local twin, until the queue is empty. */
export async function runOnQueue<Payload>(
  options: LocalRunOptions & RunTarget<Payload>,
): Promise<LocalRunResult> {
  const logs: LocalLogLine[] = [];
  const twin = localTwin(options, options.logger ?? collectingLogger(logs));
  const { sqs, queues } = options;
  const poller = new EventSourcePoller<BatchReport>({
    sqs,
    queueUrl: queues.queueUrl,
    queueArn: queues.queueArn,
    batchSize: options.batchSize ?? 10,
    waitTimeSeconds: 0,
    handler: (event) => twin.processBatch(event),
  });
  const state: RunState = { outcomes: [], invocationErrors: [], invocations: 0 };
  const timeoutMs = options.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const poll = await poller.pollOnce();
    if (poll.received > 0) {
      await settlePoll(poll, state, sqs, queues.queueUrl);
      // A handler that fails every invocation (a configuration error) would otherwise poll forever.
      if (state.invocationErrors.length >= 3) break;
      continue;
    }
    if ((await messagesOnQueue(sqs, queues.queueUrl)) === 0) break;
    if (Date.now() > deadline) {
      throw new Error(
        `run: messages still on ${queues.queueUrl} after ${timeoutMs} ms (in flight elsewhere, or retried each time). Last outcomes: ${JSON.stringify(state.outcomes.slice(-5))}`,
      );
    }
    await sleep(50);
  }
  if (state.invocationErrors.length > 0 && state.outcomes.length === 0) {
    // Every invocation failed before any record settled: the handler cannot run at all. Say why.
    throw state.invocationErrors[0];
  }
  const parked = await readParked(sqs, queues.deadLetterQueueUrl);
  return { ...state, final: settledOutcomes(state.outcomes), parked, logs };
}

/** The user's handler with the user's options, on the local clients and this consumer's settings: a new container. */
function localTwin<Payload>(target: RunTarget<Payload>, logger: NonNullable<LocalRunOptions['logger']>) {
  return exactlyOnce(target.handler.messageHandler, {
    ...target.handler.options,
    ...(target.modeOverride === undefined ? {} : { mode: target.modeOverride }),
    dynamoDb: target.documentClient,
    sqs: localTwinSqs(target.environment),
    environment: target.environment,
    logger,
    metrics: { addMetric: () => undefined, publishStoredMetrics: () => undefined },
  });
}

/** The twin's own SQS calls (parking, visibility) go where the kit's clients go: the emulator, local credentials. */
function localTwinSqs(environment: EnvironmentVariables): SqsSettings {
  const endpoint = environment.AWS_ENDPOINT_URL_SQS;
  return endpoint === undefined ? { ...LOCAL_AWS_CONFIG } : localRequestSettings(endpoint);
}

/** A logger that keeps the lines for the result. Typed loosely on purpose: it stands in for a Powertools Logger. */
function collectingLogger(logs: LocalLogLine[]): NonNullable<LocalRunOptions['logger']> {
  const collect =
    (level: LocalLogLine['level']) =>
    (message: unknown, ...extra: unknown[]) => {
      logs.push({ level, message: String(message), extra: extra[0] });
    };
  return { debug: collect('debug'), info: collect('info'), warn: collect('warn'), error: collect('error') };
}

/**
 * Records one poll's outcomes and hands back at once what is to be retried (Retried, ZombieRejected, or the
 * whole batch of a failed invocation); InFlight records come back when the other lease ends, as the runtime set.
 */
async function settlePoll(poll: PollResult<BatchReport>, state: RunState, sqs: SQSClient, queueUrl: string) {
  state.invocations += 1;
  if (poll.handlerError !== undefined) state.invocationErrors.push(poll.handlerError);
  const outcomes = poll.response?.outcomes ?? [];
  state.outcomes.push(...outcomes);
  const handles = new Map(poll.event.Records.map((record) => [record.messageId, record.receiptHandle]));
  const again =
    poll.handlerError === undefined
      ? outcomes
          .filter((outcome) => !ACKNOWLEDGED_KINDS.has(outcome.kind) && outcome.kind !== 'InFlight')
          .map((outcome) => handles.get(outcome.sqsMessageId))
      : [...handles.values()];
  await Promise.all(again.map((receiptHandle) => makeVisible(sqs, queueUrl, receiptHandle)));
}

/** Reads every message on a DLQ with its park attributes, then makes them visible again (nothing consumed). */
export async function readParked(sqs: SQSClient, deadLetterQueueUrl: string): Promise<ParkedMessage[]> {
  const messages = await peekMessages(sqs, deadLetterQueueUrl);
  return messages.map((message) => ({
    body: message.Body ?? '',
    messageId: messageIdOf(message.Body ?? ''),
    reason: message.MessageAttributes?.[PARK_ATTRIBUTE.reason]?.StringValue ?? '',
    errorType: message.MessageAttributes?.[PARK_ATTRIBUTE.errorType]?.StringValue ?? '',
    sqsMessageId:
      message.MessageAttributes?.[PARK_ATTRIBUTE.sourceMessageId]?.StringValue ?? message.MessageId ?? '',
  }));
}

function messageIdOf(body: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(body);
    if (
      parsed !== null &&
      typeof parsed === 'object' &&
      'messageId' in parsed &&
      typeof parsed.messageId === 'string'
    ) {
      return parsed.messageId;
    }
  } catch {
    // Not JSON: a malformed message has no messageId.
  }
  return undefined;
}
