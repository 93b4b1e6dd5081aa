import { Duration } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import { ENVIRONMENT } from '../../../lambda/contract/index.js';
import { logicalIdOf, synth } from '../support.js';

const { template } = synth();
const queueId = logicalIdOf(template, 'AWS::SQS::Queue', 'ConsumerQueue');
const dlqId = logicalIdOf(template, 'AWS::SQS::Queue', 'ConsumerDeadLetterQueue');

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
