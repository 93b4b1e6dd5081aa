/**
 * The names the deployed runtime and its infrastructure share: environment variables, metric names. The CDK
 * construct sets and alarms on exactly these; the runtime reads exactly these. No aws-cdk-lib import here.
 */

/** Environment variables the handler reads when options leave a value out. */
export const ENVIRONMENT = {
  claimsTableName: 'ONCEFLOW_CLAIMS_TABLE',
  deadLetterQueueUrl: 'ONCEFLOW_DLQ_URL',
  sourceQueueUrl: 'ONCEFLOW_SOURCE_QUEUE_URL',
  mode: 'ONCEFLOW_MODE',
  leaseMs: 'ONCEFLOW_LEASE_MS',
  dedupWindowSeconds: 'ONCEFLOW_DEDUP_WINDOW_SECONDS',
  /** The outbox table (optional): ctx.outbox writes there; the relay reads its stream. */
  outboxTableName: 'ONCEFLOW_OUTBOX_TABLE',
  /** Where the relay parks outbox items it can never deliver. */
  relayDeadLetterQueueUrl: 'ONCEFLOW_RELAY_DLQ_URL',
  /** The reference ledger's tables. */
  ledgerAccountsTableName: 'LEDGER_ACCOUNTS_TABLE',
  ledgerEntriesTableName: 'LEDGER_ENTRIES_TABLE',
  /** The ledger emits one notification per applied payment here, through the outbox (optional). */
  notificationsQueueUrl: 'NOTIFICATIONS_QUEUE_URL',
  /** The notifications consumer's table. */
  notificationsTableName: 'NOTIFICATIONS_TABLE',
} as const;

/** CloudWatch namespace of the runtime's EMF metrics; dimension `service` = the Powertools service name. */
export const METRICS_NAMESPACE = 'Onceflow';
export const DEFAULT_SERVICE_NAME = 'onceflow';

/** Counters the runtime emits (Count unit), one per record outcome, and latencies (Milliseconds). */
export const METRIC = {
  processed: 'Processed',
  duplicate: 'Duplicate',
  inFlight: 'InFlight',
  takeover: 'Takeover',
  zombieRejected: 'ZombieRejected',
  parked: 'Parked',
  retried: 'Retried',
  claimLatency: 'ClaimLatency',
  outboxDelivered: 'OutboxDelivered',
  outboxParked: 'OutboxParked',
  commitLatency: 'CommitLatency',
} as const;

/**
 * Options for SQS clients the runtime builds itself. When AWS_ENDPOINT_URL_SQS points at an emulator, its queue
 * URLs may name hosts that do not resolve, so requests must go to the configured endpoint, not the URL's host.
 */
export function defaultSqsClientConfig(): { useQueueUrlAsEndpoint?: boolean } {
  const endpoint = process.env.AWS_ENDPOINT_URL_SQS;
  return endpoint === undefined || endpoint === '' ? {} : { useQueueUrlAsEndpoint: false };
}
