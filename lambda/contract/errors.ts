/**
 * Base class of every error Onceflow throws. `retryable` tells the SQS adapter what to do with the message:
 * true -> release the lease and hand it back to the queue; false -> park it in the DLQ with the reason.
 */
export abstract class OnceflowError extends Error {
  abstract readonly retryable: boolean;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * Options or environment leave out something the runtime needs, or name something that does not exist (a missing
 * table). Not the message's fault: the invocation fails, so the batch returns to the queue whole and the function's
 * error alarm fires; once the setting is fixed, the messages apply.
 */
export class ConfigurationError extends OnceflowError {
  readonly retryable = true;
}
