import type { Context, SQSBatchItemFailure } from 'aws-lambda';
import type { RecordOutcomeKind } from '../contract/index.js';
import type { StagedTransaction } from '../core/staged-writes.js';
import type { Outbox } from '../outbox/outbox.js';
import type { OnceflowMessage } from './wire-format.js';

/** The contract between Onceflow and a handler author: what a handler gets, and what a batch reports. */

/** Structured log lines that carry the record's messageId and fencingToken. */
export interface RecordLogger {
  debug(message: string, extra?: Record<string, unknown>): void;
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
  error(message: string, extra?: Record<string, unknown>): void;
}

/** Where the runtime counts outcomes; Powertools `Metrics` is one. */
export interface MetricsSink {
  addMetric(name: string, unit: 'Count' | 'Milliseconds', value: number): void;
  publishStoredMetrics(): void;
}

/** What a handler gets besides the message. */
export interface ExactlyOnceContext {
  /** Writes staged here commit atomically with the DONE record, exactly once. */
  readonly tx: StagedTransaction;
  /** Messages to other queues, emitted only if this message's commit lands (transactional outbox). */
  readonly outbox: Outbox;
  /** Strictly greater than every earlier owner's (lease mode); pass it downstream. 0 in optimistic mode. */
  readonly fencingToken: number;
  /** Stable across retries and takeovers: the messageId. Pass it to external APIs that deduplicate. */
  readonly idempotencyKey: string;
  /** 1 for the first claim; counts takeovers and redrives (lease mode). The receive count in optimistic mode. */
  readonly attempt: number;
  readonly logger: RecordLogger;
  readonly lambdaContext: Context | undefined;
  /**
   * Aborts a safety margin (5 s, or a quarter of a short lease) before this handler must stop: before its lease
   * ends (lease mode) or before the Lambda invocation times out, whichever comes first, or when the lease is lost.
   * Pass it to `fetch` and SDK calls. Once it fires the runtime stops waiting: the message is retried and nothing
   * staged commits. A later `extendLease` moves it.
   */
  readonly signal: AbortSignal;
  /**
   * Holds the message `ms` longer from now (default: one lease): a conditional write on this handler's lease
   * token, and the SQS record's visibility timeout. Throws `LeaseLostError` (and aborts `signal`) when the lease
   * already ended or another consumer took it over. In optimistic mode there is no lease: only the visibility
   * is extended. For long work set `heartbeat: true` instead of calling it yourself.
   *
   * @example
   * for (const part of parts) {
   *   await upload(part, { abortSignal: ctx.signal });
   *   await ctx.extendLease(60_000);
   * }
   */
  extendLease(ms?: number): Promise<void>;
}

/**
 * A message handler. What it returns is kept on the DONE record when the consumer stores results (`storeResult`),
 * and handed back on the outcome of every later duplicate; otherwise it is ignored.
 */
export type MessageHandler<Payload = unknown, Result = unknown> = (
  message: OnceflowMessage<Payload>,
  ctx: ExactlyOnceContext,
) => Promise<Result> | Result;

export interface RecordOutcome {
  readonly sqsMessageId: string;
  readonly messageId: string | undefined;
  readonly kind: RecordOutcomeKind;
  /** This consumer took over an expired lease of another owner. */
  readonly takeover: boolean;
  readonly reason?: string;
  /** Answered from the warm-container cache of DONE ids, with no DynamoDB request. */
  readonly cached?: boolean;
  /** InFlight: how long the other owner's lease still runs. */
  readonly leaseRemainingMs?: number;
  /**
   * With `storeResult`: the handler's return value (through JSON), on Processed, and on a Duplicate from the DONE
   * record. Undefined when the handler returned nothing, or the record predates `storeResult`.
   */
  readonly result?: unknown;
  /** The messageId was claimed with another payload: both SHA-256 fingerprints (hex). Parked, or only counted. */
  readonly payloadMismatch?: { readonly storedFingerprint: string; readonly receivedFingerprint: string };
}

export interface BatchReport {
  readonly batchItemFailures: SQSBatchItemFailure[];
  readonly outcomes: RecordOutcome[];
}
