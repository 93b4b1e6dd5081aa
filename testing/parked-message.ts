/** A message in a dead-letter queue, with why it is there (what `onceflow.reason` and `onceflow.errorType` say). */
export interface ParkedMessage {
  /** Undefined when the body had no valid messageId. */
  readonly messageId: string | undefined;
  /** The SQS message id it had on the source queue. */
  readonly sqsMessageId: string;
  readonly body: string;
  /** Empty when SQS moved it there itself, after maxReceiveCount receives. */
  readonly reason: string;
  /** The error's name: 'PermanentError', 'MalformedMessageError', ... */
  readonly errorType: string;
}
