import { createHash } from 'node:crypto';
import {
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { type LargePayloadWriteOptions, LargePayloadWriter } from '../core/chunking/large-payload-writer.js';
import { MessageIdValidationError, OnceflowError } from '../core/errors.js';
import { validateMessageId } from '../core/message-id.js';
import { toWireBody } from '../core/wire-message.js';

/** One message to send. Give a messageId, or a businessKey to derive one deterministically. */
export interface OutgoingMessage<Payload = unknown> {
  readonly messageId?: string;
  /** Derives the messageId when none is given, so a re-send after a producer crash deduplicates. */
  readonly businessKey?: string;
  /** @default Date.now() at send time */
  readonly timestamp?: string | number;
  readonly payload: Payload;
  /**
   * The MessageGroupId. On a FIFO queue, the ordering group (the messageId is its deduplication id). On a standard
   * queue, the tenant key of a fair queue: SQS keeps one noisy tenant's backlog from delaying the others' messages;
   * nothing is ordered, and Onceflow processes the group's messages concurrently.
   */
  readonly groupId?: string;
  readonly delaySeconds?: number;
}

export interface ProducerOptions {
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  /** Attempts per entry before `send` gives up with a ProducerSendError naming the unsent. @default 10 */
  readonly maxAttempts?: number;
  /** First backoff; doubles per attempt, with full jitter. @default 50 */
  readonly baseDelayMs?: number;
  /** @default 5_000 */
  readonly maxDelayMs?: number;
  /** Namespace mixed into derived messageIds, so two kinds of business key never collide. @default 'onceflow' */
  readonly namespace?: string;
  readonly sleep?: (ms: number) => Promise<void>;
  /**
   * Payloads whose wire body is above `thresholdBytes` (and every `Uint8Array` payload) go to this S3 bucket as
   * content-defined, content-addressed chunks; the message carries a manifest, and `exactlyOnce` reads the payload
   * back before the handler runs. @default undefined (every payload inline; SQS refuses bodies over 1 MiB)
   */
  readonly largePayloads?: LargePayloadWriteOptions;
}

/** Entries that could not be sent after every attempt. They were not dropped: they are here, to send again. */
export class ProducerSendError extends OnceflowError {
  readonly retryable = true;

  constructor(
    readonly unsent: readonly { readonly messageId: string; readonly reason: string }[],
    readonly sentMessageIds: readonly string[],
  ) {
    super(`${unsent.length} message(s) could not be sent: ${unsent[0]?.reason ?? 'unknown'}`);
  }
}

/** `sha256(namespace, businessKey)` as 32 hex characters: the same key always gives the same messageId. */
export function messageIdFromBusinessKey(businessKey: string, namespace = 'onceflow'): string {
  return createHash('sha256')
    .update(namespace)
    .update('\u0000')
    .update(businessKey)
    .digest('hex')
    .slice(0, 32);
}

/**
 * Sends Onceflow messages to SQS: batches of 10, retries of failed entries with exponential backoff and jitter,
 * never a silent drop. Independent of Lambda: any producer can use it.
 *
 * @example
 * const producer = new OnceflowProducer({ sqs, queueUrl });
 * await producer.send([{ businessKey: 'order-42', payload: { accountId: 'a-1', amountCents: 500 } }]);
 */
export class OnceflowProducer {
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  /** FIFO queue names (so their URLs) end in `.fifo`. */
  private readonly fifo: boolean;
  private readonly largePayloads: LargePayloadWriter | undefined;

  constructor(private readonly options: ProducerOptions) {
    this.fifo = options.queueUrl.endsWith('.fifo');
    this.largePayloads =
      options.largePayloads === undefined ? undefined : new LargePayloadWriter(options.largePayloads);
    this.maxAttempts = options.maxAttempts ?? 10;
    this.baseDelayMs = options.baseDelayMs ?? 50;
    this.maxDelayMs = options.maxDelayMs ?? 5_000;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /** Resolves with the messageIds, in order, once SQS has accepted every message; throws ProducerSendError if not. */
  async send(messages: readonly OutgoingMessage[]): Promise<string[]> {
    const prepared = [];
    for (const message of messages) prepared.push(await this.prepare(message));
    const unsent: { messageId: string; reason: string }[] = [];
    for (let start = 0; start < prepared.length; start += 10) {
      unsent.push(...(await this.sendBatch(prepared.slice(start, start + 10))));
    }
    const ids = prepared.map((entry) => entry.messageId);
    if (unsent.length > 0) {
      const failed = new Set(unsent.map((u) => u.messageId));
      throw new ProducerSendError(
        unsent,
        ids.filter((id) => !failed.has(id)),
      );
    }
    return ids;
  }

  /** What large payloads cost so far: chunks, chunks uploaded, bytes uploaded, S3 requests. */
  get largePayloadStats() {
    return this.largePayloads?.stats;
  }

  private async prepare(message: OutgoingMessage) {
    if (message.messageId === undefined && message.businessKey === undefined) {
      throw new MessageIdValidationError('Give each message a messageId or a businessKey.', undefined);
    }
    const messageId = validateMessageId(
      message.messageId ??
        (message.businessKey === undefined
          ? undefined
          : messageIdFromBusinessKey(message.businessKey, this.options.namespace)),
    );
    const timestamp = message.timestamp ?? Date.now();
    let body = toWireBody({ messageId, timestamp, payload: message.payload });
    if (message.payload instanceof Uint8Array && this.largePayloads === undefined) {
      throw new TypeError(
        'A Uint8Array payload travels through S3: give OnceflowProducer largePayloads options.',
      );
    }
    if (this.largePayloads?.wants(message.payload, body) === true) {
      body = toWireBody({ messageId, timestamp, payload: await this.largePayloads.offload(message.payload) });
    }
    return { messageId, body, groupId: message.groupId, delaySeconds: message.delaySeconds };
  }

  /** Sends up to 10, retrying what failed; returns what never got through. */
  private async sendBatch(batch: Awaited<ReturnType<OnceflowProducer['prepare']>>[]) {
    let pending = batch.map((entry, index) => ({ ...entry, id: String(index), reason: '' }));
    for (let attempt = 1; pending.length > 0 && attempt <= this.maxAttempts; attempt++) {
      if (attempt > 1) await this.sleep(this.backoffMs(attempt));
      const entries: SendMessageBatchRequestEntry[] = pending.map((entry) => ({
        Id: entry.id,
        MessageBody: entry.body,
        ...(entry.groupId === undefined ? {} : { MessageGroupId: entry.groupId }),
        // Deduplication ids are for FIFO queues only; a standard (fair) queue refuses them.
        ...(entry.groupId === undefined || !this.fifo ? {} : { MessageDeduplicationId: entry.messageId }),
        ...(entry.delaySeconds === undefined ? {} : { DelaySeconds: entry.delaySeconds }),
      }));
      try {
        const { Failed = [] } = await this.options.sqs.send(
          new SendMessageBatchCommand({ QueueUrl: this.options.queueUrl, Entries: entries }),
        );
        const reasons = new Map(
          Failed.map((failure) => [failure.Id, failure.Message ?? failure.Code ?? 'failed']),
        );
        pending = pending
          .filter((entry) => reasons.has(entry.id))
          .map((entry) => ({ ...entry, reason: reasons.get(entry.id) ?? 'failed' }));
      } catch (error) {
        const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        pending = pending.map((entry) => ({ ...entry, reason }));
      }
    }
    return pending.map((entry) => ({ messageId: entry.messageId, reason: entry.reason }));
  }

  private backoffMs(attempt: number): number {
    const ceiling = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 2));
    return Math.random() * ceiling;
  }
}
