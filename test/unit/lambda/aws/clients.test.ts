import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { ListQueuesCommand } from '@aws-sdk/client-sqs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { defaultDocumentClient, defaultSqsClient } from '../../../../lambda/aws/clients.js';
import { DEFAULT_FUNCTION_TIMEOUT_SECONDS, REQUEST_TIMEOUTS } from '../../../../lambda/contract/defaults.js';

/**
 * The request handler resolves its settings at its first request. A request sent with a signal that is already
 * aborted resolves them and then stops before opening any connection.
 */
async function handlerSettings(send: (abortSignal: AbortSignal) => Promise<unknown>) {
  await send(AbortSignal.abort()).catch(() => undefined);
}

describe('default clients', () => {
  beforeEach(() => {
    vi.stubEnv('AWS_REGION', 'eu-west-1');
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
  });
  afterEach(() => vi.unstubAllEnvs());

  it.each([
    [
      'DynamoDB',
      () => {
        const client = defaultDocumentClient();
        return {
          handler: client.config.requestHandler,
          send: (abortSignal: AbortSignal) => client.send(new ListTablesCommand({}), { abortSignal }),
        };
      },
    ],
    [
      'SQS',
      () => {
        const client = defaultSqsClient();
        return {
          handler: client.config.requestHandler,
          send: (abortSignal: AbortSignal) => client.send(new ListQueuesCommand({}), { abortSignal }),
        };
      },
    ],
  ])('the %s client gives up on a response after the request timeout, as an error', async (_, build) => {
    const { handler, send } = build();
    await handlerSettings(send);

    const settings: unknown =
      'httpHandlerConfigs' in handler && typeof handler.httpHandlerConfigs === 'function'
        ? handler.httpHandlerConfigs()
        : undefined;
    expect(settings).toMatchObject({
      connectionTimeout: REQUEST_TIMEOUTS.connectionTimeoutMs,
      requestTimeout: REQUEST_TIMEOUTS.requestTimeoutMs,
      throwOnRequestTimeout: true,
    });
  });

  it.each([
    ['DynamoDB', () => defaultDocumentClient().config.maxAttempts()],
    ['SQS', () => defaultSqsClient().config.maxAttempts()],
  ])(
    'the %s client surfaces a lost response, after every SDK attempt, within half the default function timeout',
    async (_, maxAttempts) => {
      const attempts = await maxAttempts();
      // Room left after the last attempt: release the lease and answer for the rest of the batch.
      expect(attempts * REQUEST_TIMEOUTS.requestTimeoutMs).toBeLessThanOrEqual(
        (DEFAULT_FUNCTION_TIMEOUT_SECONDS * 1000) / 2,
      );
    },
  );
});
