/** Onceflow's public runtime API. */

export { type ClaimRecord, ClaimStatus } from './core/claim-record.js';
export {
  type Claim,
  type ClaimResult,
  ClaimStore,
  type ClaimStoreOptions,
  type StagedWrite,
} from './core/claim-store.js';
export {
  ClaimStoreUnavailableError,
  ConfigurationError,
  InvalidStagedWritesError,
  MalformedMessageError,
  MessageIdValidationError,
  OnceflowError,
  PermanentError,
  StagedWriteConditionFailedError,
  ZombieCommitError,
} from './core/errors.js';
export {
  messageIdFromBusinessKey,
  OnceflowProducer,
  type OutgoingMessage,
  type ProducerOptions,
  ProducerSendError,
} from './producer/producer.js';
export type {
  BatchReport,
  ExactlyOnceContext,
  MessageHandler,
  ProcessingMode,
  RecordOutcome,
  RecordOutcomeKind,
} from './sqs/batch-processor.js';
export { type ExactlyOnceHandler, type ExactlyOnceOptions, exactlyOnce } from './sqs/exactly-once.js';
export type { StagedTransaction } from './sqs/transaction.js';
export { type OnceflowMessage, toWireBody, type WireMessage } from './sqs/wire-format.js';
