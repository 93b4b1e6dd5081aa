import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import type { LRUCache } from 'lru-cache';
import pLimit, { type LimitFunction } from 'p-limit';
import {
  ACKNOWLEDGED_KINDS,
  METRIC,
  OUTCOME_METRIC,
  type ProcessingMode,
  type RecordOutcomeKind,
} from '../contract/index.js';
import type { Claim, ClaimStore, CommitEntry, CommitOutcome } from '../core/claim-store.js';
import {
  ConfigurationError,
  MalformedMessageError,
  OnceflowError,
  ZombieCommitError,
} from '../core/errors.js';
import { Outbox } from '../outbox/outbox.js';
import type { DeadLetterQueue } from './dead-letter-queue.js';
import type {
  BatchReport,
  ExactlyOnceContext,
  MessageHandler,
  MetricsSink,
  RecordLogger,
  RecordOutcome,
} from './handler-contract.js';
import type { SourceQueue } from './source-queue.js';
import { StagedTransaction } from './transaction.js';
import { type OnceflowMessage, readMessage } from './wire-format.js';

const ACKNOWLEDGED = ACKNOWLEDGED_KINDS;

/** What the processor needs of a claim store: `ClaimStore` on DynamoDB, or the test kit's in-memory store. */
export type ClaimStorePort = Pick<
  ClaimStore,
  'claim' | 'commitAll' | 'release' | 'park' | 'dedupWindowSeconds'
>;

export interface BatchProcessorDependencies {
  readonly store: ClaimStorePort;
  readonly handler: MessageHandler;
  readonly mode: ProcessingMode;
  /** Where permanent failures are parked. Without it they return to the queue, to reach its DLQ by redrive. */
  readonly deadLetters: Pick<DeadLetterQueue, 'park'> | undefined;
  readonly sourceQueue: Pick<SourceQueue, 'returnAfter'>;
  /** messageIds known DONE in this container. */
  readonly doneCache: LRUCache<string, true>;
  readonly logger: Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;
  readonly metrics: MetricsSink;
  /** Records of a batch processed at once. */
  readonly concurrency: number;
  readonly clock: () => number;
  /** Where ctx.outbox stages its items; ctx.outbox.send throws without one. */
  readonly outboxTableName: string | undefined;
}

/** A record whose handler ran and whose staged writes wait for the batch's grouped commit. */
interface PendingCommit {
  readonly record: SQSRecord;
  readonly message: OnceflowMessage;
  readonly entry: CommitEntry;
  readonly claim: Claim | undefined;
}

type Prepared = { readonly outcome: RecordOutcome } | { readonly pending: PendingCommit };

/**
 * Runs one SQS batch exactly once per messageId (DESIGN.md sections 1, 3 and 5): claims, runs the handler,
 * commits the staged writes of the whole batch in as few transactions as fit, parks what can never succeed and
 * returns the rest to the queue. One bad record never fails the batch.
 */
export class BatchProcessor {
  constructor(private readonly deps: BatchProcessorDependencies) {}

  async process(event: SQSEvent, lambdaContext?: Context): Promise<BatchReport> {
    const records = event.Records ?? [];
    const limit = pLimit(this.deps.concurrency);
    const outcomes = new Map<SQSRecord, RecordOutcome>();
    const standard: SQSRecord[] = [];
    const fifoGroups = new Map<string, SQSRecord[]>();
    for (const record of records) {
      const group = record.attributes?.MessageGroupId;
      if (group === undefined) standard.push(record);
      else fifoGroups.set(group, [...(fifoGroups.get(group) ?? []), record]);
    }
    await Promise.all([
      this.processUnordered(standard, limit, lambdaContext, outcomes),
      ...[...fifoGroups.values()].map((group) =>
        limit(() => this.processInOrder(group, lambdaContext, outcomes)),
      ),
    ]);
    const ordered = records.map(
      (record) =>
        outcomes.get(record) ??
        this.outcome(record, undefined, 'Retried', { reason: 'record was not processed' }),
    );
    this.publishMetrics(ordered);
    return {
      batchItemFailures: ordered
        .filter((outcome) => !ACKNOWLEDGED.has(outcome.kind))
        .map((outcome) => ({ itemIdentifier: outcome.sqsMessageId })),
      outcomes: ordered,
    };
  }

