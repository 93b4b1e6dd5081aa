import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import pLimit, { type LimitFunction } from 'p-limit';
import { ACKNOWLEDGED_KINDS, METRIC, type ReadBeforeClaim, RUNTIME_DEFAULTS } from '../contract/index.js';
import type { ClaimRecord } from '../core/claim-record.js';
import type { Claim, ClaimResult, CommitOutcome } from '../core/claim-results.js';
import {
  ClaimStoreUnavailableError,
  ConfigurationError,
  LeaseExpiredError,
  MalformedMessageError,
} from '../core/errors.js';
import { payloadFingerprint, payloadMismatch } from '../core/payload-fingerprint.js';
import { StagedTransaction } from '../core/staged-writes.js';
import { encodeStoredResult } from '../core/stored-result.js';
import { Outbox } from '../outbox/outbox.js';
import type { BatchProcessorDependencies } from './batch-dependencies.js';
import { type BatchLatency, publishMetrics } from './batch-metrics.js';
import {
  DuplicateShare,
  OPTIMISTIC_INITIAL_DUPLICATE_SHARE,
  OPTIMISTIC_READ_BREAK_EVEN_DUPLICATE_SHARE,
  READ_BREAK_EVEN_DUPLICATE_SHARE,
} from './duplicate-share.js';
import type { BatchReport, ExactlyOnceContext, RecordLogger, RecordOutcome } from './handler-contract.js';
import { RecordLease } from './record-lease.js';
import {
  copyOutcome,
  describe,
  doneCacheKey,
  outcomeFor,
  type PendingCommit,
  Settlement,
} from './settlement.js';
import { type OnceflowMessage, readMessage } from './wire-format.js';

export type { BatchProcessorDependencies, ClaimStorePort } from './batch-dependencies.js';

type Prepared = { readonly outcome: RecordOutcome } | { readonly pending: PendingCommit };

/** The invocation a batch runs in: Lambda's context, and when it must have returned. */
interface Invocation {
  readonly lambdaContext: Context | undefined;
  readonly startedMs: number;
  readonly deadlineMs: number | undefined;
  /** The claims taken in this invocation, by record: a record parked on its last receive gives its claim up. */
  readonly claims: Map<SQSRecord, Claim>;
  /** Each record read once: its message, or why it is malformed. */
  readonly reads: ReadonlyMap<SQSRecord, OnceflowMessage | MalformedMessageError>;
  /** The batch's messageIds found DONE before any handler ran, when the batch was read (see `readsBatch`). */
  readonly knownDone: ReadonlyMap<string, ClaimRecord>;
  /**
   * This batch's latencies, published with its counts at its end: one process may run many batches at once
   * (Lambda Managed Instances), and a shared metrics sink must not publish one batch's figures with another's.
   */
  readonly latencies: BatchLatency[];
}

/**
 * Runs one SQS batch exactly once per messageId (docs/design.md sections 1, 3 and 6): claims, runs the handler,
 * commits the staged writes of the whole batch in as few transactions as fit, parks what can never succeed and
 * returns the rest to the queue. One bad record never fails the batch.
 */
export class BatchProcessor {
  private readonly settlement: Settlement;
  private readonly readBeforeClaim: ReadBeforeClaim;
  /** With readBeforeClaim 'auto': whether recent cold duplicates pay for the read. Lives across batches. */
  private readonly duplicateShare: DuplicateShare | undefined;

  constructor(private readonly deps: BatchProcessorDependencies) {
    this.settlement = new Settlement(deps);
    this.readBeforeClaim = deps.readBeforeClaim ?? RUNTIME_DEFAULTS.readBeforeClaim;
    this.duplicateShare =
      this.readBeforeClaim !== 'auto'
        ? undefined
        : deps.mode === 'lease'
          ? new DuplicateShare(READ_BREAK_EVEN_DUPLICATE_SHARE)
          : new DuplicateShare(
              OPTIMISTIC_READ_BREAK_EVEN_DUPLICATE_SHARE,
              OPTIMISTIC_INITIAL_DUPLICATE_SHARE,
            );
  }

