import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AttributeType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import { RUNTIME_DEFAULTS } from '../../../lambda/core/defaults.js';
import { ENVIRONMENT, METRIC, METRICS_NAMESPACE } from '../../../lambda/runtime-contract.js';
import { ExactlyOnceConsumer, type ExactlyOnceConsumerProps } from '../../../lib/exactly-once-consumer.js';
import { allowedActions, appWithoutBundling, arnOf, FIXTURE_ENTRY, logicalIdOf } from '../support.js';

/** The one consumer that goes through the bundler; every other test skips bundling to stay fast. */
const bundledApp = new App();
const bundledStack = new Stack(bundledApp, 'Test');
const bundled = new ExactlyOnceConsumer(bundledStack, 'Consumer', { entry: FIXTURE_ENTRY });
const template = Template.fromStack(bundledStack);

const queueId = logicalIdOf(template, 'AWS::SQS::Queue', 'ConsumerQueue');
const dlqId = logicalIdOf(template, 'AWS::SQS::Queue', 'ConsumerDeadLetterQueue');
const tableId = logicalIdOf(template, 'AWS::DynamoDB::Table', 'ConsumerClaims');
const roleId = logicalIdOf(template, 'AWS::IAM::Role', 'ConsumerRole');
const logGroupId = logicalIdOf(template, 'AWS::Logs::LogGroup', 'ConsumerLogGroup');

function synth(
  props: Partial<ExactlyOnceConsumerProps> = {},
  build?: (stack: Stack) => Partial<ExactlyOnceConsumerProps>,
) {
  const stack = new Stack(appWithoutBundling(), 'Test');
  const consumer = new ExactlyOnceConsumer(stack, 'Consumer', {
    entry: FIXTURE_ENTRY,
    ...props,
    ...build?.(stack),
  });
  return { stack, consumer, template: Template.fromStack(stack) };
}

