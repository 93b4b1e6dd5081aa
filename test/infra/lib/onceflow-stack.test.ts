import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { APP_ENVIRONMENT } from '../../../lambda/app/contract.js';
import { ENVIRONMENT } from '../../../lambda/contract/index.js';
import { bundledHandlerFile } from '../../../lib/bundled-function.js';
import { ContextValueError } from '../../../lib/errors.js';
import { NOTIFICATIONS_SERVICE_NAME, OnceflowStack } from '../../../lib/onceflow-stack.js';
import { allowedActions, arnOf, logicalIdOf } from '../support.js';

/** The deployable stack as `npm run synth` builds it, bundling the real ledger handler once for the file. */
const stack = new OnceflowStack(new App(), 'Onceflow');
const template = Template.fromStack(stack);

const accountsId = logicalIdOf(template, 'AWS::DynamoDB::Table', 'LedgerAccounts');
const entriesId = logicalIdOf(template, 'AWS::DynamoDB::Table', 'LedgerEntries');
const claimsId = logicalIdOf(template, 'AWS::DynamoDB::Table', 'ConsumerClaims');
const roleId = logicalIdOf(template, 'AWS::IAM::Role', 'ConsumerRole');
const notificationsTableId = logicalIdOf(template, 'AWS::DynamoDB::Table', 'LedgerNotifications');
const notificationsClaimsId = logicalIdOf(template, 'AWS::DynamoDB::Table', 'NotificationsClaims');
const notificationsQueueId = logicalIdOf(template, 'AWS::SQS::Queue', 'NotificationsQueue');
const notificationsRoleId = logicalIdOf(template, 'AWS::IAM::Role', 'NotificationsRole');
const outboxTableId = logicalIdOf(template, 'AWS::DynamoDB::Table', 'ConsumerOutboxTable');
const relayRoleId = logicalIdOf(template, 'AWS::IAM::Role', 'ConsumerOutboxRelayRole');
const relayDlqId = logicalIdOf(template, 'AWS::SQS::Queue', 'ConsumerOutboxRelayDeadLetterQueue');

function stackWithContext(context: Record<string, unknown>): Template {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [], ...context } });
  return Template.fromStack(new OnceflowStack(app, 'Onceflow'));
}

