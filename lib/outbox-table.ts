import type { RemovalPolicy } from 'aws-cdk-lib';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { OUTBOX_TABLE } from '../lambda/contract/index.js';
import { createStateTable } from './state-table.js';

export interface OutboxTableProps {
  /** What happens to the table when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

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
export class OutboxTable extends Construct {
  readonly table: Table;

  constructor(scope: Construct, id: string, props: OutboxTableProps = {}) {
    super(scope, id);
    this.table = createStateTable(this, 'Table', OUTBOX_TABLE, props.removalPolicy);
  }
}
