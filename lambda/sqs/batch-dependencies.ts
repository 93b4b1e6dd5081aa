import type { Logger } from '@aws-lambda-powertools/logger';
import type { ProcessingMode, ReadBeforeClaim } from '../contract/index.js';
import type { ClaimStore } from '../core/claim-store.js';
import type { DeadLetterQueue } from './dead-letter-queue.js';
import type { DoneCache } from './done-cache.js';
import type { MessageHandler, MetricsSink } from './handler-contract.js';
import type { MessageSource } from './message-source.js';
import type { PayloadResolver } from './payload-resolver.js';
import type { SourceQueue } from './source-queue.js';

/** What the processor needs of a claim store: `ClaimStore` on DynamoDB, or the test kit's in-memory store. */
export type ClaimStorePort = Pick<
  ClaimStore,
  'claim' | 'commitAll' | 'findDone' | 'release' | 'park' | 'extend' | 'leaseMs' | 'dedupWindowSeconds'
>;

export interface BatchProcessorDependencies {
  readonly store: ClaimStorePort;
  readonly handler: MessageHandler;
  readonly mode: ProcessingMode;
  /**
   * When the batch's DONE records are read before claiming (or the optimistic commit). 'auto' reads while the share
   * of cold duplicates among recent deliveries is above the mode's break-even (`lambda/sqs/duplicate-share.ts`).
   * @default 'auto'
   */
  readonly readBeforeClaim?: ReadBeforeClaim;
  /** Where permanent failures are parked. Without it they return to the queue, to reach its DLQ by redrive. */
  readonly deadLetters: Pick<DeadLetterQueue, 'park'> | undefined;
  readonly sourceQueue: Pick<SourceQueue, 'returnAfter'>;
  /** messageIds known DONE in this container. */
  readonly doneCache: DoneCache;
  readonly logger: Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;
  readonly metrics: MetricsSink;
  /** Records of a batch processed at once. */
  readonly concurrency: number;
  readonly clock: () => number;
  /** Extend every running handler's lease on its own, every third of a lease (lease mode). */
  readonly heartbeat: boolean;
  /** Receives before SQS redrives a record: on the last one, a record that would return is parked instead. */
  readonly maxReceiveCount: number | undefined;
  /** The source queue's visibility timeout, when known: lease extensions never shorten it. */
  readonly visibilityTimeoutSeconds: number | undefined;
  /** Where ctx.outbox stages its items; ctx.outbox.send throws without one. */
  readonly outboxTableName: string | undefined;
  /** Where each record's messageId, timestamp and payload are read. @default the Onceflow wire format */
  readonly source?: MessageSource;
  /** A messageId delivered again with another payload: parked, or only counted and logged. @default 'park' */
  readonly payloadMismatch?: PayloadMismatchAction;
  /** Keep the handler's return value on the DONE record and hand it to later duplicates. @default false */
  readonly storeResult?: boolean;
  /** Reads a large payload's manifest back into the payload before the handler runs. @default none: payloads as sent */
  readonly payloads?: Pick<PayloadResolver, 'resolve'>;
}

/** What becomes of a delivery whose messageId was claimed with another payload. */
export type PayloadMismatchAction = 'park' | 'count';
