import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AttributeType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import { ENVIRONMENT, METRIC, METRICS_NAMESPACE, RUNTIME_DEFAULTS } from '../../../lambda/contract/index.js';
import { ExactlyOnceConsumer, type ExactlyOnceConsumerProps } from '../../../lib/exactly-once-consumer.js';
import {
  ANY_RESOURCE,
  allowedActions,
  appWithoutBundling,
  arnOf,
  expectAllowedExactly,
  FIXTURE_ENTRY,
  logicalIdOf,
  streamArnOf,
} from '../support.js';

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

describe('ExactlyOnceConsumer without an outbox', () => {
  it('creates no outbox table, relay, relay queue or relay alarm, and tells the handler of none', () => {
    expect(bundled.outbox).toBeUndefined();
    expect(Object.keys(template.findResources('AWS::DynamoDB::Table'))).toEqual([tableId]);
    expect(Object.keys(template.findResources('AWS::Lambda::Function'))).toHaveLength(1);
    expect(Object.keys(template.findResources('AWS::Lambda::EventSourceMapping'))).toHaveLength(1);
    expect(Object.keys(template.findResources('AWS::SQS::Queue')).sort()).toEqual([dlqId, queueId].sort());
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ [ENVIRONMENT.outboxTableName]: Match.absent() }) },
    });
    expect(JSON.stringify(template.findResources('AWS::CloudWatch::Alarm'))).not.toContain('IteratorAge');
  });
});

