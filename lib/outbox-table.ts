import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, StreamViewType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { OUTBOX_TABLE } from '../lambda/contract/index.js';

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
    this.table = new Table(this, 'Table', {
      partitionKey: { name: OUTBOX_TABLE.partitionKey.name, type: AttributeType.STRING },
      sortKey: { name: OUTBOX_TABLE.sortKey.name, type: AttributeType.NUMBER },
      billingMode: BillingMode.PAY_PER_REQUEST,
      stream: StreamViewType.NEW_IMAGE,
      timeToLiveAttribute: OUTBOX_TABLE.ttlAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
  }
}
