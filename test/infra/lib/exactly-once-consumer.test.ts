import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { App, Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { AttributeType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { describe, expect, it } from 'vitest';
import { ENVIRONMENT, METRICS_NAMESPACE, RUNTIME_DEFAULTS } from '../../../lambda/contract/index.js';
import { allowedActions, arnOf, logicalIdOf, synth } from '../support.js';

/** The one consumer that goes through the bundler; every other test skips bundling to stay fast. */
const { consumer: bundled, template } = synth({}, undefined, new App());

const queueId = logicalIdOf(template, 'AWS::SQS::Queue', 'ConsumerQueue');
const dlqId = logicalIdOf(template, 'AWS::SQS::Queue', 'ConsumerDeadLetterQueue');
const tableId = logicalIdOf(template, 'AWS::DynamoDB::Table', 'ConsumerClaims');
const roleId = logicalIdOf(template, 'AWS::IAM::Role', 'ConsumerRole');
const logGroupId = logicalIdOf(template, 'AWS::Logs::LogGroup', 'ConsumerLogGroup');

describe('ExactlyOnceConsumer claims table', () => {
  it('keys on messageId, bills on demand, expires by TTL, keeps point-in-time recovery and is retained', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      Properties: {
        KeySchema: [{ AttributeName: 'messageId', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
        TimeToLiveSpecification: { AttributeName: 'expiresAtEpochSeconds', Enabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      },
    });
  });

  it('is deleted with the stack when the removal policy says so', () => {
    const { template: t } = synth({ claimsTableRemovalPolicy: RemovalPolicy.DESTROY });
    t.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Delete' });
  });

  it('uses an existing table instead of creating one, and grants on it', () => {
    const { template: t } = synth({}, (stack) => ({
      existingTable: new Table(stack, 'Own', {
        partitionKey: { name: 'messageId', type: AttributeType.STRING },
      }),
    }));
    const ownId = logicalIdOf(t, 'AWS::DynamoDB::Table', 'Own');
    expect(Object.keys(t.findResources('AWS::DynamoDB::Table'))).toEqual([ownId]);
    const role = logicalIdOf(t, 'AWS::IAM::Role', 'ConsumerRole');
    expect(allowedActions(t, role).get('dynamodb:UpdateItem')).toEqual(new Set([arnOf(ownId)]));
  });
});

describe('ExactlyOnceConsumer function', () => {
  it('runs the handler on nodejs22.x, arm64, with the timeout and memory of the defaults', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      Timeout: 30,
      MemorySize: 512,
      LoggingConfig: { LogGroup: { Ref: logGroupId } },
    });
  });

  it('tells the runtime its table, queues, mode, lease and dedup window, and where its metrics go', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: {
          [ENVIRONMENT.claimsTableName]: { Ref: tableId },
          [ENVIRONMENT.sourceQueueUrl]: { Ref: queueId },
          [ENVIRONMENT.deadLetterQueueUrl]: { Ref: dlqId },
          [ENVIRONMENT.mode]: 'lease',
          [ENVIRONMENT.readBeforeClaim]: 'auto',
          [ENVIRONMENT.leaseMs]: String(RUNTIME_DEFAULTS.leaseMs),
          [ENVIRONMENT.dedupWindowSeconds]: String(RUNTIME_DEFAULTS.dedupWindowSeconds),
          POWERTOOLS_SERVICE_NAME: 'onceflow',
          POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
          NODE_OPTIONS: '--enable-source-maps',
        },
      },
    });
  });

  it('passes its own settings and extra variables through the environment', () => {
    const { template: t } = synth({
      mode: 'optimistic',
      readBeforeClaim: 'always',
      functionTimeout: Duration.seconds(20),
      memorySize: 1024,
      leaseDuration: Duration.seconds(90),
      dedupWindow: Duration.days(20),
      maxReceiveCount: 7,
      serviceName: 'payments',
      environment: { LEDGER_ACCOUNTS_TABLE: 'accounts' },
    });
    t.hasResourceProperties('AWS::Lambda::Function', {
      Timeout: 20,
      MemorySize: 1024,
      Environment: {
        Variables: Match.objectLike({
          [ENVIRONMENT.mode]: 'optimistic',
          [ENVIRONMENT.readBeforeClaim]: 'always',
          [ENVIRONMENT.leaseMs]: '90000',
          [ENVIRONMENT.dedupWindowSeconds]: String(20 * 24 * 3600),
          // The runtime parks on the last receive, and never shortens the visibility (6 x 20 s) when extending.
          [ENVIRONMENT.maxReceiveCount]: '7',
          [ENVIRONMENT.visibilityTimeoutSeconds]: '120',
          POWERTOOLS_SERVICE_NAME: 'payments',
          LEDGER_ACCOUNTS_TABLE: 'accounts',
        }),
      },
    });
  });

  it('bundles the handler into an ES module with a source map that exports a working handler', async () => {
    const file = bundled.bundledHandlerFile;
    expect(file).toMatch(/asset\.[0-9a-f]{64}\/index\.mjs$/);
    if (file === undefined) return;
    expect(existsSync(`${file}.map`)).toBe(true);
    const module: { handler: () => Promise<unknown> } = await import(pathToFileURL(file).href);
    await expect(module.handler()).resolves.toEqual({ batchItemFailures: [] });
  });

  it('reports no bundled file when bundling is skipped for the stack', () => {
    expect(synth().consumer.bundledHandlerFile).toBeUndefined();
  });
});