describe('OnceflowStack', () => {
  it.each([
    ['accounts', () => accountsId, 'accountId'],
    ['entries', () => entriesId, 'messageId'],
    ['notifications', () => notificationsTableId, 'messageId'],
  ])('keeps the ledger %s table on demand, with point-in-time recovery, retained', (_name, id, key) => {
    expect(template.toJSON().Resources[id()]).toMatchObject({
      DeletionPolicy: 'Retain',
      Properties: {
        KeySchema: [{ AttributeName: key, KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      },
    });
  });

  it('runs the ledger handler and tells it where its tables are', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Environment: {
        Variables: Match.objectLike({
          [APP_ENVIRONMENT.ledgerAccountsTableName]: { Ref: accountsId },
          [APP_ENVIRONMENT.ledgerEntriesTableName]: { Ref: entriesId },
          [ENVIRONMENT.claimsTableName]: { Ref: claimsId },
          [ENVIRONMENT.outboxTableName]: { Ref: outboxTableId },
          [APP_ENVIRONMENT.notificationsQueueUrl]: { Ref: notificationsQueueId },
        }),
      },
    });
  });

  it('lets the ledger update balances, put entries and stage outbox items, and nothing more on its tables', () => {
    const allowed = allowedActions(template, roleId);
    expect(allowed.get('dynamodb:UpdateItem')).toEqual(new Set([arnOf(claimsId), arnOf(accountsId)]));
    expect(allowed.get('dynamodb:PutItem')).toEqual(new Set([arnOf(entriesId), arnOf(outboxTableId)]));
    // DescribeTable: the runtime's cold-start check of its claims table; BatchGetItem: the batch read. That table only.
    expect(allowed.get('dynamodb:DescribeTable')).toEqual(new Set([arnOf(claimsId)]));
    expect(allowed.get('dynamodb:BatchGetItem')).toEqual(new Set([arnOf(claimsId)]));
    expect([...allowed.keys()].filter((action) => action.startsWith('dynamodb:')).sort()).toEqual([
      'dynamodb:BatchGetItem',
      'dynamodb:DescribeTable',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
    ]);
  });

  it('relays the ledger outbox to the notifications queue, and to no other queue', () => {
    const sends = allowedActions(template, relayRoleId).get('sqs:SendMessage');
    expect(sends).toEqual(new Set([arnOf(notificationsQueueId), arnOf(relayDlqId)]));
  });

  it('runs the notifications handler under its own service name, with its table', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          [APP_ENVIRONMENT.notificationsTableName]: { Ref: notificationsTableId },
          [ENVIRONMENT.claimsTableName]: { Ref: notificationsClaimsId },
          [ENVIRONMENT.sourceQueueUrl]: { Ref: notificationsQueueId },
          POWERTOOLS_SERVICE_NAME: NOTIFICATIONS_SERVICE_NAME,
        }),
      },
    });
  });

  it('lets the notifications stage update its claims and notifications only, and gives it no outbox', () => {
    const allowed = allowedActions(template, notificationsRoleId);
    expect(allowed.get('dynamodb:UpdateItem')).toEqual(
      new Set([arnOf(notificationsClaimsId), arnOf(notificationsTableId)]),
    );
    expect(allowed.get('dynamodb:DescribeTable')).toEqual(new Set([arnOf(notificationsClaimsId)]));
    expect(allowed.get('dynamodb:BatchGetItem')).toEqual(new Set([arnOf(notificationsClaimsId)]));
    expect([...allowed.keys()].filter((action) => action.startsWith('dynamodb:')).sort()).toEqual([
      'dynamodb:BatchGetItem',
      'dynamodb:DescribeTable',
      'dynamodb:UpdateItem',
    ]);
    expect(stack.notifications.outbox).toBeUndefined();
  });

  it.each([
    ['ledger', () => stack.consumer.bundledHandlerFile],
    ['notifications', () => stack.notifications.bundledHandlerFile],
    [
      'outbox relay',
      () => (stack.consumer.outbox ? bundledHandlerFile(stack.consumer.outbox.relayFunction) : ''),
    ],
  ])(
    'bundles the %s handler into a self-contained ES module that exports only handler',
    async (_name, bundled) => {
      const file = bundled();
      expect(file).toMatch(/asset\.[0-9a-f]{64}\/index\.mjs$/);
      const code = readFileSync(file ?? '', 'utf8');
      const module: Record<string, unknown> = await import(pathToFileURL(file ?? '').href);
      expect(Object.keys(module)).toEqual(['handler']);
      expect(typeof module.handler).toBe('function');
      // Only Node built-ins are imported: the AWS SDK and Powertools are inside the bundle, not taken from the runtime.
      const imported = [...code.matchAll(/^import .* from ["']([^"']+)["']/gm)].map((match) => match[1]);
      expect(imported.filter((specifier) => !specifier?.startsWith('node:'))).toEqual([]);
    },
  );

  it.each([
    'QueueUrl',
    'DeadLetterQueueUrl',
    'ClaimsTableName',
    'AccountsTableName',
    'EntriesTableName',
    'FunctionName',
    'DashboardName',
    'OutboxTableName',
    'RelayFunctionName',
    'RelayDeadLetterQueueUrl',
    'NotificationsQueueUrl',
    'NotificationsDeadLetterQueueUrl',
    'NotificationsTableName',
    'NotificationsDashboardName',
  ])('outputs %s for the operator', (name) => {
    template.hasOutput(name, { Value: Match.anyValue() });
  });

  it('takes its consumer settings from CDK context, as strings from the command line', () => {
    const t = stackWithContext({
      'onceflow:mode': 'optimistic',
      'onceflow:batchSize': '5',
      'onceflow:maxConcurrency': '20',
      'onceflow:functionTimeoutSeconds': '60',
      'onceflow:memorySizeMb': 1024,
    });
    t.hasResourceProperties('AWS::Lambda::Function', {
      Timeout: 60,
      MemorySize: 1024,
      Environment: {
        Variables: Match.objectLike({ [ENVIRONMENT.mode]: 'optimistic', [ENVIRONMENT.leaseMs]: '90000' }),
      },
    });
    t.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 5,
      ScalingConfig: { MaximumConcurrency: 20 },
    });
    t.hasResourceProperties('AWS::SQS::Queue', { VisibilityTimeout: 360, RedrivePolicy: Match.anyValue() });
  });

  it('deletes every table on teardown when told not to retain them', () => {
    const t = stackWithContext({ 'onceflow:retainTables': 'false' });
    const tables = Object.values(t.findResources('AWS::DynamoDB::Table'));
    // Ledger accounts, entries and notifications, both claims tables, and the outbox.
    expect(tables.map((table) => table.DeletionPolicy)).toEqual(Array(6).fill('Delete'));
  });

  it('sends every alarm to the topic named in context', () => {
    const arn = 'arn:aws:sns:eu-west-1:111122223333:pager';
    const alarms = Object.values(
      stackWithContext({ 'onceflow:alarmTopicArn': arn }).findResources('AWS::CloudWatch::Alarm'),
    );
    // 9 per consumer, and 3 for the ledger's outbox relay.
    expect(alarms).toHaveLength(10 + 3 + 10);
    for (const alarm of alarms) expect(alarm.Properties.AlarmActions).toEqual([arn]);
  });

  it.each([
    ['onceflow:mode', 'fast', 'CDK context value onceflow:mode="fast" is not "lease" or "optimistic".'],
    ['onceflow:batchSize', 'ten', 'CDK context value onceflow:batchSize="ten" is not a positive integer.'],
    ['onceflow:retainTables', 'yes', 'CDK context value onceflow:retainTables="yes" is not true or false.'],
  ])('refuses an unreadable %s', (key, value, message) => {
    let thrown: unknown;
    try {
      stackWithContext({ [key]: value });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ContextValueError);
    expect(thrown).toHaveProperty('message', message);
  });

  it('synthesizes the template of the snapshot, asset hashes masked', () => {
    const masked = JSON.parse(JSON.stringify(template.toJSON()).replaceAll(/[0-9a-f]{64}/g, '<asset-hash>'));
    expect(masked).toMatchSnapshot();
  });
});