  /** Standard queue: records run concurrently; their commits are grouped. Copies of one id share one run. */
  private async processUnordered(
    records: readonly SQSRecord[],
    limit: LimitFunction,
    lambdaContext: Context | undefined,
    outcomes: Map<SQSRecord, RecordOutcome>,
  ): Promise<void> {
    const firsts = new Map<string, { record: SQSRecord; message: OnceflowMessage; copies: SQSRecord[] }>();
    const malformed: { record: SQSRecord; error: MalformedMessageError }[] = [];
    for (const record of records) {
      const read = this.read(record);
      if (read instanceof MalformedMessageError) {
        malformed.push({ record, error: read });
        continue;
      }
      const first = firsts.get(read.messageId);
      if (first === undefined) firsts.set(read.messageId, { record, message: read, copies: [] });
      else first.copies.push(record);
    }

    const parkedMalformed = malformed.map(({ record, error }) =>
      limit(async () => outcomes.set(record, await this.parkMalformed(record, error))),
    );
    const prepared = await Promise.all(
      [...firsts.values()].map(({ record, message }) =>
        limit(async () => ({ record, prepared: await this.prepare(record, message, lambdaContext) })),
      ),
    );
    const pending: PendingCommit[] = [];
    for (const { record, prepared: p } of prepared) {
      if ('pending' in p) pending.push(p.pending);
      else outcomes.set(record, p.outcome);
    }

    const commitOutcomes = pending.length > 0 ? await this.commit(pending) : [];
    await Promise.all(
      pending.map((p, index) =>
        limit(async () => outcomes.set(p.record, await this.settle(p, commitOutcomes[index]))),
      ),
    );
    await Promise.all(parkedMalformed);

    for (const { record, copies } of firsts.values()) {
      const original = outcomes.get(record);
      for (const copy of copies) outcomes.set(copy, this.copyOutcome(copy, original));
    }
    await Promise.all(
      records.map((record) => {
        const outcome = outcomes.get(record);
        return outcome?.kind === 'InFlight'
          ? limit(() => this.returnWhenLeaseEnds(record, outcome))
          : undefined;
      }),
    );
  }

  /** FIFO group: one record at a time, in order; after the first failure the rest of the group goes back. */
  private async processInOrder(
    records: readonly SQSRecord[],
    lambdaContext: Context | undefined,
    outcomes: Map<SQSRecord, RecordOutcome>,
  ): Promise<void> {
    let blockedBy: RecordOutcome | undefined;
    for (const record of records) {
      if (blockedBy !== undefined) {
        const reason = `an earlier message of its group (${blockedBy.sqsMessageId}) was not acknowledged`;
        outcomes.set(record, this.outcome(record, undefined, 'Retried', { reason }));
        continue;
      }
      const read = this.read(record);
      let outcome: RecordOutcome;
      if (read instanceof MalformedMessageError) {
        outcome = await this.parkMalformed(record, read);
      } else {
        const prepared = await this.prepare(record, read, lambdaContext);
        outcome =
          'outcome' in prepared
            ? prepared.outcome
            : await this.settle(prepared.pending, (await this.commit([prepared.pending]))[0]);
      }
      outcomes.set(record, outcome);
      if (!ACKNOWLEDGED.has(outcome.kind)) blockedBy = outcome;
    }
  }

  private read(record: SQSRecord): OnceflowMessage | MalformedMessageError {
    try {
      return readMessage(record);
    } catch (error) {
      if (error instanceof MalformedMessageError) return error;
      throw error;
    }
  }