describe('ExactlyOnceConsumer event source mapping', () => {
  it('reports partial batch failures and caps concurrency', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [queueId, 'Arn'] },
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 10 },
    });
  });

  it('passes batch size, batching window and maximum concurrency through', () => {
    const { template: t } = synth({
      batchSize: 100,
      maxBatchingWindow: Duration.seconds(2),
      maxConcurrency: 50,
    });
    t.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 100,
      MaximumBatchingWindowInSeconds: 2,
      ScalingConfig: { MaximumConcurrency: 50 },
    });
  });

  it('sets provisioned mode with the pollers given, and no maximum concurrency beside it', () => {
    const { template: t } = synth({ provisionedPollers: { minimumPollers: 5 } });
    t.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      ProvisionedPollerConfig: { MinimumPollers: 5, MaximumPollers: 200 },
      ScalingConfig: Match.absent(),
    });
  });
});

describe('ExactlyOnceConsumer permissions', () => {
  it('allows exactly what the runtime and the event source mapping call, each on its own resource', () => {
    const queue = arnOf(queueId);
    expect(allowedActions(template, roleId)).toEqual(
      new Map([
        ['dynamodb:UpdateItem', new Set([arnOf(tableId)])],
        // The read of a batch's DONE records before its claims or its commit.
        ['dynamodb:BatchGetItem', new Set([arnOf(tableId)])],
        // The runtime checks its claims table once per container, so a wrong table fails with its name.
        ['dynamodb:DescribeTable', new Set([arnOf(tableId)])],
        ['sqs:SendMessage', new Set([arnOf(dlqId)])],
        ['sqs:ChangeMessageVisibility', new Set([queue])],
        ['sqs:ReceiveMessage', new Set([queue])],
        ['sqs:DeleteMessage', new Set([queue])],
        ['sqs:GetQueueAttributes', new Set([queue])],
        ['sqs:GetQueueUrl', new Set([queue])],
        ['logs:CreateLogStream', new Set([arnOf(logGroupId)])],
        ['logs:PutLogEvents', new Set([arnOf(logGroupId)])],
      ]),
    );
  });

  it('grants no wildcard action or resource and attaches no managed policy', () => {
    const text = JSON.stringify(
      [...allowedActions(template, roleId)].map(([action, resources]) => [action, [...resources]]),
    );
    expect(text).not.toContain('*');
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [Match.objectLike({ Principal: { Service: 'lambda.amazonaws.com' } })],
      },
      ManagedPolicyArns: Match.absent(),
    });
  });

  it('gives the mapping its permissions before it is created', () => {
    const fn = logicalIdOf(template, 'AWS::Lambda::Function', 'ConsumerFunction');
    template.hasResource('AWS::Lambda::Function', {
      DependsOn: Match.arrayWith([logicalIdOf(template, 'AWS::IAM::Policy', 'ConsumerRoleDefaultPolicy')]),
    });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', { FunctionName: { Ref: fn } });
  });
});
