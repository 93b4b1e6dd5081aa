import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import pLimit, { type LimitFunction } from 'p-limit';
import { ACKNOWLEDGED_KINDS, METRIC } from '../contract/index.js';
import type { Claim, ClaimResult, CommitOutcome } from '../core/claim-results.js';
import {
  ClaimStoreUnavailableError,
  ConfigurationError,
  LeaseExpiredError,
  MalformedMessageError,
} from '../core/errors.js';
import { StagedTransaction } from '../core/staged-writes.js';
import { Outbox } from '../outbox/outbox.js';
import type { BatchProcessorDependencies } from './batch-dependencies.js';
import { publishMetrics } from './batch-metrics.js';
import type { BatchReport, ExactlyOnceContext, RecordLogger, RecordOutcome } from './handler-contract.js';
import { RecordLease } from './record-lease.js';
import { copyOutcome, describe, outcomeFor, type PendingCommit, Settlement } from './settlement.js';
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
}

/**
 * Runs one SQS batch exactly once per messageId (docs/design.md sections 1, 3 and 6): claims, runs the handler,
 * commits the staged writes of the whole batch in as few transactions as fit, parks what can never succeed and
 * returns the rest to the queue. One bad record never fails the batch.
 */
export class BatchProcessor {
  private readonly settlement: Settlement;

  constructor(private readonly deps: BatchProcessorDependencies) {
    this.settlement = new Settlement(deps);
  }

  async process(event: SQSEvent, lambdaContext?: Context): Promise<BatchReport> {
    const records = event.Records ?? [];
    const limit = pLimit(this.deps.concurrency);
    const startedMs = this.deps.clock();
    const remainingMs = lambdaContext?.getRemainingTimeInMillis?.();
    const invocation: Invocation = {
      lambdaContext,
      startedMs,
      deadlineMs: remainingMs === undefined ? undefined : startedMs + remainingMs,
      claims: new Map(),
    };
    const outcomes = new Map<SQSRecord, RecordOutcome>();
    const standard: SQSRecord[] = [];
    const fifoGroups = new Map<string, SQSRecord[]>();
    for (const record of records) {
      const group = record.attributes?.MessageGroupId;
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
    publishMetrics(this.deps.metrics, ordered);
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

    const commitOutcomes = pending.length > 0 ? await this.commit(pending) : [];
    await Promise.all(
      pending.map((p, index) =>
        limit(async () => outcomes.set(p.record, await this.settlement.settle(p, commitOutcomes[index]))),
      ),
    );
    await Promise.all(parkedMalformed);

    for (const { record, copies } of firsts.values()) {
      const original = outcomes.get(record);
      for (const copy of copies) outcomes.set(copy, copyOutcome(copy, original));
    }
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
      const read = this.read(record);
      let outcome: RecordOutcome;
      if (read instanceof MalformedMessageError) {
        outcome = await this.settlement.parkMalformed(record, read);
      } else {
        const prepared = await this.prepare(record, read, invocation);
        outcome =
          'outcome' in prepared
            ? prepared.outcome
            : await this.settlement.settle(prepared.pending, (await this.commit([prepared.pending]))[0]);
      }
      outcomes.set(record, outcome);
      if (!ACKNOWLEDGED_KINDS.has(outcome.kind)) blockedBy = outcome;
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
    invocation: Invocation,
  ): Promise<Prepared> {
    const { messageId } = message;
    if (this.deps.doneCache.has(messageId)) {
      return { outcome: outcomeFor(record, messageId, 'Duplicate', { cached: true }) };
    }
    const claimed =
      this.deps.mode === 'lease' ? await this.claimLease(record, messageId) : { claim: undefined };
    if ('outcome' in claimed) return claimed;
    const { claim } = claimed;
    if (claim !== undefined) invocation.claims.set(record, claim);
    const tx = new StagedTransaction();
    const logger = this.recordLogger(messageId, claim?.fencingToken ?? 0);
    const lease = new RecordLease(this.deps, record, claim, logger, invocation);
    const context = this.newContext(tx, message, claim, invocation.lambdaContext, lease, logger);
    let run: Awaited<ReturnType<RecordLease['run']>>;
    try {
      run = await lease.run(async () =>
        this.deps.handler((await this.deps.payloads?.resolve(message, context.signal)) ?? message, context),
      );
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
      pending: { record, message, claim, lease, entry: { messageId, claim, stagedWrites: tx.staged } },
    };
  }

  /** Lease mode: the claim on messageId, or the record's outcome when it stops here. */
  private async claimLease(
    record: SQSRecord,
    messageId: string,
  ): Promise<{ readonly claim: Claim } | { readonly outcome: RecordOutcome }> {
    const startedMs = this.deps.clock();
    let result: ClaimResult;
    try {
      result = await this.deps.store.claim(messageId);
    } catch (error) {
      // A wrong setting fails the whole invocation, loudly, instead of retrying every record quietly.
      if (error instanceof ConfigurationError) throw error;
      return { outcome: outcomeFor(record, messageId, 'Retried', { reason: describe(error) }) };
    }
    this.deps.metrics.addMetric(METRIC.claimLatency, MetricUnit.Milliseconds, this.deps.clock() - startedMs);
    if (result.kind === 'Duplicate') {
      this.deps.doneCache.set(messageId, true);
      return { outcome: outcomeFor(record, messageId, 'Duplicate') };
    }
    if (result.kind === 'InFlight') {
      return {
        outcome: outcomeFor(record, messageId, 'InFlight', {
          reason: `leased by ${result.record.owner ?? 'another consumer'} for ${result.leaseRemainingMs} ms more`,
          leaseRemainingMs: result.leaseRemainingMs,
        }),
      };
    }
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
  private async commit(pending: readonly PendingCommit[]): Promise<CommitOutcome[]> {
    const expired = pending.map((p) => p.lease?.endedAgoMs());
    const live = pending.filter((_, index) => expired[index] === undefined);
    const startedMs = this.deps.clock();
    const committed = live.length > 0 ? await this.deps.store.commitAll(live.map((p) => p.entry)) : [];
    if (live.length > 0) {
      this.deps.metrics.addMetric(
        METRIC.commitLatency,
        MetricUnit.Milliseconds,
        this.deps.clock() - startedMs,
      );
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
}
