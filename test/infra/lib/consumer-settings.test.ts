import { Duration } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { describe, it } from 'vitest';
import { synth } from '../support.js';

describe('ExactlyOnceConsumer settings', () => {
  it('derives a visibility timeout that covers both 6 x the timeout and a longer lease', () => {
    const { template: t } = synth({
      functionTimeout: Duration.seconds(10),
      leaseDuration: Duration.minutes(2),
    });
    t.hasResourceProperties('AWS::SQS::Queue', { VisibilityTimeout: 120, RedrivePolicy: Match.anyValue() });
  });
});
