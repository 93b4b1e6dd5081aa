import type { ConsumedCapacity, DynamoDBClient } from '@aws-sdk/client-dynamodb';

/** Operations that read; everything else the bench sends writes. */
const READ_COMMANDS: ReadonlySet<string> = new Set([
  'GetItemCommand',
  'BatchGetItemCommand',
  'QueryCommand',
  'ScanCommand',
  'TransactGetItemsCommand',
]);

/** Operations that accept ReturnConsumedCapacity (control-plane calls such as CreateTable refuse it). */
const METERED_COMMANDS: ReadonlySet<string> = new Set([
  ...READ_COMMANDS,
  'PutItemCommand',
  'UpdateItemCommand',
  'DeleteItemCommand',
  'BatchWriteItemCommand',
  'TransactWriteItemsCommand',
]);

/**
 * What refused writes cost, which their error answers do not report. AWS documents that a write whose condition
 * fails is still charged (by item size, at least 1 WRU), and that a cancelled TransactWriteItems consumes capacity
 * too; the bench charges the cancelled transaction in full, as if it had committed: 2 WRU per item (the most it can
 * cost, so a design that avoids cancellations is never flattered).
 */
export const REFUSED_WRITE_UNITS = 1;
export const REFUSED_TRANSACTION_WRITE_UNITS_PER_ITEM = 2;

/** Read units per item read (every item here is under 4 KB): eventually consistent half a unit, strongly one. */
const EVENTUALLY_CONSISTENT_READ_UNITS = 0.5;
const STRONGLY_CONSISTENT_READ_UNITS = 1;

/** What one client sent and what DynamoDB charged for it, since the last reset. */
export interface MeterReading {
  /** HTTP requests sent (retries included), by operation. */
  readonly requestsByOperation: Record<string, number>;
  readonly requests: number;
  /** Write request units DynamoDB reported in ConsumedCapacity (successful writes only), by table. */
  readonly reportedWriteUnitsByTable: Record<string, number>;
  readonly reportedWriteUnits: number;
  readonly reportedReadUnits: number;
  /**
   * Read units computed from each request by the documented rules: per key asked for, found or not, 0.5 when
   * eventually consistent and 1 when strongly consistent, 2 inside TransactGetItems.
   */
  readonly computedReadUnits: number;
  /**
   * Write units for refused writes, which answer with an error and so carry no ConsumedCapacity: a failed condition
   * is still charged. Estimated: see REFUSED_WRITE_UNITS and REFUSED_TRANSACTION_WRITE_UNITS_PER_ITEM.
   */
  readonly estimatedRefusedWriteUnits: number;
  /**
   * Write units of the successful writes computed from the documented rules, from each request: 1 WRU per started
   * KB of each item written, 2 inside a transaction. DynamoDB Local's own figure is wrong for transactions that
   * write several items of one table (it reports 2 per table), so this is the figure the report uses.
   */
  readonly computedWriteUnits: number;
  /** Refused writes: conditional check failures and cancelled transactions. */
  readonly refusedWrites: number;
  /** Items written by successful requests. */
  readonly itemsWritten: number;
}

/**
 * Counts a DynamoDB client's requests and the capacity it consumes, with SDK middleware: every data-plane request
 * asks for ReturnConsumedCapacity TOTAL, and the units in each response are summed. A document client built with
 * `DynamoDBDocumentClient.from(client)` shares the client's middleware stack, so it is metered too.
 *
 * @example
 * const meter = DynamoDbMeter.attachTo(client);
 * await client.send(new PutItemCommand({ TableName: 't', Item: { id: { S: 'a' } } }));
 * meter.read().requests; // 1
 */
export class DynamoDbMeter {
  private requestsByOperation = new Map<string, number>();
  private reportedWriteUnitsByTable = new Map<string, number>();
  private reportedReadUnits = 0;
  private computedReadUnits = 0;
  private estimatedRefusedWriteUnits = 0;
  private computedWriteUnits = 0;
  private refusedWrites = 0;
  private itemsWritten = 0;

