import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table } from 'aws-cdk-lib/aws-dynamodb';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
// The application's own key names: one definition for the code that writes the tables and for the tables.
import { LEDGER_KEYS, NOTIFICATIONS_KEY } from '../lambda/app/contract.js';

export interface LedgerTablesProps {
  /** What happens to both tables when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The tables of the reference payments ledger (see the README): balances per account, and one entry per
 * applied messageId, so an audit can compare both with what was sent; and the table of its notifications stage,
 * one item per notification with the number of times it was applied.
 *
 * @example
 * const ledger = new LedgerTables(this, 'Ledger');
 * ledger.grantLedgerWrites(consumer.function);
 * ledger.grantNotificationWrites(notifications.function);
 */
export class LedgerTables extends Construct {
  /** Partition key `accountId` (string); the handler adds to `balanceCents`. */
  readonly accounts: Table;
  /** Partition key `messageId` (string); one item per applied payment. */
  readonly entries: Table;
  /** Partition key `messageId` (string, the outbox's `<paymentMessageId>#<index>`); `applyCount` counts applies. */
  readonly notifications: Table;

  constructor(scope: Construct, id: string, props: LedgerTablesProps = {}) {
    super(scope, id);
    const common = {
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    };
    this.accounts = new Table(this, 'Accounts', {
      ...common,
      partitionKey: { name: LEDGER_KEYS.accounts, type: AttributeType.STRING },
    });
    this.entries = new Table(this, 'Entries', {
      ...common,
      partitionKey: { name: LEDGER_KEYS.entries, type: AttributeType.STRING },
    });
    this.notifications = new Table(this, 'Notifications', {
      ...common,
      partitionKey: { name: NOTIFICATIONS_KEY, type: AttributeType.STRING },
    });
  }

  /** Exactly what the ledger handler stages in its commit: an update of the balance, a put of the entry. */
  grantLedgerWrites(grantee: IGrantable): void {
    this.accounts.grant(grantee, 'dynamodb:UpdateItem');
    this.entries.grant(grantee, 'dynamodb:PutItem');
  }

  /** Exactly what the notifications handler stages in its commit: one update per notification. */
  grantNotificationWrites(grantee: IGrantable): void {
    this.notifications.grant(grantee, 'dynamodb:UpdateItem');
  }
}
