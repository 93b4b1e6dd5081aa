import { RemovalPolicy } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import { ENVIRONMENT } from '../../../lambda/contract/index.js';
import {
  ANY_RESOURCE,
  allowedActions,
  arnOf,
  expectAllowedExactly,
  logicalIdOf,
  streamArnOf,
  synth,
  synthWithOutbox,
} from '../support.js';

const { consumer, template } = synth();
const queueId = logicalIdOf(template, 'AWS::SQS::Queue', 'ConsumerQueue');
const dlqId = logicalIdOf(template, 'AWS::SQS::Queue', 'ConsumerDeadLetterQueue');
const tableId = logicalIdOf(template, 'AWS::DynamoDB::Table', 'ConsumerClaims');

describe('ExactlyOnceConsumer without an outbox', () => {
  it('creates no outbox table, relay, relay queue or relay alarm, and tells the handler of none', () => {
    expect(consumer.outbox).toBeUndefined();
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
  const t = synthWithOutbox().template;
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
      'dynamodb:BatchGetItem': [arnOf(logicalIdOf(t, 'AWS::DynamoDB::Table', 'ConsumerClaims'))],
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
});
