import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { ClaimsTable } from './claims-table.js';

/** The deployable Onceflow stack. */
export class OnceflowStack extends Stack {
  readonly claims: ClaimsTable;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    this.claims = new ClaimsTable(this, 'Claims');
  }
}
