import { fileURLToPath } from 'node:url';
import { CfnOutput, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { Topic } from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { ExactlyOnceConsumer } from 'onceflow/cdk';
import { APP_ENVIRONMENT } from '../lambda/app/contract.js';
import { LedgerTables } from './ledger-tables.js';
import { readOnceflowSettings } from './onceflow-settings.js';

/** The reference ledger's handler entry. */
export const LEDGER_HANDLER_ENTRY = fileURLToPath(new URL('../lambda/handlers/ledger.ts', import.meta.url));

/** The handler entry of the ledger's second stage, fed by the ledger's outbox. */
export const NOTIFICATIONS_HANDLER_ENTRY = fileURLToPath(
  new URL('../lambda/handlers/notifications.ts', import.meta.url),
);

/**
 * The Powertools service name of the notifications stage: the `service` dimension of its metrics, so its alarms
 * count its own outcomes and not the ledger's.
 */
export const NOTIFICATIONS_SERVICE_NAME = 'onceflow-notifications';

/**
 * The deployable Onceflow stack: the reference payments ledger behind an `ExactlyOnceConsumer`, configured from
 * CDK context (see `CONTEXT_KEYS`), and its notifications stage: the ledger emits one notification per applied
 * payment through its transactional outbox, and a second `ExactlyOnceConsumer` applies each once.
 *
 * @example
 * new OnceflowStack(new App(), 'Onceflow');
 */
export class OnceflowStack extends Stack {
  /** The ledger consumer, with the outbox whose relay feeds `notifications`. */
  readonly consumer: ExactlyOnceConsumer;
  /** The notifications consumer (default settings; the context settings configure the ledger). */
  readonly notifications: ExactlyOnceConsumer;
  readonly ledger: LedgerTables;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    const settings = readOnceflowSettings(this.node);
    const tableRemovalPolicy = settings.retainTables ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    const alarmTopic =
      settings.alarmTopicArn === undefined
        ? undefined
        : Topic.fromTopicArn(this, 'AlarmTopic', settings.alarmTopicArn);

    this.ledger = new LedgerTables(this, 'Ledger', { removalPolicy: tableRemovalPolicy });
    // Created first: the ledger's outbox sends to its queue.
    this.notifications = new ExactlyOnceConsumer(this, 'Notifications', {
      entry: NOTIFICATIONS_HANDLER_ENTRY,
      serviceName: NOTIFICATIONS_SERVICE_NAME,
      // A pure DynamoDB write with no external side effect: optimistic mode saves the claim request.
      mode: 'optimistic',
      claimsTableRemovalPolicy: tableRemovalPolicy,
      alarmTopic,
      environment: { [APP_ENVIRONMENT.notificationsTableName]: this.ledger.notifications.tableName },
    });
    this.ledger.grantNotificationWrites(this.notifications.function);

    this.consumer = new ExactlyOnceConsumer(this, 'Consumer', {
      entry: LEDGER_HANDLER_ENTRY,
      mode: settings.mode,
      batchSize: settings.batchSize,
      maxConcurrency: settings.maxConcurrency,
      functionTimeout: settings.functionTimeout,
      memorySize: settings.memorySize,
      claimsTableRemovalPolicy: tableRemovalPolicy,
      alarmTopic,
      environment: {
        [APP_ENVIRONMENT.ledgerAccountsTableName]: this.ledger.accounts.tableName,
        [APP_ENVIRONMENT.ledgerEntriesTableName]: this.ledger.entries.tableName,
        [APP_ENVIRONMENT.notificationsQueueUrl]: this.notifications.queue.queueUrl,
      },
      outbox: { targets: [this.notifications.queue], tableRemovalPolicy },
    });
    this.ledger.grantLedgerWrites(this.consumer.function);

    addOutputs(this);
  }
}

/** What `cdk deploy` prints: where to send messages, and the names to look things up by. */
function addOutputs(stack: OnceflowStack): void {
  const output = (name: string, value: string, description: string) =>
    new CfnOutput(stack, name, { value, description });
  output('QueueUrl', stack.consumer.queue.queueUrl, 'Send ledger messages here.');
  output('DeadLetterQueueUrl', stack.consumer.deadLetterQueue.queueUrl, 'Parked and exhausted messages.');
  output('ClaimsTableName', stack.consumer.table.tableName, 'One claim record per messageId.');
  output('AccountsTableName', stack.ledger.accounts.tableName, 'Balance per account.');
  output('EntriesTableName', stack.ledger.entries.tableName, 'One entry per applied messageId.');
  output('FunctionName', stack.consumer.function.functionName, 'The consumer function.');
  output('DashboardName', stack.consumer.dashboard.dashboard.dashboardName, 'The CloudWatch dashboard.');
  const outbox = stack.consumer.outbox;
  if (outbox !== undefined) {
    output('OutboxTableName', outbox.table.tableName, 'Notifications staged by committed ledger messages.');
    output('RelayFunctionName', outbox.relayFunction.functionName, 'The outbox relay function.');
    output(
      'RelayDeadLetterQueueUrl',
      outbox.relayDeadLetterQueue.queueUrl,
      'Undeliverable outbox items and exhausted stream batches.',
    );
  }
  output('NotificationsQueueUrl', stack.notifications.queue.queueUrl, 'Where the relay sends notifications.');
  output(
    'NotificationsDeadLetterQueueUrl',
    stack.notifications.deadLetterQueue.queueUrl,
    'Parked and exhausted notifications.',
  );
  output(
    'NotificationsTableName',
    stack.ledger.notifications.tableName,
    'One item per applied notification.',
  );
  output(
    'NotificationsDashboardName',
    stack.notifications.dashboard.dashboard.dashboardName,
    'The notifications stage dashboard.',
  );
}
