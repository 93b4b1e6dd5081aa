import type { SQSRecord } from 'aws-lambda';
import type { Claim } from '../core/claim-results.js';
import { LeaseLostError } from '../core/errors.js';
import type { ClaimStorePort } from './batch-dependencies.js';
import type { RecordLogger } from './handler-contract.js';
import type { SourceQueue } from './source-queue.js';

/** What a record's lease needs of the processor. */
export interface RecordLeaseDependencies {
  readonly store: Pick<ClaimStorePort, 'extend' | 'leaseMs'>;
  readonly sourceQueue: Pick<SourceQueue, 'returnAfter'>;
  readonly clock: () => number;
  /** Extend every running handler's lease on its own, every third of a lease. */
  readonly heartbeat: boolean;
  /** The source queue's visibility timeout, when known. */
  readonly visibilityTimeoutSeconds: number | undefined;
}

/** How long before the lease (or the invocation) ends ctx.signal fires: 5 s, or a quarter of a short lease. */
export function abortMarginMs(leaseMs: number): number {
  return Math.min(5_000, Math.floor(leaseMs / 4));
}

/** Why a handler stopped being waited for. */
export type HandlerRun = { readonly returned: true } | { readonly returned: false; readonly reason: string };

/**
 * One record's time to run (docs/design.md section 4): the lease it holds in lease mode and the invocation's
 * deadline. It fires `signal` a margin before either ends, extends the lease on request or on a heartbeat (and the
 * record's SQS visibility with it), stops waiting for a handler once the signal has fired, and tells whether the
 * lease has ended, so that a commit after its end is never attempted.
 */
export class RecordLease {
  private readonly controller = new AbortController();
  private readonly marginMs: number;
  private leaseExpiresAtMs: number | undefined;
  private signalTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** When the record becomes visible on the queue again, when known: an extension only ever moves it later. */
  private visibleUntilMs: number | undefined;

  constructor(
    private readonly deps: RecordLeaseDependencies,
    private readonly record: SQSRecord,
    private readonly claim: Claim | undefined,
    private readonly logger: RecordLogger,
    invocation: {
      /** Epoch ms when the batch was received. */
      readonly startedMs: number;
      /** Epoch ms when the invocation must have returned (Lambda's deadline), if there is one. */
      readonly deadlineMs: number | undefined;
    },
  ) {
    this.marginMs = abortMarginMs(deps.store.leaseMs);
    this.leaseExpiresAtMs = claim?.leaseExpiresAtMs;
    this.invocationDeadlineMs = invocation.deadlineMs;
    const { visibilityTimeoutSeconds } = deps;
    this.visibleUntilMs =
      visibilityTimeoutSeconds === undefined
        ? undefined
        : invocation.startedMs + visibilityTimeoutSeconds * 1000;
  }

  private readonly invocationDeadlineMs: number | undefined;

  /** Aborts a margin before the lease or the invocation ends, or when the lease is lost. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /**
   * Runs the handler under this lease: resolves when it returns or throws, or as soon as the signal fires (a
   * handler that ignores the signal is left behind, and its staged writes are never committed).
   */
  async run(handler: () => Promise<void> | void): Promise<HandlerRun> {
    this.armSignal();
    if (this.deps.heartbeat && this.claim !== undefined) this.startHeartbeat();
    const aborted = new Promise<HandlerRun>((resolve) => {
      const onAbort = () => resolve({ returned: false, reason: describeReason(this.signal.reason) });
      if (this.signal.aborted) onAbort();
      else this.signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([
        Promise.resolve()
          .then(handler)
          .then(() => ({ returned: true }) as const),
        aborted,
      ]);
    } finally {
      this.stop();
    }
  }

  /**
   * Holds the record `ms` longer from now: its lease (lease mode; a conditional write on the lease token) and its
   * SQS visibility. Throws LeaseLostError when the lease already ended or another consumer holds it.
   */
  async extend(ms: number = this.deps.store.leaseMs): Promise<void> {
    if (!(Number.isFinite(ms) && ms > 0)) {
      throw new RangeError(`extendLease(ms) needs a positive number of milliseconds, got ${String(ms)}`);
    }
    if (this.claim !== undefined) {
      try {
        this.leaseExpiresAtMs = await this.deps.store.extend(this.claim, ms);
      } catch (error) {
        if (error instanceof LeaseLostError) this.abort(error);
        throw error;
      }
      if (!this.stopped) this.armSignal();
    }
    // Visibility is a courtesy (a redelivery finds the live lease and waits); it is never shortened.
    const untilMs = this.deps.clock() + ms;
    if (this.visibleUntilMs === undefined || untilMs > this.visibleUntilMs) {
      if (await this.deps.sourceQueue.returnAfter(this.record, ms)) this.visibleUntilMs = untilMs;
    }
  }

  /** Lease mode: how long ago the lease ended by this consumer's clock (then its commit must not be attempted). */
  endedAgoMs(): number | undefined {
    if (this.leaseExpiresAtMs === undefined) return undefined;
    const agoMs = this.deps.clock() - this.leaseExpiresAtMs;
    return agoMs >= 0 ? agoMs : undefined;
  }

  private armSignal(): void {
    clearTimeout(this.signalTimer);
    const ends = [this.leaseExpiresAtMs, this.invocationDeadlineMs].filter((ms) => ms !== undefined);
    if (ends.length === 0 || this.signal.aborted) return;
    const endMs = Math.min(...ends);
    const what = endMs === this.leaseExpiresAtMs ? 'lease' : 'invocation';
    const delayMs = Math.max(0, endMs - this.marginMs - this.deps.clock());
    this.signalTimer = setTimeout(
      () =>
        this.abort(new Error(`the ${what} ends in ${this.marginMs} ms; stop and let the message be retried`)),
      delayMs,
    );
  }

  private startHeartbeat(): void {
    const intervalMs = Math.max(1, Math.floor(this.deps.store.leaseMs / 3));
    this.heartbeatTimer = setInterval(() => {
      this.extend().catch((error: unknown) => {
        // A lost lease has aborted the signal; anything else may pass before the lease ends: try again next beat.
        if (!(error instanceof LeaseLostError)) {
          this.logger.warn('Heartbeat could not extend the lease; trying again', {
            error: describeReason(error),
          });
        }
      });
    }, intervalMs);
  }

  private abort(reason: Error): void {
    clearInterval(this.heartbeatTimer);
    clearTimeout(this.signalTimer);
    if (!this.signal.aborted) this.controller.abort(reason);
  }

  private stop(): void {
    this.stopped = true;
    clearInterval(this.heartbeatTimer);
    clearTimeout(this.signalTimer);
  }
}

function describeReason(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason);
}