  async process(event: SQSEvent, lambdaContext?: Context): Promise<BatchReport> {
    const records = event.Records ?? [];
    const limit = pLimit(this.deps.concurrency);
    const startedMs = this.deps.clock();
    const remainingMs = lambdaContext?.getRemainingTimeInMillis?.();
    const reads = new Map(records.map((record) => [record, this.read(record)]));
    const invocation: Invocation = {
      lambdaContext,
      startedMs,
      deadlineMs: remainingMs === undefined ? undefined : startedMs + remainingMs,
      claims: new Map(),
      reads,
      knownDone: await this.findKnownDone([...reads.values()]),
      latencies: [],
    };
    const outcomes = new Map<SQSRecord, RecordOutcome>();
    const standard: SQSRecord[] = [];
    const fifoGroups = new Map<string, SQSRecord[]>();
    for (const record of records) {
      // A standard queue's group is a fair-queue tenant key: it spreads load, it does not order.
      const group = isFifoSource(record) ? record.attributes?.MessageGroupId : undefined;
      if (group === undefined) standard.push(record);
      else fifoGroups.set(group, [...(fifoGroups.get(group) ?? []), record]);
    }
    await Promise.all([
      this.processUnordered(standard, limit, invocation, outcomes),
      ...[...fifoGroups.values()].map((group) =>
        limit(() => this.processInOrder(group, invocation, outcomes)),
      ),
    ]);
    const ordered = await Promise.all(
      records.map((record) =>
        limit(() =>
          this.beforeReturning(
            record,
            invocation.claims.get(record),
            outcomes.get(record) ??
              outcomeFor(record, undefined, 'Retried', { reason: 'record was not processed' }),
          ),
        ),
      ),
    );
    publishMetrics(this.deps.metrics, ordered, invocation.latencies);
    return {
      batchItemFailures: ordered
        .filter((outcome) => !ACKNOWLEDGED_KINDS.has(outcome.kind))
        .map((outcome) => ({ itemIdentifier: outcome.sqsMessageId })),
      outcomes: ordered,
    };
  }

  /** Standard queue: records run concurrently; their commits are grouped. Copies of one id share one run. */
  private async processUnordered(
    records: readonly SQSRecord[],
    limit: LimitFunction,
    invocation: Invocation,
    outcomes: Map<SQSRecord, RecordOutcome>,
  ): Promise<void> {
    const firsts = new Map<
      string,
      {
        record: SQSRecord;
        message: OnceflowMessage;
        copies: { record: SQSRecord; message: OnceflowMessage }[];
      }
    >();
    const malformed: { record: SQSRecord; error: MalformedMessageError }[] = [];
    for (const record of records) {
      const read = invocation.reads.get(record) ?? this.read(record);
      if (read instanceof MalformedMessageError) {
        malformed.push({ record, error: read });
        continue;
      }
      const first = firsts.get(read.messageId);
      if (first === undefined) firsts.set(read.messageId, { record, message: read, copies: [] });
      else first.copies.push({ record, message: read });
    }

    const parkedMalformed = malformed.map(({ record, error }) =>
      limit(async () => outcomes.set(record, await this.settlement.parkMalformed(record, error))),
    );
    const prepared = await Promise.all(
      [...firsts.values()].map(({ record, message }) =>
        limit(async () => ({ record, prepared: await this.prepare(record, message, invocation) })),
      ),
    );
    const pending: PendingCommit[] = [];
    for (const { record, prepared: p } of prepared) {
      if ('pending' in p) pending.push(p.pending);
      else outcomes.set(record, p.outcome);
    }

    const commitOutcomes = pending.length > 0 ? await this.commit(pending, invocation) : [];
    await Promise.all(
      pending.map((p, index) =>
        limit(async () => outcomes.set(p.record, await this.settlement.settle(p, commitOutcomes[index]))),
      ),
    );
    await Promise.all(parkedMalformed);

    await Promise.all(
      [...firsts.values()].flatMap(({ record, message, copies }) =>
        copies.map((copy) =>
          limit(async () =>
            outcomes.set(copy.record, await this.copyOf(copy, message, outcomes.get(record))),
          ),
        ),
      ),
    );
  }

