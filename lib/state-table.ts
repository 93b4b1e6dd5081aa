import { RemovalPolicy } from 'aws-cdk-lib';
import { type Attribute, AttributeType, BillingMode, StreamViewType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import type { KeyAttribute, TableSchema } from '../lambda/contract/index.js';

/**
 * A table that holds Onceflow's state, built from its schema in the deployment contract (the runtime writes
 * those attribute names; the test kit creates the same table locally): on demand, TTL and stream as the schema
 * says, point-in-time recovery, kept when the stack goes unless told otherwise.
 */
export function createStateTable(
  scope: Construct,
  id: string,
  schema: TableSchema,
  removalPolicy: RemovalPolicy = RemovalPolicy.RETAIN,
): Table {
  return new Table(scope, id, {
    partitionKey: keyAttribute(schema.partitionKey),
    ...(schema.sortKey === undefined ? {} : { sortKey: keyAttribute(schema.sortKey) }),
    billingMode: BillingMode.PAY_PER_REQUEST,
    ...(schema.stream === undefined ? {} : { stream: StreamViewType.NEW_IMAGE }),
    ...(schema.ttlAttribute === undefined ? {} : { timeToLiveAttribute: schema.ttlAttribute }),
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    removalPolicy,
  });
}

function keyAttribute(key: KeyAttribute): Attribute {
  return { name: key.name, type: key.type === 'S' ? AttributeType.STRING : AttributeType.NUMBER };
}

export interface StateTableProps {
  /** What happens to the table when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/** A construct holding one state table built from its contract schema; `ClaimsTable` and `OutboxTable` are two. */
export abstract class StateTable extends Construct {
  readonly table: Table;

  protected constructor(scope: Construct, id: string, schema: TableSchema, props: StateTableProps) {
    super(scope, id);
    this.table = createStateTable(this, 'Table', schema, props.removalPolicy);
  }
}
