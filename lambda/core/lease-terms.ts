import { randomUUID } from 'node:crypto';
import { RUNTIME_DEFAULTS } from '../contract/index.js';
import { validateMessageId } from './message-id.js';

export interface LeaseTermsOptions {
  /** Epoch milliseconds. @default Date.now */
  readonly clock?: () => number;
  /** How long a claim is held before another consumer may take it over. @default 60_000 */
  readonly leaseMs?: number;
  /** How long a messageId is remembered. @default 1_296_000 (15 days) */
  readonly dedupWindowSeconds?: number;
  /** Who holds a claim, for operators. @default `${hostname}:${pid}` (in memory: 'in-memory') */
  readonly owner?: string;
  /** Makes lease tokens. @default crypto.randomUUID */
  readonly newLeaseToken?: () => string;
}

/** The terms every claim store grants leases on (ClaimStore on DynamoDB, the test kit's in memory). */
export class LeaseTerms {
  readonly clock: () => number;
  readonly leaseMs: number;
  readonly dedupWindowSeconds: number;
  readonly owner: string;
  private readonly newLeaseToken: () => string;

  constructor(options: LeaseTermsOptions, defaultOwner: string) {
    this.clock = options.clock ?? Date.now;
    this.leaseMs = options.leaseMs ?? RUNTIME_DEFAULTS.leaseMs;
    this.dedupWindowSeconds = options.dedupWindowSeconds ?? RUNTIME_DEFAULTS.dedupWindowSeconds;
    this.owner = options.owner ?? defaultOwner;
    this.newLeaseToken = options.newLeaseToken ?? randomUUID;
  }

  /** A new lease on messageId, starting now: its token and when it ends. */
  start(messageId: string): { nowMs: number; leaseToken: string; leaseExpiresAtMs: number } {
    validateMessageId(messageId);
    const nowMs = this.clock();
    return { nowMs, leaseToken: this.newLeaseToken(), leaseExpiresAtMs: nowMs + this.leaseMs };
  }

  /** The TTL of a claim record written at nowMs: the end of its dedup window. */
  expiresAtEpochSeconds(nowMs: number): number {
    return Math.floor(nowMs / 1000) + this.dedupWindowSeconds;
  }
}
