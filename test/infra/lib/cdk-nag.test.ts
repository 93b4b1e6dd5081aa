import { App, Stack } from 'aws-cdk-lib';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { ExactlyOnceConsumer } from '../../../lib/exactly-once-consumer.js';
import { OnceflowStack } from '../../../lib/onceflow-stack.js';
import { appWithoutBundling, FIXTURE_ENTRY } from '../support.js';

/** Every unacknowledged AwsSolutions finding, errors and warnings alike, as `rule at path` lines. */
function findings(stack: Stack): string[] {
  const report = new AwsSolutionsChecks().validateScope(stack);
  return report.violations.flatMap((violation) =>
    violation.violatingResources.map(
      (resource) => `${violation.severity} ${violation.ruleName} at ${resource.constructPath}`,
    ),
  );
}

describe('cdk-nag AwsSolutions', () => {
  it('finds nothing unacknowledged in the Onceflow stack', () => {
    expect(findings(new OnceflowStack(appWithoutBundling(), 'Onceflow'))).toEqual([]);
  });

  it('finds nothing unacknowledged in the Onceflow stack with an alarm topic and tables deleted on teardown', () => {
    const app = new App({
      context: {
        'aws:cdk:bundling-stacks': [],
        'onceflow:alarmTopicArn': 'arn:aws:sns:eu-west-1:111122223333:pager',
        'onceflow:retainTables': 'false',
      },
    });
    expect(findings(new OnceflowStack(app, 'Onceflow'))).toEqual([]);
  });

  it('finds nothing unacknowledged in a consumer on its own, FIFO included', () => {
    const stack = new Stack(appWithoutBundling(), 'Test');
    new ExactlyOnceConsumer(stack, 'Standard', { entry: FIXTURE_ENTRY });
    new ExactlyOnceConsumer(stack, 'Fifo', { entry: FIXTURE_ENTRY, fifo: true });
    expect(findings(stack)).toEqual([]);
  });

  it('finds nothing unacknowledged in a consumer with an outbox', () => {
    const stack = new Stack(appWithoutBundling(), 'Test');
    const target = new Queue(stack, 'Downstream', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: {
        queue: new Queue(stack, 'DownstreamDeadLetters', { enforceSSL: true }),
        maxReceiveCount: 10,
      },
    });
    new ExactlyOnceConsumer(stack, 'Consumer', { entry: FIXTURE_ENTRY, outbox: { targets: [target] } });
    expect(findings(stack)).toEqual([]);
  });

  it('still reports what it is meant to catch, so the checks above are live', () => {
    const stack = new Stack(appWithoutBundling(), 'Test');
    new Queue(stack, 'Careless');
    expect(findings(stack)).toEqual(
      expect.arrayContaining([
        'error AwsSolutions-SQS3 at Test/Careless/Resource',
        'error AwsSolutions-SQS4 at Test/Careless/Resource',
      ]),
    );
  });

  it('acknowledges only the pinned Lambda runtime, and says why', () => {
    const stack = new Stack(appWithoutBundling(), 'Test');
    const consumer = new ExactlyOnceConsumer(stack, 'Consumer', { entry: FIXTURE_ENTRY });
    const acknowledged = consumer.node
      .findAll()
      .flatMap((construct) => construct.node.metadata)
      .filter((entry) => JSON.stringify(entry.data).includes('AwsSolutions-'));
    expect(acknowledged).toHaveLength(1);
    expect(JSON.stringify(acknowledged[0]?.data)).toMatch(
      /AwsSolutions-L1.*nodejs22\.x is pinned on purpose/,
    );
  });

  it('acknowledges for the outbox only the relay runtime, the relay DLQ and ListStreams on "*", each with a reason', () => {
    const stack = new Stack(appWithoutBundling(), 'Test');
    const consumer = new ExactlyOnceConsumer(stack, 'Consumer', {
      entry: FIXTURE_ENTRY,
      outbox: { targets: [new Queue(stack, 'Downstream')] },
    });
    const acknowledged = consumer.node
      .findAll()
      .flatMap((construct) =>
        construct.node.metadata
          .filter((entry) => JSON.stringify(entry.data).includes('AwsSolutions-'))
          .map((entry) => `${construct.node.path} ${JSON.stringify(entry.data)}`),
      );
    expect(acknowledged).toHaveLength(4);
    expect(acknowledged).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^Test\/Consumer\/Function .*AwsSolutions-L1.*pinned on purpose/),
        expect.stringMatching(/^Test\/Consumer\/Outbox\/RelayFunction .*AwsSolutions-L1.*pinned on purpose/),
        expect.stringMatching(
          /^Test\/Consumer\/Outbox\/RelayDeadLetterQueue .*AwsSolutions-SQS3.*itself a dead-letter/,
        ),
        expect.stringMatching(
          /^Test\/Consumer\/Outbox\/RelayRole .*AwsSolutions-IAM5\[Resource::\*\].*ListStreams/,
        ),
      ]),
    );
  });
});