  private constructor() {}

  static attachTo(client: DynamoDBClient): DynamoDbMeter {
    const meter = new DynamoDbMeter();
    const id = Math.random().toString(36).slice(2);
    // Initialize runs once per call, around every retry, so it sees the final response or the final error.
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const operation = context.commandName ?? 'unknown';
        if (!METERED_COMMANDS.has(operation)) return next(args);
        Object.assign(args.input, { ReturnConsumedCapacity: 'TOTAL' });
        try {
          const result = await next(args);
          meter.recordCapacity(operation, consumedCapacityOf(result.output));
          meter.recordWrites(operation, args.input);
          meter.recordReads(operation, args.input);
          return result;
        } catch (error) {
          meter.recordRefusal(operation, args.input, error);
          throw error;
        }
      },
      { step: 'initialize', name: `benchCapacityMeter-${id}` },
    );
    // finalizeRequest runs once per HTTP attempt: the request count includes SDK retries.
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const operation = context.commandName ?? 'unknown';
        // A container checks its claims table once at its first invocation: a per-container cost, not per message.
        if (operation === 'DescribeTableCommand') return next(args);
        meter.requestsByOperation.set(operation, (meter.requestsByOperation.get(operation) ?? 0) + 1);
        return next(args);
      },
      { step: 'finalizeRequest', name: `benchRequestCounter-${id}` },
    );
    return meter;
  }

  read(): MeterReading {
    const requestsByOperation = Object.fromEntries(this.requestsByOperation);
    const reportedWriteUnitsByTable = Object.fromEntries(this.reportedWriteUnitsByTable);
    return {
      requestsByOperation,
      requests: sum(Object.values(requestsByOperation)),
      reportedWriteUnitsByTable,
      reportedWriteUnits: sum(Object.values(reportedWriteUnitsByTable)),
      reportedReadUnits: this.reportedReadUnits,
      computedReadUnits: this.computedReadUnits,
      estimatedRefusedWriteUnits: this.estimatedRefusedWriteUnits,
      computedWriteUnits: this.computedWriteUnits,
      refusedWrites: this.refusedWrites,
      itemsWritten: this.itemsWritten,
    };
  }

  reset(): void {
    this.requestsByOperation = new Map();
    this.reportedWriteUnitsByTable = new Map();
    this.reportedReadUnits = 0;
    this.computedReadUnits = 0;
    this.estimatedRefusedWriteUnits = 0;
    this.computedWriteUnits = 0;
    this.refusedWrites = 0;
    this.itemsWritten = 0;
  }

  private recordWrites(operation: string, input: object): void {
    if (READ_COMMANDS.has(operation)) return;
    const transactional = operation === 'TransactWriteItemsCommand';
    for (const item of writtenItems(operation, input)) {
      this.itemsWritten += 1;
      this.computedWriteUnits +=
        (transactional ? 2 : 1) * Math.max(1, Math.ceil(approximateItemBytes(item) / 1024));
    }
  }

  private recordReads(operation: string, input: object): void {
    this.computedReadUnits += computedReadUnits(operation, input);
  }

  private recordCapacity(operation: string, capacities: readonly ConsumedCapacity[]): void {
    for (const capacity of capacities) {
      const units = capacity.CapacityUnits ?? 0;
      if (READ_COMMANDS.has(operation)) {
        this.reportedReadUnits += units;
      } else {
        const table = capacity.TableName ?? 'unknown';
        this.reportedWriteUnitsByTable.set(table, (this.reportedWriteUnitsByTable.get(table) ?? 0) + units);
      }
    }
  }

  private recordRefusal(operation: string, input: object, error: unknown): void {
    const name = error instanceof Error ? error.name : '';
    if (name === 'ConditionalCheckFailedException') {
      this.refusedWrites += 1;
      this.estimatedRefusedWriteUnits += REFUSED_WRITE_UNITS;
    } else if (name === 'TransactionCanceledException' && operation === 'TransactWriteItemsCommand') {
      this.refusedWrites += 1;
      this.estimatedRefusedWriteUnits += REFUSED_TRANSACTION_WRITE_UNITS_PER_ITEM * transactItemCount(input);
    }
  }
}

