import type { Construct } from 'constructs';
import { OUTBOX_TABLE } from '../lambda/contract/index.js';
import { StateTable, type StateTableProps } from './state-table.js';

export type OutboxTableProps = StateTableProps;

/**
 * The transactional outbox table: one item per message a handler stages with `ctx.outbox.send`, written in the
 * same transaction as the DONE record. Partition key `sourceMessageId` and numeric sort key `index`, so the items
 * of one source message share a partition and reach the stream in order; a stream of new images, which is all the
 * relay reads; TTL on `expiresAtEpochSeconds`; point-in-time recovery; kept when the stack goes, because an item
 * not yet relayed is a message not yet sent.
 *
 * @example
 * const outbox = new OutboxTable(this, 'Outbox');
 * outbox.table.grant(consumerFunction, 'dynamodb:PutItem');
 */
export class OutboxTable extends StateTable {
  constructor(scope: Construct, id: string, props: OutboxTableProps = {}) {
    super(scope, id, OUTBOX_TABLE, props);
  }
}
