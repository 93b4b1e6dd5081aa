import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { describe, expect, it } from 'vitest';
import { ConsumerConfigurationError, OnceflowConstructError } from '../../../lib/errors.js';
import { ExactlyOnceConsumer } from '../../../lib/exactly-once-consumer.js';
import { allowedActions, appWithoutBundling, FIXTURE_ENTRY, logicalIdOf, synth } from '../support.js';

describe('ExactlyOnceConsumer largePayloads', () => {
  const { template, consumer } = synth({ largePayloads: {} });
  const bucketId = logicalIdOf(template, 'AWS::S3::Bucket', 'ConsumerPayloads');

  it('creates a bucket that is encrypted, private and retained', () => {
    template.hasResource('AWS::S3::Bucket', {
      DeletionPolicy: 'Retain',
      Properties: {
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
      },
    });
  });

  it('refuses requests without TLS', () => {
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: bucketId },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 's3:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  it('expires chunks after dedupWindow + queue retention + DLQ retention + reuse age (15 + 4 + 14 + 7 days)', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: [
          Match.objectLike({
            Id: 'ExpireChunks',
            Prefix: 'chunks/sha256/',
            ExpirationInDays: 40,
            Status: 'Enabled',
            AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
          }),
        ],
      },
    });
  });

  it('lets the consumer read chunks (and list, so a missing chunk is a 404) but not write them', () => {
    const role = logicalIdOf(template, 'AWS::IAM::Role', 'ConsumerRole');
    const actions = allowedActions(template, role);
    expect(actions.has('s3:GetObject*')).toBe(true);
    expect(actions.has('s3:List*')).toBe(true);
    expect([...actions.keys()].filter((action) => action.startsWith('s3:Put'))).toEqual([]);
  });

  it('grants a producer sending to the queue and checking and putting chunks', () => {
    const stack = new Stack(appWithoutBundling(), 'Test');
    const own = new ExactlyOnceConsumer(stack, 'Consumer', { entry: FIXTURE_ENTRY, largePayloads: {} });
    own.grantSendLargePayloads(
      new Role(stack, 'Producer', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') }),
    );
    const t = Template.fromStack(stack);
    const actions = allowedActions(t, logicalIdOf(t, 'AWS::IAM::Role', 'Producer'));
    for (const action of ['sqs:SendMessage', 's3:PutObject', 's3:GetObject*', 's3:List*']) {
      expect(actions.has(action), action).toBe(true);
    }
  });

  it('alarms when a message is parked for a missing or corrupt payload', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'PayloadErrors',
      Namespace: 'Onceflow',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
    });
    expect(consumer.alarms.payloadErrors).toBeDefined();
  });

  it('creates no bucket and no payload alarm without the prop', () => {
    const { template: t, consumer: plain } = synth();
    expect(t.findResources('AWS::S3::Bucket')).toEqual({});
    expect(plain.alarms.payloadErrors).toBeUndefined();
    expect(() =>
      plain.grantSendLargePayloads(
        new Role(plain, 'P', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') }),
      ),
    ).toThrow(
      new OnceflowConstructError(
        'ExactlyOnceConsumer Test/Consumer has no payload bucket: set the largePayloads prop.',
      ),
    );
  });

  it('refuses at synth time a chunk expiration shorter than a message can come back', () => {
    let error: unknown;
    try {
      synth({ largePayloads: { chunkExpiration: Duration.days(20) } });
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(ConsumerConfigurationError);
    expect(error instanceof Error ? error.message : '').toContain(
      "largePayloads.chunkExpiration (20 days) is shorter than dedupWindow (15 days) + the source queue's " +
        "retention (4 days) + the dead-letter queue's retention (14 days) + chunkReuseMaxAge (7 days) = 40 days; " +
        "a duplicate or a redrive could find its payload's chunks expired and be parked. Fix: set chunkExpiration " +
        'to at least 40 days, or leave it out.',
    );
  });
});
