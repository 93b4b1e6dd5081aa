import type { Message } from '@aws-sdk/client-sqs';
import { type ClaimRecord, PARK_ATTRIBUTE } from 'onceflow';
import { describe, expect, it } from 'vitest';
import { formatListing, groupDeadLetters } from '../../../cli/commands/dlq-list.js';
import { matchesSelection, redriveRequest } from '../../../cli/commands/dlq-redrive.js';
import { parseSendLines } from '../../../cli/commands/send.js';
import { describeClaim } from '../../../cli/commands/status.js';
import { toDeadLetter } from '../../../cli/dead-letters.js';
import { describeAwsFailure } from '../../../cli/failures.js';
import { consumersFromResources } from '../../../cli/names.js';
import { formatDuration } from '../../../cli/output.js';

const NOW = Date.UTC(2026, 11, 2, 12, 0, 0);
const record = (fields: Partial<ClaimRecord>): ClaimRecord => ({
  messageId: 'm-1',
  status: 'DONE',
  fencingToken: 1,
  expiresAtEpochSeconds: NOW / 1000 + 86_400,
  attempts: 1,
  ...fields,
});

describe('describeClaim', () => {
  it.each([
    [undefined, 'NEVER_SEEN', 'never seen: no claim record'],
    [
      record({ doneAtMs: NOW - 62_000 }),
      'DONE',
      'DONE at 2026-12-02T11:58:58.000Z (1m 2s ago); attempts 1, fencing token 1',
    ],
    [
      record({ status: 'FAILED', lastError: 'PermanentError: no\nsuch account' }),
      'FAILED',
      'FAILED: PermanentError: no such account; parked in the DLQ, claimable on redrive; attempts 1, fencing token 1',
    ],
    [
      record({
        status: 'PROCESSING',
        owner: 'host:42',
        leaseExpiresAtMs: NOW + 41_000,
        fencingToken: 2,
        attempts: 2,
      }),
      'PROCESSING',
      'PROCESSING by host:42, lease ends in 41s (2026-12-02T12:00:41.000Z); attempts 2, fencing token 2',
    ],
    [
      record({ status: 'PROCESSING', owner: 'host:42', leaseExpiresAtMs: NOW - 5_000 }),
      'LEASE_ENDED',
      'PROCESSING, lease of host:42 ended 5s ago; the next delivery takes it over; attempts 1, fencing token 1',
    ],
    [
      record({ status: 'PROCESSING', owner: 'host:42', leaseExpiresAtMs: 0, lastError: 'Error: boom' }),
      'LEASE_ENDED',
      'PROCESSING, released by host:42 after a retryable error: Error: boom; the next delivery claims it; attempts 1, fencing token 1',
    ],
    [
      record({ expiresAtEpochSeconds: NOW / 1000 - 7_200 }),
      'EXPIRED',
      'expired 2h ago (was DONE): past the dedup window, counts as never seen; a new copy would apply',
    ],
  ])('%j is %s', (stored, state, summary) => {
    expect(describeClaim('m-1', stored, NOW)).toMatchObject({ state, summary });
  });
});

