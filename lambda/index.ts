/**
 * `onceflow`: the runtime. Wrap an SQS message handler with `exactlyOnce`, stage its DynamoDB writes on `ctx.tx`,
 * and send with `OnceflowProducer`. Nothing here imports aws-cdk-lib: this is what a Lambda bundle contains.
 */

export { EmfMetrics } from './aws/emf-metrics.js';
export type { AwsRequestSettings } from './aws/signed-requests.js';
export { SqsRequestError, type SqsSettings } from './aws/signed-sqs.js';
export {
  CLAIMS_TABLE,
  CLOCK_SKEW_MARGIN_SECONDS,
  type ConsumerEnvironment,
  DEFAULT_FUNCTION_TIMEOUT_SECONDS,
  ENVIRONMENT,
  type EnvironmentVariables,
  type KeyAttribute,
  METRIC,
  METRICS_NAMESPACE,
  OUTBOX_TABLE,
  OUTCOME_KINDS,
  PROCESSING_MODES,
  type ProcessingMode,
  READ_BEFORE_CLAIM_SETTINGS,
  type ReadBeforeClaim,
  type RecordOutcomeKind,
  type RelayEnvironment,
  RUNTIME_DEFAULTS,
  readConsumerEnvironment,
  readRelayEnvironment,
  type TableSchema,
  toConsumerEnvironment,
  toRelayEnvironment,
} from './contract/index.js';
export {
  type ChunkingOptions,
  chunkBoundaries,
  DEFAULT_CHUNKING,
} from './core/chunking/fastcdc.js';
export {
  DEFAULT_LARGE_PAYLOAD_THRESHOLD_BYTES,
  type LargePayloadStats,
  type LargePayloadWriteOptions,
} from './core/chunking/large-payload-writer.js';
export {
  isPayloadManifest,
  MANIFEST_MARKER,
  type ManifestChunk,
  type PayloadManifest,
} from './core/chunking/manifest.js';
export { DEFAULT_CHUNK_REUSE_MAX_AGE_MS } from './core/chunking/payload-offload.js';
export { type ClaimRecord, ClaimStatus, toClaimRecord } from './core/claim-record.js';
export type { Claim, ClaimResult } from './core/claim-results.js';
export { ClaimStore, type ClaimStoreOptions } from './core/claim-store.js';
export {
  ClaimStoreUnavailableError,
  ConfigurationError,
  InvalidStagedWritesError,
  LeaseExpiredError,
  LeaseLostError,
  MalformedMessageError,
  MessageIdValidationError,
  OnceflowError,
  PayloadCorruptError,
  PayloadMismatchError,
  PayloadStoreUnavailableError,
  PayloadUnavailableError,
  PayloadValidationError,
  PermanentError,
  StagedWriteConditionFailedError,
  StoredResultError,
  ZombieCommitError,
} from './core/errors.js';
export { MAX_MESSAGE_ID_BYTES } from './core/message-id.js';
export { canonicalJson, payloadFingerprint } from './core/payload-fingerprint.js';
export type { StagedTransaction, StagedWrite } from './core/staged-writes.js';
export { MAX_STORED_RESULT_BYTES } from './core/stored-result.js';
export { toWireBody, type WireMessage } from './core/wire-message.js';
export { type Outbox, outboxMessageId } from './outbox/outbox.js';
export { OutboxRelay, type OutboxRelayOptions } from './outbox/outbox-relay.js';
export { outboxRelayHandler } from './outbox/relay-handler.js';
export {
  messageIdFromBusinessKey,
  OnceflowProducer,
  type OutgoingMessage,
  type ProducerOptions,
  ProducerSendError,
} from './producer/producer.js';
export type { PayloadMismatchAction } from './sqs/batch-dependencies.js';
export { PARK_ATTRIBUTE } from './sqs/dead-letter-queue.js';
export {
  type ConsumerConfiguration,
  type ExactlyOnceHandler,
  type ExactlyOnceOptions,
  exactlyOnce,
  resolveConfiguration,
} from './sqs/exactly-once.js';
export type {
  BatchReport,
  ExactlyOnceContext,
  MessageHandler,
  MetricsSink,
  RecordLogger,
  RecordOutcome,
} from './sqs/handler-contract.js';
export {
  type EventBridgeFieldPaths,
  type FieldPath,
  type FieldPaths,
  type MessageSource,
  MessageSources,
  type SnsFieldPaths,
  type SourcedMessage,
} from './sqs/message-source.js';
export {
  type LargePayloadReadOptions,
  type PayloadStreamOptions,
  payloadStream,
  type S3ReadOptions,
} from './sqs/payload-resolver.js';
export type { StandardSchemaV1 } from './sqs/payload-schema.js';
export type { OnceflowMessage } from './sqs/wire-format.js';
