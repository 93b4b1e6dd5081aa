import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table } from 'aws-cdk-lib/aws-dynamodb';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';

/**
 * Partition keys of the reference ledger, as `LEDGER_KEYS` in lambda/app/ledger.ts (a test keeps them equal).
 * Not imported from there, so a synth never depends on the application module loading.
 */
export const LEDGER_TABLE_KEYS = { accounts: 'accountId', entries: 'messageId' } as const;

export interface LedgerTablesProps {
  /** What happens to both tables when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The tables of the reference payments ledger (DESIGN.md section 7): balances per account, and one entry per
 * applied messageId, so an audit can compare both with what was sent.
 *
 * @example
 * const ledger = new LedgerTables(this, 'Ledger');
 * ledger.grantLedgerWrites(consumer.function);
 */
export class LedgerTables extends Construct {
  /** Partition key `accountId` (string); the handler adds to `balanceCents`. */
  readonly accounts: Table;
  /** Partition key `messageId` (string); one item per applied payment. */
  readonly entries: Table;

  constructor(scope: Construct, id: string, props: LedgerTablesProps = {}) {
    super(scope, id);
    const common = {
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    };
    this.accounts = new Table(this, 'Accounts', {
      ...common,
      partitionKey: { name: LEDGER_TABLE_KEYS.accounts, type: AttributeType.STRING },
    });
    this.entries = new Table(this, 'Entries', {
      ...common,
      partitionKey: { name: LEDGER_TABLE_KEYS.entries, type: AttributeType.STRING },
    });
  }

  /** Exactly what the ledger handler stages in its commit: an update of the balance, a put of the entry. */
  grantLedgerWrites(grantee: IGrantable): void {
    this.accounts.grant(grantee, 'dynamodb:UpdateItem');
    this.entries.grant(grantee, 'dynamodb:PutItem');
  }
}
