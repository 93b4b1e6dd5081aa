import type { RemovalPolicy } from 'aws-cdk-lib';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { CLAIMS_TABLE } from '../lambda/contract/index.js';
import { createStateTable } from './state-table.js';

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
    this.table = createStateTable(this, 'Table', CLAIMS_TABLE, props.removalPolicy);
  }
}