/** The read units a read request is charged by the documented rules; 0 for a write. */
function computedReadUnits(operation: string, input: object): number {
  const units = (consistent: unknown) =>
    consistent === true ? STRONGLY_CONSISTENT_READ_UNITS : EVENTUALLY_CONSISTENT_READ_UNITS;
  switch (operation) {
    case 'GetItemCommand':
      return units('ConsistentRead' in input ? input.ConsistentRead : false);
    case 'BatchGetItemCommand': {
      if (!('RequestItems' in input) || input.RequestItems === null || typeof input.RequestItems !== 'object')
        return 0;
      return Object.values(input.RequestItems).reduce((total: number, request: unknown) => {
        if (request === null || typeof request !== 'object' || !('Keys' in request)) return total;
        const keys = Array.isArray(request.Keys) ? request.Keys.length : 0;
        return total + keys * units('ConsistentRead' in request ? request.ConsistentRead : false);
      }, 0);
    }
    case 'TransactGetItemsCommand':
      return 2 * transactItemCount(input);
    default:
      return 0;
  }
}

/** ConsumedCapacity is one object for single-item calls and an array (one per table) for transactions. */
function consumedCapacityOf(output: unknown): ConsumedCapacity[] {
  if (output === null || typeof output !== 'object' || !('ConsumedCapacity' in output)) return [];
  const { ConsumedCapacity: capacity } = output;
  const all: unknown[] = Array.isArray(capacity) ? capacity : [capacity];
  return all.filter(isConsumedCapacity);
}

function isConsumedCapacity(value: unknown): value is ConsumedCapacity {
  return value !== null && typeof value === 'object' && 'CapacityUnits' in value;
}

/** The write actions of a request: the transaction's items, the batch's requests, or the one item. */
function writtenItems(operation: string, input: object): unknown[] {
  if (operation === 'TransactWriteItemsCommand') {
    return 'TransactItems' in input && Array.isArray(input.TransactItems) ? input.TransactItems : [];
  }
  if (operation === 'BatchWriteItemCommand') {
    if (!('RequestItems' in input) || input.RequestItems === null || typeof input.RequestItems !== 'object')
      return [];
    return Object.values(input.RequestItems).flatMap((requests: unknown) =>
      Array.isArray(requests) ? requests : [],
    );
  }
  return [input];
}

/**
 * The size DynamoDB bills a write by, approximated from the request: a put's item, or an update's key and values
 * (the stored items in this bench are a few hundred bytes, well under the 1 KB unit, so the approximation never
 * changes a count). JSON is a little longer than DynamoDB's own encoding, so it errs on the high side.
 */
function approximateItemBytes(action: unknown): number {
  if (action === null || typeof action !== 'object') return 0;
  const inner =
    'Put' in action
      ? action.Put
      : 'Update' in action
        ? action.Update
        : 'Delete' in action
          ? action.Delete
          : action;
  if (inner === null || typeof inner !== 'object') return 0;
  if ('Item' in inner) return JSON.stringify(inner.Item).length;
  const key = 'Key' in inner ? JSON.stringify(inner.Key).length : 0;
  const values =
    'ExpressionAttributeValues' in inner ? JSON.stringify(inner.ExpressionAttributeValues).length : 0;
  return key + values;
}

function transactItemCount(input: object): number {
  return 'TransactItems' in input && Array.isArray(input.TransactItems) ? input.TransactItems.length : 1;
}

function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0);
}