  /** Claims (lease mode) and runs the handler; stops early for duplicates, records in flight, and failures. */
  private async prepare(
    record: SQSRecord,
    message: OnceflowMessage,
    lambdaContext: Context | undefined,
  ): Promise<Prepared> {
    const { store, doneCache, mode } = this.deps;
    const { messageId } = message;
    if (doneCache.has(messageId)) {
      return { outcome: this.outcome(record, messageId, 'Duplicate', { cached: true }) };
    }
    let claim: Claim | undefined;
    if (mode === 'lease') {
      const startedMs = this.deps.clock();
      let result: Awaited<ReturnType<ClaimStore['claim']>>;
      try {
        result = await store.claim(messageId);
      } catch (error) {
        // A wrong setting fails the whole invocation, loudly, instead of retrying every record quietly.
        if (error instanceof ConfigurationError) throw error;
        return { outcome: this.outcome(record, messageId, 'Retried', { reason: describe(error) }) };
      }
      this.deps.metrics.addMetric(
        METRIC.claimLatency,
        MetricUnit.Milliseconds,
        this.deps.clock() - startedMs,
      );
      if (result.kind === 'Duplicate') {
        doneCache.set(messageId, true);
        return { outcome: this.outcome(record, messageId, 'Duplicate') };
      }
      if (result.kind === 'InFlight') {
        return {
          outcome: this.outcome(record, messageId, 'InFlight', {
            reason: `leased by ${result.record.owner ?? 'another consumer'} for ${result.leaseRemainingMs} ms more`,
            leaseRemainingMs: result.leaseRemainingMs,
          }),
        };
      }
      claim = result.claim;
    }

    const tx = new StagedTransaction();
    const fencingToken = claim?.fencingToken ?? 0;
    const ctx: ExactlyOnceContext = {
      tx,
      outbox: new Outbox(
        tx,
        messageId,
        this.deps.outboxTableName,
        this.deps.clock(),
        store.dedupWindowSeconds,
      ),
      fencingToken,
      idempotencyKey: messageId,
      attempt: claim?.attempt ?? message.receiveCount,
      logger: this.recordLogger(messageId, fencingToken),
      lambdaContext,
    };
    try {
      await this.deps.handler(message, ctx);
    } catch (error) {
      return { outcome: await this.handlerFailed(record, message, error, claim) };
    }
    return { pending: { record, message, claim, entry: { messageId, claim, stagedWrites: tx.staged } } };
  }

  private async commit(pending: readonly PendingCommit[]): Promise<CommitOutcome[]> {
    const startedMs = this.deps.clock();
    const outcomes = await this.deps.store.commitAll(pending.map((p) => p.entry));
    this.deps.metrics.addMetric(METRIC.commitLatency, MetricUnit.Milliseconds, this.deps.clock() - startedMs);
    return outcomes;
  }

  /** Turns a commit outcome into the record's outcome: parks what is permanent, releases what is retryable. */
  private async settle(pending: PendingCommit, outcome: CommitOutcome | undefined): Promise<RecordOutcome> {
    const { record, message, claim } = pending;
    const { messageId } = message;
    const takeover = claim?.takeover ?? false;
    switch (outcome?.kind) {
      case 'Committed':
        this.deps.doneCache.set(messageId, true);
        return this.outcome(record, messageId, 'Processed', { takeover });
      case 'Duplicate':
        this.deps.doneCache.set(messageId, true);
        return this.outcome(record, messageId, 'Duplicate');
      case 'InFlight':
        return this.outcome(record, messageId, 'InFlight', { leaseRemainingMs: outcome.leaseRemainingMs });
      case 'Failed':
        if (outcome.error instanceof ZombieCommitError) {
          this.deps.logger.warn('Zombie commit rejected: the lease was taken over; nothing was applied', {
            messageId,
            fencingToken: claim?.fencingToken,
            currentFencingToken: outcome.error.currentRecord?.fencingToken,
          });
          return this.outcome(record, messageId, 'ZombieRejected', { reason: outcome.error.message });
        }
        return this.handlerFailed(record, message, outcome.error, claim);
      case undefined:
        return this.outcome(record, messageId, 'Retried', { reason: 'no commit outcome' });
    }
  }

  /** A permanent error parks the message; anything else releases the lease and returns it to the queue. */
  private async handlerFailed(
    record: SQSRecord,
    message: OnceflowMessage,
    error: unknown,
    claim: Claim | undefined,
  ): Promise<RecordOutcome> {
    const { messageId } = message;
    if (error instanceof ConfigurationError) {
      if (claim !== undefined) await this.deps.store.release(claim, describe(error)).catch(() => undefined);
      throw error;
    }
    if (isPermanent(error)) {
      return this.park(record, messageId, describe(error), errorType(error), claim);
    }
    if (claim !== undefined) {
      await this.deps.store.release(claim, describe(error)).catch((releaseError: unknown) =>
        this.deps.logger.warn('Could not release the lease; it will expire on its own', {
          messageId,
          error: describe(releaseError),
        }),
      );
    }
    this.deps.logger.warn('Message will be retried', { messageId, error: describe(error) });
    return this.outcome(record, messageId, 'Retried', {
      reason: describe(error),
      takeover: claim?.takeover ?? false,
    });
  }

  private parkMalformed(record: SQSRecord, error: MalformedMessageError): Promise<RecordOutcome> {
    return this.park(record, error.messageId, error.message, error.name, undefined, { alwaysSend: true });
  }

