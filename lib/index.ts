/**
 * `onceflow/cdk`: the constructs. `ExactlyOnceConsumer` deploys a handler wrapped with `exactlyOnce` behind an SQS
 * queue, with its claims table, DLQ, alarms and dashboard, and optionally a transactional outbox.
 */

export { ClaimsTable, type ClaimsTableProps } from './claims-table.js';
export { ConsumerAlarms, type ConsumerAlarmsProps, type ConsumerAlarmThresholds } from './consumer-alarms.js';
export { ConsumerDashboard, type ConsumerDashboardProps } from './consumer-dashboard.js';
export { findTimingViolations } from './consumer-invariants.js';
export { ConsumerMetrics, type ConsumerMetricsProps } from './consumer-metrics.js';
export {
  type ConsumerMode,
  type ConsumerSettingsInput,
  type ConsumerTimingSettings,
  type ExactlyOnceConsumerSettings,
  type ProvisionedPollers,
  resolveConsumerSettings,
} from './consumer-settings.js';
export { ConsumerConfigurationError, OnceflowConstructError } from './errors.js';
export { ExactlyOnceConsumer, type ExactlyOnceConsumerProps } from './exactly-once-consumer.js';
export {
  ALARM_DEFAULTS,
  CLOCK_SKEW_MARGIN,
  CONSUMER_DEFAULTS,
  DEAD_LETTER_QUEUE_RETENTION_PERIOD,
  MIN_MAX_RECEIVE_COUNT,
  OUTBOX_DEFAULTS,
} from './exactly-once-consumer-defaults.js';
export { OutboxRelayMetrics, type OutboxRelayMetricsProps } from './outbox-relay-metrics.js';
export { OutboxTable, type OutboxTableProps } from './outbox-table.js';
export {
  LARGE_PAYLOAD_DEFAULTS,
  type LargePayloadsProps,
  PayloadBucket,
  type PayloadBucketProps,
} from './payload-bucket.js';
export {
  type OutboxProps,
  TransactionalOutbox,
  type TransactionalOutboxProps,
} from './transactional-outbox.js';