describe('ExactlyOnceConsumer outbox', () => {
  /** A consumer with an outbox that sends to one queue of the same stack. */
  const withOutbox = synth({}, (stack) => ({
    outbox: { targets: [new Queue(stack, 'Downstream', { enforceSSL: true })] },
  }));
  const t = withOutbox.template;
  const outboxTableId = logicalIdOf(t, 'AWS::DynamoDB::Table', 'ConsumerOutboxTable');
  const relayDlqId = logicalIdOf(t, 'AWS::SQS::Queue', 'ConsumerOutboxRelayDeadLetterQueue');
  const relayFunctionId = logicalIdOf(t, 'AWS::Lambda::Function', 'ConsumerOutboxRelayFunction');
  const relayRoleId = logicalIdOf(t, 'AWS::IAM::Role', 'ConsumerOutboxRelayRole');
  const relayLogGroupId = logicalIdOf(t, 'AWS::Logs::LogGroup', 'ConsumerOutboxRelayLogGroup');
  const downstreamId = logicalIdOf(t, 'AWS::SQS::Queue', 'Downstream');

  it('keys the outbox table on sourceMessageId and a numeric index, streams new images, expires by TTL, and is retained', () => {
    t.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      Properties: {
        KeySchema: [
          { AttributeName: 'sourceMessageId', KeyType: 'HASH' },
          { AttributeName: 'index', KeyType: 'RANGE' },
        ],
        AttributeDefinitions: Match.arrayWith([
          { AttributeName: 'sourceMessageId', AttributeType: 'S' },
          { AttributeName: 'index', AttributeType: 'N' },
        ]),
        BillingMode: 'PAY_PER_REQUEST',
        StreamSpecification: { StreamViewType: 'NEW_IMAGE' },
        TimeToLiveSpecification: { AttributeName: 'expiresAtEpochSeconds', Enabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      },
    });
  });

  it('deletes the outbox table with the stack when its removal policy says so', () => {
    const { template: own } = synth({}, (stack) => ({
      outbox: { targets: [new Queue(stack, 'Downstream')], tableRemovalPolicy: RemovalPolicy.DESTROY },
    }));
    const id = logicalIdOf(own, 'AWS::DynamoDB::Table', 'ConsumerOutboxTable');
    expect(own.toJSON().Resources[id].DeletionPolicy).toBe('Delete');
  });

  it('tells the handler where the outbox table is', () => {
    t.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          [ENVIRONMENT.claimsTableName]: Match.anyValue(),
          [ENVIRONMENT.outboxTableName]: { Ref: outboxTableId },
        }),
      },
    });
  });

  it('runs the relay on nodejs22.x, arm64, with its table, its DLQ and its own log group', () => {
    t.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      Timeout: 30,
      MemorySize: 256,
      Role: { 'Fn::GetAtt': [relayRoleId, 'Arn'] },
      LoggingConfig: { LogGroup: { Ref: relayLogGroupId } },
      Environment: {
        Variables: {
          [ENVIRONMENT.outboxTableName]: { Ref: outboxTableId },
          [ENVIRONMENT.relayDeadLetterQueueUrl]: { Ref: relayDlqId },
          POWERTOOLS_SERVICE_NAME: 'onceflow',
          NODE_OPTIONS: '--enable-source-maps',
        },
      },
    });
  });

  it('keeps relay dead letters 14 days, encrypted, TLS only', () => {
    expect(t.toJSON().Resources[relayDlqId].Properties).toEqual({
      MessageRetentionPeriod: 14 * 24 * 3600,
      SqsManagedSseEnabled: true,
    });
    t.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: relayDlqId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('drives the relay from the stream: oldest first, partial failures, bisect, bounded retries, then the relay DLQ', () => {
    t.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [outboxTableId, 'StreamArn'] },
      FunctionName: { Ref: relayFunctionId },
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: 100,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 10,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [relayDlqId, 'Arn'] } } },
      // The relay's own deletes and TTL expiry never invoke it.
      FilterCriteria: { Filters: [{ Pattern: JSON.stringify({ eventName: ['INSERT'] }) }] },
    });
  });

  it('passes the relay batch size and retry attempts through', () => {
    const { template: own } = synth({}, (stack) => ({
      outbox: { targets: [new Queue(stack, 'Downstream')], relayBatchSize: 500, relayRetryAttempts: 3 },
    }));
    own.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: 500,
      MaximumRetryAttempts: 3,
    });
  });

  it('lets the consumer only put items into the outbox table, next to its own grants', () => {
    const consumerRoleId = logicalIdOf(t, 'AWS::IAM::Role', 'ConsumerRole');
    const queue = arnOf(logicalIdOf(t, 'AWS::SQS::Queue', 'ConsumerQueue'));
    expectAllowedExactly(t, consumerRoleId, {
      'dynamodb:UpdateItem': [arnOf(logicalIdOf(t, 'AWS::DynamoDB::Table', 'ConsumerClaims'))],
      'dynamodb:DescribeTable': [arnOf(logicalIdOf(t, 'AWS::DynamoDB::Table', 'ConsumerClaims'))],
      'dynamodb:PutItem': [arnOf(outboxTableId)],
      'sqs:SendMessage': [arnOf(logicalIdOf(t, 'AWS::SQS::Queue', 'ConsumerDeadLetterQueue'))],
      'sqs:ChangeMessageVisibility': [queue],
      'sqs:ReceiveMessage': [queue],
      'sqs:DeleteMessage': [queue],
      'sqs:GetQueueAttributes': [queue],
      'sqs:GetQueueUrl': [queue],
      'logs:CreateLogStream': [arnOf(logicalIdOf(t, 'AWS::Logs::LogGroup', 'ConsumerLogGroup'))],
      'logs:PutLogEvents': [arnOf(logicalIdOf(t, 'AWS::Logs::LogGroup', 'ConsumerLogGroup'))],
    });
  });

  it('lets the relay read the stream, delete delivered items, and send to its targets and its DLQ only', () => {
    const stream = streamArnOf(outboxTableId);
    expectAllowedExactly(t, relayRoleId, {
      // No resource-level permission exists for ListStreams; every other action names its resource.
      'dynamodb:ListStreams': [ANY_RESOURCE],
      'dynamodb:DescribeStream': [stream],
      'dynamodb:GetRecords': [stream],
      'dynamodb:GetShardIterator': [stream],
      'dynamodb:BatchWriteItem': [arnOf(outboxTableId)],
      'sqs:SendMessage': [arnOf(downstreamId), arnOf(relayDlqId)],
      // What the stream mapping's on-failure destination adds (SqsDlq grants sendMessages).
      'sqs:GetQueueAttributes': [arnOf(relayDlqId)],
      'sqs:GetQueueUrl': [arnOf(relayDlqId)],
      'logs:CreateLogStream': [arnOf(relayLogGroupId)],
      'logs:PutLogEvents': [arnOf(relayLogGroupId)],
    });
    t.hasResourceProperties('AWS::IAM::Role', {
      Description: Match.stringLikeRegexp('outbox relay'),
      ManagedPolicyArns: Match.absent(),
    });
  });

  it('lets the relay use the key of a target encrypted with a customer key', () => {
    const { template: own } = synth({}, (stack) => ({
      outbox: {
        targets: [
          new Queue(stack, 'Sealed', {
            encryption: QueueEncryption.KMS,
            encryptionMasterKey: new Key(stack, 'SealedKey'),
          }),
        ],
      },
    }));
    const allowed = allowedActions(own, logicalIdOf(own, 'AWS::IAM::Role', 'ConsumerOutboxRelayRole'));
    const key = arnOf(logicalIdOf(own, 'AWS::KMS::Key', 'SealedKey'));
    expect(allowed.get('kms:GenerateDataKey')).toEqual(new Set([key]));
    expect(allowed.get('kms:Decrypt')).toEqual(new Set([key]));
    expect(allowed.get('sqs:SendMessage')).toContain(arnOf(logicalIdOf(own, 'AWS::SQS::Queue', 'Sealed')));
  });

  it('gives the relay its stream permissions before the mapping is created', () => {
    t.hasResource('AWS::Lambda::Function', {
      Properties: Match.objectLike({ Role: { 'Fn::GetAtt': [relayRoleId, 'Arn'] } }),
      DependsOn: Match.arrayWith([
        logicalIdOf(t, 'AWS::IAM::Policy', 'ConsumerOutboxRelayRoleDefaultPolicy'),
      ]),
    });
  });

  describe('alarms', () => {
    const alarms = t.findResources('AWS::CloudWatch::Alarm');

    it('adds three relay alarms, missing data not breaching on purpose', () => {
      expect(Object.keys(alarms)).toHaveLength(12);
      for (const alarm of Object.values(alarms))
        expect(alarm.Properties.TreatMissingData).toBe('notBreaching');
      expect(withOutbox.consumer.alarms.all).toHaveLength(12);
    });

    it.each([
      ['relay errors', 'Errors', 'AWS/Lambda', 0, 'Sum', () => ({ Ref: relayFunctionId })],
      [
        'stream iterator age',
        'IteratorAge',
        'AWS/Lambda',
        5 * 60 * 1000,
        'Maximum',
        () => ({ Ref: relayFunctionId }),
      ],
      [
        'relay DLQ depth',
        'ApproximateNumberOfMessagesVisible',
        'AWS/SQS',
        0,
        'Maximum',
        () => ({ 'Fn::GetAtt': [relayDlqId, 'QueueName'] }),
      ],
    ])('alarms on %s (%s, %s) above %d', (_name, metricName, namespace, threshold, statistic, dimension) => {
      t.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: metricName,
        Namespace: namespace,
        Threshold: threshold,
        Statistic: statistic,
        Period: 300,
        EvaluationPeriods: 1,
        ComparisonOperator: 'GreaterThanThreshold',
        Dimensions: [Match.objectLike({ Value: dimension() })],
      });
    });

    it('takes the relay thresholds from alarmThresholds, the iterator age in milliseconds', () => {
      const { template: own } = synth({}, (stack) => ({
        outbox: { targets: [new Queue(stack, 'Downstream')] },
        alarmThresholds: {
          relayMaxIteratorAge: Duration.minutes(1),
          relayMaxErrorsPerPeriod: 2,
          relayDeadLetterQueueMaxVisibleMessages: 3,
        },
      }));
      own.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'IteratorAge', Threshold: 60_000 });
      own.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'Errors',
        Threshold: 2,
        Dimensions: [
          {
            Name: 'FunctionName',
            Value: { Ref: logicalIdOf(own, 'AWS::Lambda::Function', 'ConsumerOutboxRelayFunction') },
          },
        ],
      });
      own.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Threshold: 3,
      });
    });
  });

  it('shows the relay on the dashboard', () => {
    const [dashboard] = Object.values(t.findResources('AWS::CloudWatch::Dashboard'));
    const body = JSON.stringify(dashboard?.Properties.DashboardBody);
    for (const title of ['Outbox relay', 'iterator age', 'Relay dead-letter queue'])
      expect(body).toContain(title);
    expect(body).toContain('\\"IteratorAge\\"');
  });
});
