/**
 * DynamoDB faults a local child process injects into the requests of the DynamoDB client it hands the runtime:
 * throttling, a 5xx, a transaction conflict and a lost response.
 *
 * Where it sits: SDK middleware at the `initialize` step, outside the SDK's retry layer (`finalizeRequest`). So
 * every injected fault reaches the runtime, as a fault that outlasted the SDK's own retries would; the SDK never
 * retries it. A lost response lets the request through that layer to DynamoDB Local, which applies it, and then
 * throws a timeout instead of returning the answer.
 */
import {
  InternalServerError,
  ProvisionedThroughputExceededException,
  ThrottlingException,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DYNAMODB_FAULT_KINDS, type DynamoDbFaultKind } from './protocol.js';

/**
 * When one kind of fault fires: after a random gap of 1 to 2/rate - 1 eligible requests, so on average one request
 * in 1/rate, and never more than 2/rate apart (a process that makes that many requests sees the fault).
 */
export class FaultSchedule {
  private untilNext: number;

  constructor(
    private readonly rate: number,
    private readonly random: () => number,
  ) {
    this.untilNext = this.gap();
  }

  /** Counts one eligible request; true when this one is to fail. */
  next(): boolean {
    if (this.rate <= 0) return false;
    this.untilNext -= 1;
    if (this.untilNext > 0) return false;
    this.untilNext = this.gap();
    return true;
  }

  private gap(): number {
    if (this.rate <= 0) return Number.POSITIVE_INFINITY;
    const span = Math.max(1, Math.round(2 / Math.min(1, this.rate)) - 1);
    return 1 + Math.floor(this.random() * span);
  }
}

export interface DynamoDbFaultOptions {
  /** Share of eligible requests that get each kind of fault, 0..1; 0 injects nothing. */
  readonly rate: number;
  /** The kinds injected. @default every kind */
  readonly kinds?: readonly DynamoDbFaultKind[];
  readonly random: () => number;
  /** Called once per fault injected, with its kind. */
  readonly onFault: (kind: DynamoDbFaultKind) => void;
}

/** Adds the fault middleware to the client (and so to every client sharing its middleware stack). */
export function injectDynamoDbFaults(dynamoDb: DynamoDBDocumentClient, options: DynamoDbFaultOptions): void {
  if (options.rate <= 0) return;
  const kinds = options.kinds ?? DYNAMODB_FAULT_KINDS;
  const schedules = new Map(kinds.map((kind) => [kind, new FaultSchedule(options.rate, options.random)]));
  let throttles = 0;
  dynamoDb.middlewareStack.add(
    (next, context) => async (args) => {
      const transaction = context.commandName === 'TransactWriteItemsCommand';
      // Conflicts only exist for transactions; the first kind whose turn it is fires.
      const kind = kinds.find(
        (each) => (each !== 'conflict' || transaction) && schedules.get(each)?.next() === true,
      );
      if (kind === undefined) return next(args);
      if (kind === 'lost-response') {
        await next(args);
        options.onFault(kind);
        throw new LostResponseError(context.commandName ?? 'request');
      }
      options.onFault(kind);
      if (kind === 'conflict') {
        const items = 'TransactItems' in args.input ? (args.input.TransactItems?.length ?? 1) : 1;
        throw conflict(items, Math.floor(options.random() * items));
      }
      if (kind === 'throttle') throw throttle(throttles++);
      throw new InternalServerError({
        message: `${INJECTED}: internal server error`,
        $metadata: status(500),
      });
    },
    { step: 'initialize', name: 'onceflowLocalDynamoDbFaults' },
  );
}

const INJECTED = 'Injected by npm start';

/** What the Node.js SDK throws when a request times out: the runtime cannot know whether it was applied. */
export class LostResponseError extends Error {
  override readonly name = 'TimeoutError';

  constructor(commandName: string) {
    super(`${INJECTED}: ${commandName} was applied by DynamoDB, but its response was lost`);
  }
}

function status(httpStatusCode: number) {
  return { httpStatusCode, attempts: 1, totalRetryDelay: 0 };
}

/** Alternates between DynamoDB's two throttling errors. */
function throttle(count: number): Error {
  const message = `${INJECTED}: throttled`;
  return count % 2 === 0
    ? new ProvisionedThroughputExceededException({ message, $metadata: status(400) })
    : new ThrottlingException({ message, $metadata: status(400) });
}

/** A cancelled transaction in which one item was caught in another transaction; nothing was applied. */
function conflict(items: number, victim: number): TransactionCanceledException {
  return new TransactionCanceledException({
    message: `${INJECTED}: Transaction cancelled, please refer cancellation reasons for specific reasons`,
    $metadata: status(400),
    CancellationReasons: Array.from({ length: items }, (_, index) =>
      index === victim
        ? { Code: 'TransactionConflict', Message: 'Transaction is ongoing for the item' }
        : { Code: 'None' },
    ),
  });
}
