import type { TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';

/** One write to apply atomically with the DONE record: an item of lib-dynamodb's TransactWriteCommand. */
export type StagedWrite = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/** TransactWriteItems takes at most 100 items; one of them is the claim record. */
export const MAX_STAGED_WRITES = 99;

type ItemParams<K extends 'Put' | 'Update' | 'Delete' | 'ConditionCheck'> = NonNullable<StagedWrite[K]>;

/**
 * `ctx.tx`: the writes a handler stages. They are applied atomically with the DONE record, exactly once, or not at
 * all. Each method takes the same parameters as the matching item of lib-dynamodb's TransactWriteCommand.
 *
 * @example
 * ctx.tx.update({ TableName: 'accounts', Key: { accountId }, UpdateExpression: 'ADD balanceCents :a',
 *   ExpressionAttributeValues: { ':a': 500 } });
 */
export class StagedTransaction {
  private readonly writes: StagedWrite[] = [];

  put(params: ItemParams<'Put'>): void {
    this.writes.push({ Put: params });
  }

  update(params: ItemParams<'Update'>): void {
    this.writes.push({ Update: params });
  }

  delete(params: ItemParams<'Delete'>): void {
    this.writes.push({ Delete: params });
  }

  conditionCheck(params: ItemParams<'ConditionCheck'>): void {
    this.writes.push({ ConditionCheck: params });
  }

  /** The writes staged so far, in order. */
  get staged(): readonly StagedWrite[] {
    return this.writes;
  }
}
