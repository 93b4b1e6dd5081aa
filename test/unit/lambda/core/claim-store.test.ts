import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  ProvisionedThroughputExceededException,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Claim } from '../../../../lambda/core/claim-results.js';
import { ClaimStore } from '../../../../lambda/core/claim-store.js';
import {
  ClaimStoreUnavailableError,
  InvalidStagedWritesError,
  MessageIdValidationError,
} from '../../../../lambda/core/errors.js';
import { MAX_COMMIT_ROUNDS } from '../../../../lambda/core/grouped-commit.js';
import { MAX_STAGED_WRITES } from '../../../../lambda/core/staged-writes.js';

// Error paths a real DynamoDB cannot be made to produce on demand: throttling, 5xx, conflicts, odd failures.
const dynamoDb = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1', maxAttempts: 1 }));
const mock = mockClient(dynamoDb);
const store = new ClaimStore({ tableName: 'claims', dynamoDb, clock: () => 1_000_000 });
const claim: Claim = {
  messageId: 'm-1',
  leaseToken: 'lease-1',
  fencingToken: 1,
  attempt: 1,
  leaseExpiresAtMs: 1_060_000,
  takeover: false,
};

const throttled = () =>
  new ProvisionedThroughputExceededException({ $metadata: { httpStatusCode: 400 }, message: 'slow down' });
const serverError = () =>
  Object.assign(new Error('We encountered an internal error'), { name: 'InternalServerError' });
const networkFault = () => Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
const cancelled = (...codes: string[]) =>
  new TransactionCanceledException({
    $metadata: {},
    message: 'Transaction cancelled',
    CancellationReasons: codes.map((Code) => ({ Code })),
  });

beforeEach(() => mock.reset());

describe('ClaimStore error paths', () => {
  it.each([
    ['throttling', throttled(), 'ProvisionedThroughputExceededException'],
    ['a 5xx', serverError(), 'InternalServerError'],
    ['a network fault', networkFault(), 'TimeoutError'],
  ])('turns %s during claim into a retryable ClaimStoreUnavailableError', async (_, error, reason) => {
    mock.on(UpdateCommand).rejects(error);

    const attempt = store.claim('m-1');

    await expect(attempt).rejects.toBeInstanceOf(ClaimStoreUnavailableError);
    await expect(attempt).rejects.toMatchObject({
      operation: 'claim',
      reason,
      retryable: true,
      cause: error,
    });
  });

  it.each([
    ['throttling', throttled(), 'ProvisionedThroughputExceededException'],
    ['an unknown error', new Error('boom'), 'Error'],
    ['a cancelled transaction with throttling', cancelled('ThrottlingError', 'None'), 'ThrottlingError'],
  ])('turns %s during commit into a retryable error, with nothing marked DONE', async (_, error, reason) => {
    mock.on(TransactWriteCommand).rejects(error);

    const attempt = store.commit(claim, [{ Put: { TableName: 'effects', Item: { id: 'e' } } }]);

    await expect(attempt).rejects.toBeInstanceOf(ClaimStoreUnavailableError);
    await expect(attempt).rejects.toMatchObject({ operation: 'commit', reason, retryable: true });
    // The transaction was the only write; it failed, so neither DONE nor the effect exists.
    expect(mock.commandCalls(TransactWriteCommand)).toHaveLength(1);
    expect(mock.commandCalls(UpdateCommand)).toHaveLength(0);
  });

  it('sends a transaction caught in a conflict again, and commits when the conflict has passed', async () => {
    mock.on(TransactWriteCommand).rejectsOnce(cancelled('None', 'TransactionConflict')).resolves({});

    await store.commit(claim, [{ Put: { TableName: 'effects', Item: { id: 'e' } } }]);

    expect(mock.commandCalls(TransactWriteCommand)).toHaveLength(2);
  });

  it('gives up on a conflict that does not pass with a retryable error', async () => {
    mock.on(TransactWriteCommand).rejects(cancelled('None', 'TransactionConflict'));

    const attempt = store.commit(claim, [{ Put: { TableName: 'effects', Item: { id: 'e' } } }]);

    await expect(attempt).rejects.toMatchObject({
      operation: 'commit',
      reason: 'TransactionConflict',
      retryable: true,
    });
    expect(mock.commandCalls(TransactWriteCommand)).toHaveLength(MAX_COMMIT_ROUNDS);
  });

  it('reports a staged write DynamoDB refuses as invalid as a permanent error', async () => {
    mock.on(TransactWriteCommand).rejects(cancelled('None', 'ValidationError'));

    const attempt = store.commit(claim, [{ Put: { TableName: 'effects', Item: { id: 'e' } } }]);

    await expect(attempt).rejects.toBeInstanceOf(InvalidStagedWritesError);
    await expect(attempt).rejects.toMatchObject({ retryable: false });
  });

  it('refuses more staged writes than one transaction holds, before sending anything', async () => {
    const writes = Array.from({ length: MAX_STAGED_WRITES + 1 }, (_, i) => ({
      Put: { TableName: 'effects', Item: { id: `e${i}` } },
    }));

    await expect(store.commit(claim, writes)).rejects.toThrow(
      'Commit of m-1 refused: 100 staged writes; one transaction holds at most 99 besides the claim record.',
    );
    expect(mock.calls()).toHaveLength(0);
  });

  it('turns a failure to release into a retryable error, but a lost lease into false', async () => {
    mock
      .on(UpdateCommand)
      .rejectsOnce(throttled())
      .rejectsOnce(
        new ConditionalCheckFailedException({ $metadata: {}, message: 'The conditional request failed' }),
      );

    await expect(store.release(claim)).rejects.toMatchObject({ operation: 'release', retryable: true });
    await expect(store.release(claim)).resolves.toBe(false);
  });

  it.each([
    ['an empty string', '', 'messageId must not be empty.'],
    ['a number', 42, 'messageId must be a string, got number.'],
    ['null', null, 'messageId must be a string, got null.'],
    ['513 bytes', 'x'.repeat(513), 'messageId is 513 bytes of UTF-8; at most 512 are allowed.'],
    ['257 two-byte characters', 'é'.repeat(257), 'messageId is 514 bytes of UTF-8; at most 512 are allowed.'],
  ])('rejects %s as a messageId without a request', async (_, messageId, message) => {
    // @ts-expect-error: callers from untyped JSON can pass anything
    const attempt = store.claim(messageId);

    await expect(attempt).rejects.toBeInstanceOf(MessageIdValidationError);
    await expect(attempt).rejects.toThrow(message);
    expect(mock.calls()).toHaveLength(0);
  });

  it('accepts a messageId of exactly 512 bytes', async () => {
    mock.on(UpdateCommand).resolves({});
    await expect(store.claim('é'.repeat(256))).resolves.toMatchObject({ kind: 'Claimed' });
  });
});
