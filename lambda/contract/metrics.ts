/**
 * The metrics the runtime emits (EMF, Count unit unless named a latency) and the construct alarms on. The outcome
 * kinds are listed once here; the metric of each kind and the handler's `RecordOutcomeKind` derive from the list.
 */

/** CloudWatch namespace of the runtime's metrics; dimension `service` = the Powertools service name. */
export const METRICS_NAMESPACE = 'Onceflow';
export const DEFAULT_SERVICE_NAME = 'onceflow';

/** What happened to one record. Acknowledged: Processed, Duplicate, Parked. Returned: the others. */
export const OUTCOME_KINDS = [
  'Processed',
  'Duplicate',
  'InFlight',
  'Retried',
  'Parked',
  'ZombieRejected',
] as const;
export type RecordOutcomeKind = (typeof OUTCOME_KINDS)[number];

/** The outcome kinds after which the SQS record is deleted. */
export const ACKNOWLEDGED_KINDS: ReadonlySet<RecordOutcomeKind> = new Set([
  'Processed',
  'Duplicate',
  'Parked',
]);

export const METRIC = {
  processed: 'Processed',
  duplicate: 'Duplicate',
  inFlight: 'InFlight',
  takeover: 'Takeover',
  zombieRejected: 'ZombieRejected',
  parked: 'Parked',
  retried: 'Retried',
  /** A messageId delivered again with another payload (parked, or only counted with `payloadMismatch: 'count'`). */
  payloadMismatch: 'PayloadMismatch',
  claimLatency: 'ClaimLatency',
  commitLatency: 'CommitLatency',
  outboxDelivered: 'OutboxDelivered',
  outboxParked: 'OutboxParked',
  /** A large payload could not be read (a chunk missing) or did not match its hashes: the message is parked. */
  payloadErrors: 'PayloadErrors',
} as const;

/** The counter each outcome kind adds to (the metric carries the kind's own name). */
export const OUTCOME_METRIC: Readonly<Record<RecordOutcomeKind, string>> = {
  Processed: METRIC.processed,
  Duplicate: METRIC.duplicate,
  InFlight: METRIC.inFlight,
  Retried: METRIC.retried,
  Parked: METRIC.parked,
  ZombieRejected: METRIC.zombieRejected,
};