describe('formatDuration', () => {
  it.each([
    [850, '850ms'],
    [41_000, '41s'],
    [182_000, '3m 2s'],
    [3_600_000, '1h'],
    [18_720_000, '5h 12m'],
    [183_600_000, '2d 3h'],
  ])('%d ms is %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

const parked = (
  id: string,
  reason: string | undefined,
  errorType: string | undefined,
  sentMs: number,
): Message => ({
  MessageId: `sqs-${id}`,
  ReceiptHandle: `handle-${id}`,
  Body: JSON.stringify({ messageId: id, timestamp: 1, payload: {} }),
  Attributes: { SentTimestamp: String(sentMs) },
  MessageAttributes: {
    ...(reason === undefined ? {} : { [PARK_ATTRIBUTE.reason]: { DataType: 'String', StringValue: reason } }),
    ...(errorType === undefined
      ? {}
      : { [PARK_ATTRIBUTE.errorType]: { DataType: 'String', StringValue: errorType } }),
    [PARK_ATTRIBUTE.sourceMessageId]: { DataType: 'String', StringValue: `source-${id}` },
    tenant: { DataType: 'String', StringValue: 'acme' },
  },
});

describe('dlq list', () => {
  it('groups by error type and reason, largest first, with the oldest age; no reason means SQS moved it', () => {
    const letters = [
      parked('a', 'PermanentError: bad', 'PermanentError', NOW - 90_000),
      parked('b', 'PermanentError: bad', 'PermanentError', NOW - 30_000),
      parked('c', undefined, undefined, NOW - 600_000),
    ].map(toDeadLetter);

    const groups = groupDeadLetters(letters, NOW);

    expect(
      formatListing({ queueUrl: 'https://q/dlq', approximateNumberOfMessages: 5, read: 3, groups }),
    ).toBe(
      [
        'DLQ https://q/dlq: read 3 of about 5 message(s), all visible again.',
        'SQS returns a sample per receive and hides messages in flight elsewhere: 2 more may be there.',
        '',
        'COUNT  OLDEST  ERROR TYPE      REASON',
        '    2  1m 30s  PermanentError  PermanentError: bad',
        '    1  10m     -               (none: moved by SQS after maxReceiveCount receives)',
        '',
      ].join('\n'),
    );
    expect(groups[0]?.messageIds).toEqual(['a', 'b']);
  });
});

describe('dlq redrive', () => {
  it("sends the body and the message's own attributes back, without Onceflow's", () => {
    const letter = toDeadLetter(parked('a', 'PermanentError: bad', 'PermanentError', NOW));

    expect(redriveRequest(letter, 'https://q/orders')).toEqual({
      QueueUrl: 'https://q/orders',
      MessageBody: letter.body,
      MessageAttributes: { tenant: { DataType: 'String', StringValue: 'acme' } },
    });
  });

  it('restores attributes the park folded into onceflow.originalAttributes, and keeps a FIFO group', () => {
    const message: Message = {
      MessageId: 'sqs-f',
      ReceiptHandle: 'h',
      Body: '{}',
      Attributes: { MessageGroupId: 'account-7' },
      MessageAttributes: {
        [PARK_ATTRIBUTE.reason]: { DataType: 'String', StringValue: 'PermanentError: bad' },
        [PARK_ATTRIBUTE.originalAttributes]: {
          DataType: 'String',
          StringValue: JSON.stringify({
            tenant: { dataType: 'String', stringValue: 'acme', stringListValues: [], binaryListValues: [] },
            blob: { dataType: 'Binary', binaryValue: Buffer.from('hi').toString('base64') },
          }),
        },
      },
    };

    expect(redriveRequest(toDeadLetter(message), 'https://q/orders.fifo')).toEqual({
      QueueUrl: 'https://q/orders.fifo',
      MessageBody: '{}',
      MessageAttributes: {
        tenant: { DataType: 'String', StringValue: 'acme' },
        blob: { DataType: 'Binary', BinaryValue: Buffer.from('hi') },
      },
      MessageGroupId: 'account-7',
      MessageDeduplicationId: 'sqs-f',
    });
  });

  it.each([
    [{}, true],
    [{ reason: 'bad' }, true],
    [{ reason: 'other' }, false],
    [{ errorType: 'PermanentError' }, true],
    [{ errorType: 'Permanent' }, false],
    [{ messageIds: ['a'] }, true],
    [{ messageIds: ['source-a'] }, true],
    [{ messageIds: ['sqs-a'] }, true],
    [{ messageIds: ['b'] }, false],
  ])('selection %j chooses it: %s', (selection, chosen) => {
    const letter = toDeadLetter(parked('a', 'PermanentError: bad', 'PermanentError', NOW));
    expect(matchesSelection(letter, selection)).toBe(chosen);
  });
});

describe('send lines', () => {
  it('derives ids as OnceflowProducer does, from a business key or a payload field', () => {
    const lines = parseSendLines(
      '{"businessKey":"k","payload":1}\n\n{"payload":{"orderId":7},"groupId":"g"}\n',
      {
        idFrom: 'orderId',
        namespace: 'orders',
      },
    );

    expect(lines).toEqual([
      { line: 1, message: { messageId: expect.stringMatching(/^[0-9a-f]{32}$/), payload: 1 } },
      {
        line: 3,
        message: {
          messageId: expect.stringMatching(/^[0-9a-f]{32}$/),
          payload: { orderId: 7 },
          groupId: 'g',
        },
      },
    ]);
  });

  it('refuses an id with an unpaired surrogate, naming the line', () => {
    expect(() => parseSendLines('{"messageId":"\\ud800","payload":1}', { namespace: 'onceflow' })).toThrow(
      'line 1: messageId has an unpaired surrogate (no UTF-8 form)',
    );
  });
});

describe('stack resources', () => {
  it('finds each consumer by the logical ids ExactlyOnceConsumer gives, ignoring other queues', () => {
    expect(
      consumersFromResources([
        { logicalId: 'OrderConsumerClaimsTable1A2B3C4D', type: 'AWS::DynamoDB::Table', physicalId: 'claims' },
        { logicalId: 'OrderConsumerQueue5E6F7A8B', type: 'AWS::SQS::Queue', physicalId: 'https://q/orders' },
        {
          logicalId: 'OrderConsumerDeadLetterQueue9C0D1E2F',
          type: 'AWS::SQS::Queue',
          physicalId: 'https://q/dlq',
        },
        {
          logicalId: 'OrderConsumerOutboxRelayDeadLetterQueue3A4B5C6D',
          type: 'AWS::SQS::Queue',
          physicalId: 'x',
        },
        { logicalId: 'ShippingQueue11111111', type: 'AWS::SQS::Queue', physicalId: 'https://q/shipping' },
      ]),
    ).toEqual([
      {
        name: 'OrderConsumer',
        names: {
          claimsTableName: 'claims',
          sourceQueueUrl: 'https://q/orders',
          deadLetterQueueUrl: 'https://q/dlq',
        },
      },
    ]);
  });
});

describe('describeAwsFailure', () => {
  const target = (service: 'DynamoDB' | 'SQS', resource: string, action: string) => ({
    service,
    endpoint: undefined,
    region: 'eu-west-1',
    action,
    resource,
  });

  it.each([
    [
      {
        name: 'AccessDeniedException',
        message:
          'User: arn:aws:iam::1:user/op is not authorized to perform: dynamodb:GetItem on resource: arn:aws:dynamodb:eu-west-1:1:table/claims',
      },
      target('DynamoDB', 'claims', 'dynamodb:GetItem'),
      'not allowed: User: arn:aws:iam::1:user/op is not authorized to perform: dynamodb:GetItem on resource: arn:aws:dynamodb:eu-west-1:1:table/claims',
    ],
    [
      { name: 'AccessDenied', message: 'Access to the resource is denied.' },
      target('SQS', 'https://q/dlq', 'sqs:ReceiveMessage'),
      'not allowed: sqs:ReceiveMessage on https://q/dlq (Access to the resource is denied.)',
    ],
    [
      { name: 'ResourceNotFoundException', message: 'Requested resource not found' },
      target('DynamoDB', 'claims', 'dynamodb:GetItem'),
      "table 'claims' does not exist at its endpoint in eu-west-1",
    ],
    [
      { name: 'QueueDoesNotExist', message: 'The specified queue does not exist.' },
      target('SQS', 'https://q/dlq', 'sqs:ReceiveMessage'),
      "queue 'https://q/dlq' does not exist at its endpoint in eu-west-1",
    ],
    [
      { name: 'CredentialsProviderError', message: 'Could not load credentials from any providers' },
      target('SQS', 'https://q/dlq', 'sqs:ReceiveMessage'),
      'no AWS credentials: give --profile, or set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY',
    ],
    [
      {
        name: 'UnrecognizedClientException',
        message: 'The security token included in the request is invalid.',
      },
      target('DynamoDB', 'claims', 'dynamodb:GetItem'),
      'DynamoDB refused the credentials (UnrecognizedClientException: The security token included in the request is invalid.)',
    ],
  ])('%j', (error, where, line) => {
    expect(describeAwsFailure(error, where)).toBe(line);
  });
});
