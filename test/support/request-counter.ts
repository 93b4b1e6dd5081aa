import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** Counts the requests a client really sends (one per HTTP attempt), by operation, with SDK middleware. */
export class RequestCounter {
  private readonly counts = new Map<string, number>();

  static attachTo(client: DynamoDBDocumentClient): RequestCounter {
    const counter = new RequestCounter();
    client.middlewareStack.add(
      (next, context) => async (args) => {
        counter.record(context.commandName ?? 'unknown');
        return next(args);
      },
      { step: 'finalizeRequest', name: `requestCounter-${Math.random()}` },
    );
    return counter;
  }

  private record(operation: string): void {
    this.counts.set(operation, (this.counts.get(operation) ?? 0) + 1);
  }

  get total(): number {
    let sum = 0;
    for (const count of this.counts.values()) sum += count;
    return sum;
  }

  byOperation(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }

  reset(): void {
    this.counts.clear();
  }
}
