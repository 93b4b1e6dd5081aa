import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { ClaimsTable } from '../../../lib/claims-table.js';

describe('ClaimsTable', () => {
  const stack = new Stack(new App(), 'Test');
  new ClaimsTable(stack, 'Claims');
  const template = Template.fromStack(stack);

  it('keys on messageId, bills on demand, expires by TTL and keeps point-in-time recovery', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'messageId', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'messageId', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: 'expiresAtEpochSeconds', Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
  });

  it('is retained when the stack is deleted', () => {
    const tables = template.findResources('AWS::DynamoDB::Table');
    expect(Object.values(tables).map((t) => t.DeletionPolicy)).toEqual(['Retain']);
  });
});