  /** FIFO group: one record at a time, in order; after the first failure the rest of the group goes back. */
  private async processInOrder(
    records: readonly SQSRecord[],
    invocation: Invocation,
    outcomes: Map<SQSRecord, RecordOutcome>,
  ): Promise<void> {
    let blockedBy: RecordOutcome | undefined;
    for (const record of records) {
      if (blockedBy !== undefined) {
        const reason = `an earlier message of its group (${blockedBy.sqsMessageId}) was not acknowledged`;
        outcomes.set(record, outcomeFor(record, undefined, 'Retried', { reason }));
        continue;
      }
      const read = invocation.reads.get(record) ?? this.read(record);
      let outcome: RecordOutcome;
      if (read instanceof MalformedMessageError) {
        outcome = await this.settlement.parkMalformed(record, read);
      } else {
        const prepared = await this.prepare(record, read, invocation);
        outcome =
          'outcome' in prepared
            ? prepared.outcome
            : await this.settlement.settle(
                prepared.pending,
                (await this.commit([prepared.pending], invocation))[0],
              );
      }
      outcomes.set(record, outcome);
      if (!ACKNOWLEDGED_KINDS.has(outcome.kind)) blockedBy = outcome;
    }
  }

  /**
   * One eventually consistent read of the batch's claims, so a known duplicate runs no handler and is answered as a
   * refused claim would be. Whether it pays follows the share of cold duplicates the container meets (`auto`): in
   * lease mode each unread duplicate costs only its refused claim (1 WRU), so the read (half an RRU per id, and one
   * more round trip) pays above 10%; in optimistic mode an unread duplicate cancels its batch's grouped transaction,
   * which AWS charges in full, so the read pays above 0.5% (and a fresh optimistic container starts reading). Once
   * its cache answers the duplicates, or none come, the estimate falls and the batches go unread.
   */
  private async findKnownDone(
    reads: readonly (OnceflowMessage | MalformedMessageError)[],
  ): Promise<ReadonlyMap<string, ClaimRecord>> {
    if (!this.readsBatch()) return new Map();
    const messageIds = reads
      .filter((read): read is OnceflowMessage => !(read instanceof MalformedMessageError))
      .filter((message) => !this.isCachedDone(message))
      .map((message) => message.messageId);
    if (messageIds.length === 0) return new Map();
    try {
      return await this.deps.store.findDone(messageIds);
    } catch (error) {
      if (error instanceof ConfigurationError) throw error;
      // Only an optimisation: the claim's condition (lease) or the commit's (optimistic) still refuses duplicates.
      this.deps.logger.warn('Could not read which messages are done; going on without knowing', {
        error: describe(error),
      });
      return new Map();
    }
  }

  /** Whether this batch is read before its claims (or its optimistic commit), as configured. */
  private readsBatch(): boolean {
    switch (this.readBeforeClaim) {
      case 'always':
        return true;
      case 'never':
        return false;
      case 'auto':
        return this.duplicateShare?.favoursRead() ?? false;
    }
  }

  /** Known DONE in this container, with this payload; never with storeResult, whose duplicates read the record. */
  private isCachedDone(message: OnceflowMessage): boolean {
    if (this.deps.storeResult === true) return false;
    return this.deps.doneCache.has(doneCacheKey(message.messageId, payloadFingerprint(message.payload)));
  }

  /** A later copy of a messageId in the batch: follows the first, unless its payload differs (a mismatch). */
  private async copyOf(
    copy: { record: SQSRecord; message: OnceflowMessage },
    first: OnceflowMessage,
    original: RecordOutcome | undefined,
  ): Promise<RecordOutcome> {
    const follows = copyOutcome(copy.record, original);
    const stored = { messageId: first.messageId, payloadFingerprint: payloadFingerprint(first.payload) };
    const mismatch = payloadMismatch(stored, payloadFingerprint(copy.message.payload));
    return mismatch === undefined ? follows : this.settlement.mismatched(copy.record, mismatch, follows);
  }

