import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { OnceflowProducer } from 'onceflow';
import type { LocalStack } from '../stack/local-stack.js';
import { sleep } from '../support/stats.js';
import type { PlannedSend } from './plan.js';

/** SQS takes at most 10 messages a batch. */
const CHUNK = 10;

/** Counts what has gone, for the progress line. */
export interface SendState {
  sent: number;
}

/** Sends the plan with the producer (several batches in flight); raw bodies go as they are. */
export async function sendAll(
  stack: LocalStack,
  sends: readonly PlannedSend[],
  offeredLoadPerSecond: number | undefined,
  state: SendState,
  signal: AbortSignal | undefined,
): Promise<void> {
  const producer = new OnceflowProducer({ sqs: stack.sqs, queueUrl: stack.queues.queueUrl });
  const startMs = Date.now();
  const sendChunk = async (chunk: readonly PlannedSend[]) => {
    const messages = chunk.flatMap((s) => ('rawBody' in s.message ? [] : [s.message]));
    const raw = chunk.flatMap((s) => ('rawBody' in s.message ? [s.message.rawBody] : []));
    if (messages.length > 0) await producer.send(messages);
    if (raw.length > 0) {
      await stack.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: stack.queues.queueUrl,
          Entries: raw.map((body, index) => ({ Id: String(index), MessageBody: body })),
        }),
      );
    }
    state.sent += chunk.length;
  };
  const delayed = sends.filter((s) => s.notBeforeMs > 0).sort((a, b) => a.notBeforeMs - b.notBeforeMs);
  // Awaited below; the handler only keeps a stop (Ctrl-C) from turning its failure into an unhandled rejection.
  const delayedSends = sendDelayed(chunksOf(delayed), startMs, sendChunk, signal);
  delayedSends.catch(() => undefined);
  const immediate = chunksOf(sends.filter((s) => s.notBeforeMs === 0));
  await sendImmediate(immediate, startMs, offeredLoadPerSecond, sendChunk, signal);
  await delayedSends;
}

type SendChunk = (chunk: readonly PlannedSend[]) => Promise<void>;

/** The re-sends, each chunk once its last send is due. */
async function sendDelayed(
  chunks: readonly PlannedSend[][],
  startMs: number,
  sendChunk: SendChunk,
  signal: AbortSignal | undefined,
): Promise<void> {
  for (const chunk of chunks) {
    const dueMs = startMs + (chunk[chunk.length - 1]?.notBeforeMs ?? 0);
    const waitMs = dueMs - Date.now();
    if (waitMs > 0) await sleep(waitMs);
    if (signal?.aborted) return;
    await sendChunk(chunk);
  }
}

/** The first copies: 8 chunks in flight as fast as they go, or one at a time paced to the offered load. */
async function sendImmediate(
  chunks: readonly PlannedSend[][],
  startMs: number,
  offeredLoadPerSecond: number | undefined,
  sendChunk: SendChunk,
  signal: AbortSignal | undefined,
): Promise<void> {
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

function chunksOf(sends: readonly PlannedSend[]): PlannedSend[][] {
  const chunks: PlannedSend[][] = [];
  for (let i = 0; i < sends.length; i += CHUNK) chunks.push(sends.slice(i, i + CHUNK));
  return chunks;
}