describe('ExactlyOnceConsumer queues', () => {
  it('creates a source queue with SQS-managed encryption, 4 days retention and a visibility of 6 x the timeout', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 4 * 24 * 3600,
      VisibilityTimeout: 180,
      DelaySeconds: 0,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] }, maxReceiveCount: 10 },
    });
  });

  it('keeps dead letters 14 days, encrypted', () => {
    expect(template.toJSON().Resources[dlqId].Properties).toEqual({
      MessageRetentionPeriod: 14 * 24 * 3600,
      SqsManagedSseEnabled: true,
    });
  });

  it.each([
    ['source queue', () => queueId],
    ['dead-letter queue', () => dlqId],
  ])('refuses requests without TLS on the %s', (_name, id) => {
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: id() }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 'sqs:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  it('derives a visibility timeout that covers both 6 x the timeout and a longer lease', () => {
    const { template: t } = synth({
      functionTimeout: Duration.seconds(10),
      leaseDuration: Duration.minutes(2),
    });
    t.hasResourceProperties('AWS::SQS::Queue', { VisibilityTimeout: 120, RedrivePolicy: Match.anyValue() });
  });

  it('creates FIFO source and dead-letter queues when asked', () => {
    const { template: t } = synth({ fifo: true });
    const queues = Object.values(t.findResources('AWS::SQS::Queue'));
    expect(queues.map((q) => q.Properties.FifoQueue)).toEqual([true, true]);
  });

  it('consumes an existing queue and parks into its dead-letter queue', () => {
    const { consumer, template: t } = synth({}, (stack) => {
      const deadLetterQueue = new Queue(stack, 'Graveyard', { retentionPeriod: Duration.days(14) });
      return {
        existingQueue: new Queue(stack, 'Orders', {
          visibilityTimeout: Duration.minutes(3),
          deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: 8 },
        }),
      };
    });
    const ownId = logicalIdOf(t, 'AWS::SQS::Queue', 'Orders');
    const ownDlqId = logicalIdOf(t, 'AWS::SQS::Queue', 'Graveyard');
    expect(Object.keys(t.findResources('AWS::SQS::Queue')).sort()).toEqual([ownDlqId, ownId].sort());
    t.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [ownId, 'Arn'] },
    });
    t.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ [ENVIRONMENT.deadLetterQueueUrl]: { Ref: ownDlqId } }) },
    });
    expect(consumer.settings.deadLetterQueue?.maxReceiveCount).toBe(8);
  });
});

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
      functionTimeout: Duration.seconds(20),
      memorySize: 1024,
      leaseDuration: Duration.seconds(90),
      dedupWindow: Duration.days(10),
      serviceName: 'payments',
      environment: { LEDGER_ACCOUNTS_TABLE: 'accounts' },
    });
    t.hasResourceProperties('AWS::Lambda::Function', {
      Timeout: 20,
      MemorySize: 1024,
      Environment: {
        Variables: Match.objectLike({
          [ENVIRONMENT.mode]: 'optimistic',
          [ENVIRONMENT.leaseMs]: '90000',
          [ENVIRONMENT.dedupWindowSeconds]: String(10 * 24 * 3600),
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
});

describe('ExactlyOnceConsumer permissions', () => {
  it('allows exactly what the runtime and the event source mapping call, each on its own resource', () => {
    const queue = arnOf(queueId);
    expect(allowedActions(template, roleId)).toEqual(
      new Map([
        ['dynamodb:UpdateItem', new Set([arnOf(tableId)])],
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

describe('ExactlyOnceConsumer alarms', () => {
  const alarms = template.findResources('AWS::CloudWatch::Alarm');

  it('treats missing data as not breaching on every alarm, on purpose', () => {
    expect(Object.keys(alarms)).toHaveLength(9);
    for (const alarm of Object.values(alarms)) {
      expect(alarm.Properties.TreatMissingData).toBe('notBreaching');
      expect(alarm.Properties.ComparisonOperator).toBe('GreaterThanThreshold');
    }
  });

  it.each([
    ['ApproximateNumberOfMessagesVisible', 'AWS/SQS', 0, 'Maximum'],
    ['ApproximateAgeOfOldestMessage', 'AWS/SQS', 900, 'Maximum'],
    ['Errors', 'AWS/Lambda', 0, 'Sum'],
    ['Throttles', 'AWS/Lambda', 0, 'Sum'],
    [METRIC.parked, METRICS_NAMESPACE, 0, 'Sum'],
    [METRIC.zombieRejected, METRICS_NAMESPACE, 0, 'Sum'],
  ])('alarms when %s (%s) goes above %d', (metricName, namespace, threshold, statistic) => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: metricName,
      Namespace: namespace,
      Threshold: threshold,
      Statistic: statistic,
      Period: 300,
      EvaluationPeriods: 1,
    });
  });

  it('reads the runtime metrics under the Powertools service dimension', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: METRIC.parked,
      Dimensions: [{ Name: 'service', Value: 'onceflow' }],
    });
  });

  it.each([
    ['ThrottledRequests', 10],
    ['SystemErrors', 0],
  ])('alarms on claims-table %s of the runtime operations above %d', (metricName, threshold) => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Threshold: threshold,
      Metrics: Match.arrayWith([
        Match.objectLike({
          MetricStat: Match.objectLike({
            Metric: {
              Namespace: 'AWS/DynamoDB',
              MetricName: metricName,
              Dimensions: Match.arrayWith([{ Name: 'Operation', Value: 'TransactWriteItems' }]),
            },
          }),
        }),
      ]),
    });
  });

  it('alarms on the takeover rate in percent of processed messages', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Threshold: 5,
      Metrics: Match.arrayWith([
        Match.objectLike({
          Expression: 'IF(FILL(processed, 0) > 0, 100 * FILL(takeovers, 0) / FILL(processed, 0), 0)',
        }),
        Match.objectLike({
          Id: 'takeovers',
          MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: METRIC.takeover }) }),
        }),
      ]),
    });
  });

  it('has no alarm action unless a topic is given', () => {
    for (const alarm of Object.values(alarms)) expect(alarm.Properties.AlarmActions).toBeUndefined();
  });

  it('notifies the alarm topic from every alarm and applies custom thresholds', () => {
    const { template: t } = synth({}, (stack) => ({
      alarmTopic: new Topic(stack, 'Pager'),
      alarmThresholds: { oldestMessageMaxAge: Duration.minutes(2), maxTakeoverPercent: 1 },
    }));
    const topicId = logicalIdOf(t, 'AWS::SNS::Topic', 'Pager');
    const all = Object.values(t.findResources('AWS::CloudWatch::Alarm'));
    expect(all.map((alarm) => alarm.Properties.AlarmActions)).toEqual(all.map(() => [{ Ref: topicId }]));
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateAgeOfOldestMessage',
      Threshold: 120,
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { Threshold: 1, Metrics: Match.anyValue() });
  });
});

describe('ExactlyOnceConsumer dashboard', () => {
  it('shows throughput, duplicates, latency, DLQ depth and takeovers', () => {
    const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
    const body = JSON.stringify(dashboard?.Properties.DashboardBody);
    for (const title of ['Throughput', 'Duplicates', 'Latency p99', 'Dead-letter queue', 'Takeovers']) {
      expect(body).toContain(title);
    }
    for (const metric of [METRIC.processed, METRIC.duplicate, METRIC.claimLatency, METRIC.takeover]) {
      expect(body).toContain(`\\"${metric}\\"`);
    }
  });
});
