import { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** One request a client is about to send: the SDK command's name and its input. */
export interface SentRequest {
  /** As the SDK names it: 'UpdateItemCommand', 'TransactWriteItemsCommand', 'SendMessageCommand', ... */
  readonly commandName: string;
  readonly input: object;
}

export interface DropResponsesOptions {
  /** Which requests lose their responses. */
  readonly when: (request: SentRequest) => boolean;
  /**
   * How many attempts of matching requests lose their responses. 1: only the first, so the SDK's own retry sends
   * the request again and gets a real answer. Infinity: every attempt, so after its retries the SDK gives up and
   * the caller sees the network error.
   */
  readonly attempts: number;
}

export interface DroppedResponses {
  /** Responses dropped so far: each is a request DynamoDB or SQS received and answered. */
  readonly count: number;
  /** Lets every later response through. */
  stop(): void;
}

/**
 * Makes a real client lose responses: each matching request goes to the server, which applies it and answers, and
 * then the answer is thrown away and a timeout raised instead, as when the network fails after the request was
 * sent. Error answers are lost the same way as successes.
 *
 * The middleware sits inside the SDK's retry layer (finalizeRequest, after the retry middleware), so the SDK
 * retries a lost response as it retries a real timeout (same name and code as the HTTP handler's request timeout),
 * reusing a transaction's ClientRequestToken, and the caller sees the error only once the SDK gives up.
 *
 * @example
 * const lost = dropResponses(dynamoDb, { when: (r) => r.commandName === 'TransactWriteItemsCommand', attempts: Infinity });
 */
export function dropResponses(
  client: DynamoDBDocumentClient | SQSClient,
  options: DropResponsesOptions,
): DroppedResponses {
  const state = { count: 0, stopped: false };
  const afterAttempt = async <T>(request: SentRequest, attempt: () => Promise<T>): Promise<T> => {
    if (state.stopped || state.count >= options.attempts || !options.when(request)) return attempt();
    await attempt().catch(() => undefined); // the server answered, with success or an error: both are lost
    state.count += 1;
    throw responseLost();
  };
  const name = `dropResponses-${Math.random()}`;
  const placement = { step: 'finalizeRequest', priority: 'low', name } as const;
  // Two calls so that each middleware is typed by its own client's stack.
  if (client instanceof SQSClient) {
    client.middlewareStack.add(
      (next, context) => (args) =>
        afterAttempt({ commandName: context.commandName ?? '', input: args.input }, () => next(args)),
      placement,
    );
  } else {
    client.middlewareStack.add(
      (next, context) => (args) =>
        afterAttempt({ commandName: context.commandName ?? '', input: args.input }, () => next(args)),
      placement,
    );
  }
  return {
    get count() {
      return state.count;
    },
    stop: () => {
      state.stopped = true;
    },
  };
}

/** What the node HTTP handler throws when a response does not come within the request timeout. */
export function responseLost(): Error {
  return Object.assign(new Error('response lost: the request was sent, no answer came back'), {
    name: 'TimeoutError',
    code: 'ETIMEDOUT',
  });
}

/** The input's UpdateExpression, when it has one: tells the claim store's UpdateItem requests apart. */
export function updateExpressionOf(request: SentRequest): string | undefined {
  if (!('UpdateExpression' in request.input)) return undefined;
  const { UpdateExpression } = request.input;
  return typeof UpdateExpression === 'string' ? UpdateExpression : undefined;
}