  /**
   * Marks the claim FAILED (when there is a messageId), sends the message to the DLQ with the reason, and only
   * then acknowledges. A failed send leaves it on the queue: nothing is lost.
   */
  private async park(
    record: SQSRecord,
    messageId: string | undefined,
    reason: string,
    type: string,
    claim: Claim | undefined,
    options: { alwaysSend?: boolean } = {},
  ): Promise<RecordOutcome> {
    const { deadLetters, store, logger } = this.deps;
    if (deadLetters === undefined) {
      logger.error(
        'No dead-letter queue configured; the message returns to the queue until its redrive policy',
        {
          messageId,
          reason,
        },
      );
      return this.outcome(record, messageId, 'Retried', {
        reason: `not parked (no DLQ configured): ${reason}`,
      });
    }
    if (messageId !== undefined) {
      try {
        const parked = await store.park(messageId, reason, claim);
        // Someone else committed this id meanwhile: the handler's verdict on a copy does not matter.
        if (parked.kind === 'NotParked' && parked.record?.status === 'DONE' && options.alwaysSend !== true) {
          this.deps.doneCache.set(messageId, true);
          return this.outcome(record, messageId, 'Duplicate');
        }
      } catch (error) {
        logger.warn('Could not mark the claim FAILED; parking the message anyway', {
          messageId,
          error: describe(error),
        });
      }
    }
    try {
      await deadLetters.park(record, reason, type);
    } catch (error) {
      logger.error('Could not send the message to the DLQ; it stays on the queue', {
        messageId,
        error: describe(error),
      });
      return this.outcome(record, messageId, 'Retried', { reason: `DLQ send failed: ${describe(error)}` });
    }
    logger.warn('Message parked in the DLQ', { messageId, reason, errorType: type });
    return this.outcome(record, messageId, 'Parked', { reason });
  }

  private copyOutcome(copy: SQSRecord, original: RecordOutcome | undefined): RecordOutcome {
    if (original !== undefined && ACKNOWLEDGED.has(original.kind)) {
      return this.outcome(copy, original.messageId, 'Duplicate', {
        reason: 'same messageId earlier in the batch',
      });
    }
    return this.outcome(copy, original?.messageId, 'Retried', {
      reason: 'same messageId earlier in the batch',
    });
  }

  private async returnWhenLeaseEnds(record: SQSRecord, outcome: RecordOutcome): Promise<void> {
    await this.deps.sourceQueue.returnAfter(record, outcome.leaseRemainingMs ?? 0);
  }

  private outcome(
    record: SQSRecord,
    messageId: string | undefined,
    kind: RecordOutcomeKind,
    details: { reason?: string; takeover?: boolean; cached?: boolean; leaseRemainingMs?: number } = {},
  ): RecordOutcome {
    return {
      sqsMessageId: record.messageId,
      messageId,
      kind,
      takeover: details.takeover ?? false,
      ...(details.reason === undefined ? {} : { reason: details.reason }),
      ...(details.cached === true ? { cached: true } : {}),
      ...(details.leaseRemainingMs === undefined ? {} : { leaseRemainingMs: details.leaseRemainingMs }),
    };
  }

  private recordLogger(messageId: string, fencingToken: number): RecordLogger {
    const { logger } = this.deps;
    const keys = { messageId, fencingToken };
    return {
      debug: (message, extra) => logger.debug(message, { ...keys, ...extra }),
      info: (message, extra) => logger.info(message, { ...keys, ...extra }),
      warn: (message, extra) => logger.warn(message, { ...keys, ...extra }),
      error: (message, extra) => logger.error(message, { ...keys, ...extra }),
    };
  }

  private publishMetrics(outcomes: readonly RecordOutcome[]): void {
    const { metrics } = this.deps;
    const metricOf = OUTCOME_METRIC;
    const counts = new Map<string, number>(Object.values(metricOf).map((name) => [name, 0]));
    let takeovers = 0;
    for (const outcome of outcomes) {
      const name = metricOf[outcome.kind];
      counts.set(name, (counts.get(name) ?? 0) + 1);
      if (outcome.takeover) takeovers += 1;
    }
    for (const [name, count] of counts) metrics.addMetric(name, MetricUnit.Count, count);
    metrics.addMetric(METRIC.takeover, MetricUnit.Count, takeovers);
    metrics.publishStoredMetrics();
  }
}

/** Permanent: the handler said so (PermanentError), or Onceflow knows retrying cannot help. */
function isPermanent(error: unknown): boolean {
  return error instanceof OnceflowError && !error.retryable;
}

function errorType(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