  private read(record: SQSRecord): OnceflowMessage | MalformedMessageError {
    try {
      return readMessage(record, this.deps.source);
    } catch (error) {
      if (error instanceof MalformedMessageError) return error;
      throw error;
    }
  }

  /** Claims (lease mode) and runs the handler; stops early for duplicates, records in flight, and failures. */
  private async prepare(
    record: SQSRecord,
    message: OnceflowMessage,
    invocation: Invocation,
  ): Promise<Prepared> {
    const { messageId } = message;
    const fingerprint = payloadFingerprint(message.payload);
    // A stored result is on the DONE record, not in the cache: with storeResult, duplicates read the record.
    if (this.deps.storeResult !== true && this.deps.doneCache.has(doneCacheKey(messageId, fingerprint))) {
      return { outcome: outcomeFor(record, messageId, 'Duplicate', { cached: true }) };
    }
    const knownDone = invocation.knownDone.get(messageId);
    if (knownDone !== undefined) {
      this.duplicateShare?.observe(true);
      // As a refused claim would: a payload mismatch, the stored result, the container's cache.
      return {
        outcome: await this.settlement.refused(record, fingerprint, { kind: 'Duplicate', record: knownDone }),
      };
    }
    const claimed =
      this.deps.mode === 'lease'
        ? await this.claimLease(record, messageId, fingerprint, invocation)
        : { claim: undefined };
    if ('outcome' in claimed) return claimed;
    const { claim } = claimed;
    if (claim !== undefined) invocation.claims.set(record, claim);
    const tx = new StagedTransaction();
    const logger = this.recordLogger(messageId, claim?.fencingToken ?? 0, invocation.lambdaContext);
    const lease = new RecordLease(this.deps, record, claim, logger, invocation);
    const context = this.newContext(tx, message, claim, invocation.lambdaContext, lease, logger);
    let run: Awaited<ReturnType<RecordLease['run']>>;
    let storedResult: string | undefined;
    try {
      run = await lease.run(async () => {
        const resolved = (await this.deps.payloads?.resolve(message, context.signal)) ?? message;
        const result = await this.deps.handler(resolved, context);
        if (this.deps.storeResult === true) storedResult = encodeStoredResult(messageId, result);
      });
    } catch (error) {
      return { outcome: await this.settlement.recordFailed(record, message, error, claim) };
    }
    if (!run.returned) {
      // Its lease runs out on its own: releasing it could start a second run beside one that may still be going.
      logger.warn('Handler did not return before its signal; not waiting for it', { reason: run.reason });
      const reason = `HandlerTimedOut: the handler did not return in time (${run.reason}); nothing was committed`;
      return {
        outcome: outcomeFor(record, messageId, 'Retried', { reason, takeover: claim?.takeover ?? false }),
      };
    }
    return {
      pending: {
        record,
        message,
        claim,
        lease,
        entry: { messageId, claim, stagedWrites: tx.staged, payloadFingerprint: fingerprint, storedResult },
      },
    };
  }

  /** Lease mode: the claim on messageId, or the record's outcome when it stops here. */
  private async claimLease(
    record: SQSRecord,
    messageId: string,
    fingerprint: string,
    invocation: Invocation,
  ): Promise<{ readonly claim: Claim } | { readonly outcome: RecordOutcome }> {
    const startedMs = this.deps.clock();
    let result: ClaimResult;
    try {
      result = await this.deps.store.claim(messageId, { payloadFingerprint: fingerprint });
    } catch (error) {
      // A wrong setting fails the whole invocation, loudly, instead of retrying every record quietly.
      if (error instanceof ConfigurationError) throw error;
      return { outcome: outcomeFor(record, messageId, 'Retried', { reason: describe(error) }) };
    }
    invocation.latencies.push({ name: METRIC.claimLatency, ms: this.deps.clock() - startedMs });
    // Whether or not the batch was read: a duplicate the read did not see, or that was not read, is refused here.
    this.duplicateShare?.observe(result.kind === 'Duplicate');
    if (result.kind !== 'Claimed')
      return { outcome: await this.settlement.refused(record, fingerprint, result) };
    return { claim: result.claim };
  }

