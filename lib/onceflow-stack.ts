import { fileURLToPath } from 'node:url';
import { CfnOutput, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { Topic } from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { ENVIRONMENT } from '../lambda/runtime-contract.js';
import { ExactlyOnceConsumer } from './exactly-once-consumer.js';
import { LedgerTables } from './ledger-tables.js';
import { readOnceflowSettings } from './onceflow-settings.js';

/** The reference ledger's handler entry. */
export const LEDGER_HANDLER_ENTRY = fileURLToPath(new URL('../lambda/handlers/ledger.ts', import.meta.url));

/**
 * The deployable Onceflow stack: the reference payments ledger behind an `ExactlyOnceConsumer`, configured from
 * CDK context (see `CONTEXT_KEYS`).
 *
 * @example
 * new OnceflowStack(new App(), 'Onceflow');
 */
export class OnceflowStack extends Stack {
  readonly consumer: ExactlyOnceConsumer;
  readonly ledger: LedgerTables;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    const settings = readOnceflowSettings(this.node);
    const tableRemovalPolicy = settings.retainTables ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    this.ledger = new LedgerTables(this, 'Ledger', { removalPolicy: tableRemovalPolicy });
    this.consumer = new ExactlyOnceConsumer(this, 'Consumer', {
      entry: LEDGER_HANDLER_ENTRY,
      mode: settings.mode,
      batchSize: settings.batchSize,
      maxConcurrency: settings.maxConcurrency,
      functionTimeout: settings.functionTimeout,
      memorySize: settings.memorySize,
      claimsTableRemovalPolicy: tableRemovalPolicy,
      alarmTopic:
        settings.alarmTopicArn === undefined
          ? undefined
          : Topic.fromTopicArn(this, 'AlarmTopic', settings.alarmTopicArn),
      environment: {
        [ENVIRONMENT.ledgerAccountsTableName]: this.ledger.accounts.tableName,
        [ENVIRONMENT.ledgerEntriesTableName]: this.ledger.entries.tableName,
      },
    });
    this.ledger.grantLedgerWrites(this.consumer.function);

    const output = (name: string, value: string, description: string) =>
      new CfnOutput(this, name, { value, description });
    output('QueueUrl', this.consumer.queue.queueUrl, 'Send ledger messages here.');
    output('DeadLetterQueueUrl', this.consumer.deadLetterQueue.queueUrl, 'Parked and exhausted messages.');
    output('ClaimsTableName', this.consumer.table.tableName, 'One claim record per messageId.');
    output('AccountsTableName', this.ledger.accounts.tableName, 'Balance per account.');
    output('EntriesTableName', this.ledger.entries.tableName, 'One entry per applied messageId.');
    output('FunctionName', this.consumer.function.functionName, 'The consumer function.');
    output('DashboardName', this.consumer.dashboard.dashboard.dashboardName, 'The CloudWatch dashboard.');
  }
}
