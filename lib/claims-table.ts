import type { Construct } from 'constructs';
import { CLAIMS_TABLE } from '../lambda/contract/index.js';
import { StateTable, type StateTableProps } from './state-table.js';

export type ClaimsTableProps = StateTableProps;

/**
 * The claims table of docs/design.md section 2: on demand, partition key `messageId` (no static key, so load spreads
 * over partitions), TTL on `expiresAtEpochSeconds`, point-in-time recovery, kept when the stack goes.
 *
 * @example
 * const claims = new ClaimsTable(this, 'Claims');
 * claims.table.grantReadWriteData(fn);
 */
export class ClaimsTable extends StateTable {
  constructor(scope: Construct, id: string, props: ClaimsTableProps = {}) {
    super(scope, id, CLAIMS_TABLE, props);
  }
}