  private newContext(
    tx: StagedTransaction,
    message: OnceflowMessage,
    claim: Claim | undefined,
    lambdaContext: Context | undefined,
    lease: RecordLease,
    logger: RecordLogger,
  ): ExactlyOnceContext {
    const { messageId } = message;
    const fencingToken = claim?.fencingToken ?? 0;
    return {
      tx,
      outbox: new Outbox(
        tx,
        messageId,
        this.deps.outboxTableName,
        this.deps.clock(),
        this.deps.store.dedupWindowSeconds,
      ),
      fencingToken,
      idempotencyKey: messageId,
      attempt: claim?.attempt ?? message.receiveCount,
      logger,
      lambdaContext,
      signal: lease.signal,
      extendLease: (ms) => lease.extend(ms),
    };
  }

  /** Commits what is still leased; a member whose lease ended meanwhile is not attempted (design section 4). */
  private async commit(pending: readonly PendingCommit[], invocation: Invocation): Promise<CommitOutcome[]> {
    const expired = pending.map((p) => p.lease?.endedAgoMs());
    const live = pending.filter((_, index) => expired[index] === undefined);
    const startedMs = this.deps.clock();
    const committed = live.length > 0 ? await this.deps.store.commitAll(live.map((p) => p.entry)) : [];
    if (live.length > 0) {
      invocation.latencies.push({ name: METRIC.commitLatency, ms: this.deps.clock() - startedMs });
    }
    if (this.deps.mode === 'optimistic') {
      // Refused at commit: a cold duplicate the read did not see, or that was not read.
      for (const outcome of committed) {
        if (outcome.kind === 'Committed' || outcome.kind === 'Duplicate')
          this.duplicateShare?.observe(outcome.kind === 'Duplicate');
      }
    }
    let next = 0;
    return pending.map((p, index) => {
      const agoMs = expired[index];
      if (agoMs !== undefined)
        return { kind: 'Failed', error: new LeaseExpiredError(p.message.messageId, agoMs) };
      const outcome = committed[next++];
      return (
        outcome ?? {
          kind: 'Failed',
          error: new ClaimStoreUnavailableError('commit', p.message.messageId, 'NoOutcome'),
        }
      );
    });
  }

  /**
   * A record about to go back to the queue: on its last receive it is parked with its reason instead (SQS would
   * redrive it with none); one in flight elsewhere comes back just after that lease ends.
   */
  private async beforeReturning(
    record: SQSRecord,
    claim: Claim | undefined,
    outcome: RecordOutcome,
  ): Promise<RecordOutcome> {
    if (ACKNOWLEDGED_KINDS.has(outcome.kind)) return outcome;
    const { maxReceiveCount } = this.deps;
    const receiveCount = Number(record.attributes?.ApproximateReceiveCount);
    if (maxReceiveCount !== undefined && receiveCount >= maxReceiveCount) {
      return this.settlement.parkOnLastReceive(record, outcome, claim, { receiveCount, maxReceiveCount });
    }
    if (outcome.kind === 'InFlight') {
      await this.deps.sourceQueue.returnAfter(record, outcome.leaseRemainingMs ?? 0);
    }
    return outcome;
  }

  /** Keys given with each line, never appended to the shared logger: concurrent invocations each keep their own. */
  private recordLogger(
    messageId: string,
    fencingToken: number,
    lambdaContext: Context | undefined,
  ): RecordLogger {
    const { logger } = this.deps;
    const awsRequestId = lambdaContext?.awsRequestId;
    const keys = { messageId, fencingToken, ...(awsRequestId === undefined ? {} : { awsRequestId }) };
    return {
      debug: (message, extra) => logger.debug(message, { ...keys, ...extra }),
      info: (message, extra) => logger.info(message, { ...keys, ...extra }),
      warn: (message, extra) => logger.warn(message, { ...keys, ...extra }),
      error: (message, extra) => logger.error(message, { ...keys, ...extra }),
    };
  }
}

/** FIFO queue names end in `.fifo`; a MessageGroupId on any other queue is a fair-queue tenant key. */
function isFifoSource(record: SQSRecord): boolean {
  return record.eventSourceARN?.endsWith('.fifo') ?? false;
}
