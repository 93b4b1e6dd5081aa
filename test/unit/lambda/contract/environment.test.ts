import { describe, expect, it } from 'vitest';
import {
  ConfigurationError,
  type ConsumerEnvironment,
  ENVIRONMENT,
  readConsumerEnvironment,
  readRelayEnvironment,
  toConsumerEnvironment,
  toRelayEnvironment,
} from '../../../../lambda/index.js';

const consumer: ConsumerEnvironment = {
  claimsTableName: 'claims',
  mode: 'optimistic',
  leaseMs: 50_000,
  dedupWindowSeconds: 86_400,
  deadLetterQueueUrl: 'https://sqs.us-east-1.amazonaws.com/1/dlq',
  sourceQueueUrl: 'https://sqs.us-east-1.amazonaws.com/1/source',
  outboxTableName: 'outbox',
  serviceName: 'orders',
  readBeforeClaim: 'always',
};

describe('the deployment contract', () => {
  it('reads back exactly what the construct writes, for a consumer and for a relay', () => {
    expect(readConsumerEnvironment(toConsumerEnvironment(consumer))).toEqual(consumer);
    const relay = {
      outboxTableName: 'outbox',
      relayDeadLetterQueueUrl: 'https://dlq',
      serviceName: 'orders',
    };
    expect(readRelayEnvironment(toRelayEnvironment(relay))).toEqual(relay);
  });

  it('leaves out what is not set, so options and defaults can fill it', () => {
    const written = toConsumerEnvironment({
      ...consumer,
      deadLetterQueueUrl: undefined,
      outboxTableName: undefined,
    });
    expect(Object.keys(written)).not.toContain(ENVIRONMENT.deadLetterQueueUrl);
    expect(readConsumerEnvironment({})).toEqual({
      claimsTableName: undefined,
      mode: undefined,
      leaseMs: undefined,
      dedupWindowSeconds: undefined,
      deadLetterQueueUrl: undefined,
      sourceQueueUrl: undefined,
      outboxTableName: undefined,
      serviceName: undefined,
      readBeforeClaim: undefined,
    });
  });

  it.each([
    [ENVIRONMENT.mode, 'fast', "ONCEFLOW_MODE must be 'lease' or 'optimistic', not 'fast'."],
    [
      ENVIRONMENT.readBeforeClaim,
      'sometimes',
      "ONCEFLOW_READ_BEFORE_CLAIM must be 'auto', 'always' or 'never', not 'sometimes'.",
    ],
    [ENVIRONMENT.leaseMs, '-5', "ONCEFLOW_LEASE_MS must be a positive number, not '-5'."],
    [
      ENVIRONMENT.dedupWindowSeconds,
      'a week',
      "ONCEFLOW_DEDUP_WINDOW_SECONDS must be a positive number, not 'a week'.",
    ],
  ])('refuses %s=%s with a message naming the variable', (name, value, message) => {
    expect(() => readConsumerEnvironment({ [name]: value })).toThrow(new ConfigurationError(message));
  });

  it('requires the relay outbox table by name', () => {
    expect(() => readRelayEnvironment({})).toThrow(/ONCEFLOW_OUTBOX_TABLE/);
  });
});
