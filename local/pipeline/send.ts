import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { OnceflowProducer } from 'onceflow';
import { localS3Client } from 'onceflow/testing';
import type { LocalStack } from '../stack/local-stack.js';
import { sleep } from '../support/stats.js';
import { messagesLeft } from './drain.js';
import type { PlannedSend } from './plan.js';

/** SQS takes at most 10 messages a batch. */
const CHUNK = 10;

/** Counts what has gone, for the progress line. */
export interface SendState {
  sent: number;
}

export interface SendOptions {
  /** Send the first copies at this many messages per second; as fast as possible when undefined. */
  readonly offeredLoadPerSecond: number | undefined;
  /** Hold back while the source queue holds more than this many messages; undefined: no bound. */
  readonly maxQueuedMessages: number | undefined;
  readonly signal: AbortSignal | undefined;
}

type Body = PlannedSend['message'];

/**
 * Sends the plan with the producer (several batches in flight); raw bodies go as they are. A re-sent copy goes its
 * planned delay after its first copy, so the copies stay close together however long the run.
 */
export async function sendAll(
  stack: LocalStack,
  sends: readonly PlannedSend[],
  options: SendOptions,
  state: SendState,
): Promise<void> {
  const s3 = localS3Client(stack.sqsEndpoint);
  const producer = new OnceflowProducer({
    sqs: stack.sqs,
    queueUrl: stack.queues.queueUrl,
    // Low, so the plan's attachments (a few hundred KB) go through S3 as chunks, as payloads over 960 KiB would.
    largePayloads: { s3, bucket: stack.payloadBucket, thresholdBytes: 64 * 1024 },
  });
  const sendBodies = async (bodies: readonly Body[]) => {
    const messages = bodies.flatMap((body) => ('rawBody' in body ? [] : [body]));
    const raw = bodies.flatMap((body) => ('rawBody' in body ? [body.rawBody] : []));
    if (messages.length > 0) await producer.send(messages);
    if (raw.length > 0) {
      await stack.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: stack.queues.queueUrl,
          Entries: raw.map((body, index) => ({ Id: String(index), MessageBody: body })),
        }),
      );
    }
    state.sent += bodies.length;
  };
  const resends = new ResendQueue();
  const backlog =
    options.maxQueuedMessages === undefined
      ? undefined
      : new BacklogGate(stack, options.maxQueuedMessages, options.signal);
  let firstCopiesSent = false;
  // Awaited below; the handler only keeps a stop (Ctrl-C) from turning its failure into an unhandled rejection.
  const resending = (async () => {
    while (!(firstCopiesSent && resends.size === 0) && options.signal?.aborted !== true) {
      const due = resends.takeDue(Date.now(), CHUNK);
      if (due.length > 0) await sendBodies(due);
      else await sleep(Math.max(1, Math.min(100, resends.msUntilNext(Date.now()))));
    }
  })();
  resending.catch(() => undefined);
  try {
    await sendFirstCopies(chunksOf(sends), options, async (chunk) => {
      await backlog?.waitBelow();
      await sendBodies(chunk.map((s) => s.message));
      const sentAtMs = Date.now();
      for (const s of chunk)
        if (s.resendAfterMs !== undefined) resends.add(sentAtMs + s.resendAfterMs, s.message);
    });
  } finally {
    firstCopiesSent = true;
  }
  await resending;
}

/** The first copies: 8 chunks in flight as fast as they go, or one at a time paced to the offered load. */
async function sendFirstCopies(
  chunks: readonly PlannedSend[][],
  options: SendOptions,
  sendChunk: (chunk: readonly PlannedSend[]) => Promise<void>,
): Promise<void> {
  const { offeredLoadPerSecond, signal } = options;
  const startMs = Date.now();
  const inFlight = offeredLoadPerSecond === undefined ? 8 : 1;
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < chunks.length && signal?.aborted !== true) {
        const index = next++;
        const chunk = chunks[index];
        if (chunk === undefined) break;
        if (offeredLoadPerSecond !== undefined) {
          const dueMs = startMs + ((index * CHUNK) / offeredLoadPerSecond) * 1000;
          const waitMs = dueMs - Date.now();
          if (waitMs > 0) await sleep(waitMs);
        }
        await sendChunk(chunk);
      }
    }),
  );
}

/** Copies waiting for their time, earliest first. Holds only the copies of the last few seconds' sends. */
class ResendQueue {
  private readonly waiting: { dueMs: number; body: Body }[] = [];

  get size(): number {
    return this.waiting.length;
  }

  add(dueMs: number, body: Body): void {
    let low = 0;
    let high = this.waiting.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((this.waiting[middle]?.dueMs ?? 0) <= dueMs) low = middle + 1;
      else high = middle;
    }
    this.waiting.splice(low, 0, { dueMs, body });
  }

  /** Up to `max` copies due by `nowMs`, taken off the queue. */
  takeDue(nowMs: number, max: number): Body[] {
    let count = 0;
    while (count < max && (this.waiting[count]?.dueMs ?? Number.POSITIVE_INFINITY) <= nowMs) count += 1;
    return this.waiting.splice(0, count).map((each) => each.body);
  }

  msUntilNext(nowMs: number): number {
    const first = this.waiting[0];
    return first === undefined ? 100 : first.dueMs - nowMs;
  }
}

/** Holds the producer back while the source queue is over its bound; asks the emulator at most every 250 ms. */
class BacklogGate {
  private checkedAtMs = 0;
  private below = false;

  constructor(
    private readonly stack: LocalStack,
    private readonly maxQueuedMessages: number,
    private readonly signal: AbortSignal | undefined,
  ) {}

  async waitBelow(): Promise<void> {
    for (;;) {
      if (this.signal?.aborted === true) return;
      if (this.below && Date.now() - this.checkedAtMs < 250) return;
      this.below = (await messagesLeft(this.stack, this.stack.queues.queueUrl)) < this.maxQueuedMessages;
      this.checkedAtMs = Date.now();
      if (this.below) return;
      await sleep(250);
    }
  }
}

function chunksOf(sends: readonly PlannedSend[]): PlannedSend[][] {
  const chunks: PlannedSend[][] = [];
  for (let i = 0; i < sends.length; i += CHUNK) chunks.push(sends.slice(i, i + CHUNK));
  return chunks;
}
