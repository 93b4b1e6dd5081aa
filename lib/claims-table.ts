import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { CLAIMS_TABLE } from '../lambda/contract/index.js';

export interface ClaimsTableProps {
  /** What happens to the table when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The claims table of DESIGN.md section 2: on demand, partition key `messageId` (no static key, so load spreads
 * over partitions), TTL on `expiresAtEpochSeconds`, point-in-time recovery, kept when the stack goes.
 *
 * @example
 * const claims = new ClaimsTable(this, 'Claims');
 * claims.table.grantReadWriteData(fn);
 */
export class ClaimsTable extends Construct {
  readonly table: Table;

  constructor(scope: Construct, id: string, props: ClaimsTableProps = {}) {
    super(scope, id);
    this.table = new Table(this, 'Table', {
      partitionKey: { name: CLAIMS_TABLE.partitionKey.name, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: CLAIMS_TABLE.ttlAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
  }
}
