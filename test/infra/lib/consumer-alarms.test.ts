import { Duration } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import { METRIC, METRICS_NAMESPACE } from '../../../lambda/contract/index.js';
import { logicalIdOf, synth, synthWithOutbox } from '../support.js';

const { template } = synth();

describe('ExactlyOnceConsumer alarms', () => {
  const alarms = template.findResources('AWS::CloudWatch::Alarm');

  it('treats missing data as not breaching on every alarm, on purpose', () => {
    expect(Object.keys(alarms)).toHaveLength(10);
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
    [METRIC.payloadMismatch, METRICS_NAMESPACE, 0, 'Sum'],
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

describe('ExactlyOnceConsumer outbox', () => {
  const withOutbox = synthWithOutbox();
  const t = withOutbox.template;
  const relayDlqId = logicalIdOf(t, 'AWS::SQS::Queue', 'ConsumerOutboxRelayDeadLetterQueue');
  const relayFunctionId = logicalIdOf(t, 'AWS::Lambda::Function', 'ConsumerOutboxRelayFunction');

  describe('alarms', () => {
    const alarms = t.findResources('AWS::CloudWatch::Alarm');

    it('adds three relay alarms, missing data not breaching on purpose', () => {
      expect(Object.keys(alarms)).toHaveLength(13);
      for (const alarm of Object.values(alarms))
        expect(alarm.Properties.TreatMissingData).toBe('notBreaching');
      expect(withOutbox.consumer.alarms.all).toHaveLength(13);
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
});
