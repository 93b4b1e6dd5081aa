import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { OUTBOX_TABLE } from 'onceflow';
import { describe, expect, it } from 'vitest';
import { OutboxTable } from '../../../lib/outbox-table.js';

describe('OutboxTable', () => {
  const stack = new Stack(new App(), 'Test');
  new OutboxTable(stack, 'Outbox');
  const template = Template.fromStack(stack);

  it('keys items as the runtime writes them: source messageId, then a numeric index', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: OUTBOX_TABLE.partitionKey.name, KeyType: 'HASH' },
        { AttributeName: OUTBOX_TABLE.sortKey.name, KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: 'sourceMessageId', AttributeType: 'S' },
        { AttributeName: 'index', AttributeType: 'N' },
      ],
    });
  });

  it('streams new images, bills on demand, expires by TTL and keeps point-in-time recovery', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      StreamSpecification: { StreamViewType: 'NEW_IMAGE' },
      TimeToLiveSpecification: { AttributeName: OUTBOX_TABLE.ttlAttribute, Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
  });

  it('is retained when the stack is deleted, unless told otherwise', () => {
    const tables = template.findResources('AWS::DynamoDB::Table');
    expect(Object.values(tables).map((t) => t.DeletionPolicy)).toEqual(['Retain']);
    const other = new Stack(new App(), 'Other');
    new OutboxTable(other, 'Outbox', { removalPolicy: RemovalPolicy.DESTROY });
    const deleted = Template.fromStack(other).findResources('AWS::DynamoDB::Table');
    expect(Object.values(deleted).map((t) => t.DeletionPolicy)).toEqual(['Delete']);
  });
});
