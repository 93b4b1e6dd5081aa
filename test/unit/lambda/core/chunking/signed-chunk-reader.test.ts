import { GetObjectCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import type { HttpRequest } from '@smithy/core/protocols';
import { describe, expect, it } from 'vitest';
import { SignedChunkReader } from '../../../../../lambda/core/chunking/signed-chunk-reader.js';
import {
  ConfigurationError,
  PayloadStoreUnavailableError,
  PayloadUnavailableError,
} from '../../../../../lambda/core/errors.js';
import {
  recordingHandler,
  requestUrl,
  signAtOneInstant,
  TEST_CREDENTIALS,
} from '../../../../support/recording-http.js';

// The reference is the AWS SDK's own S3 client: for the same GetObject, at the same instant, with the same
// credentials, the reader must send to the same URL with the same signature. Nothing goes on the network: both
// hand their final, signed request to a recording handler.

const credentials = TEST_CREDENTIALS;
const BODY = Buffer.from('chunk bytes');
const ANSWER = { statusCode: 200, body: BODY };

async function viaS3Client(bucket: string, key: string, config: S3ClientConfig): Promise<HttpRequest> {
  const handler = recordingHandler(ANSWER);
  const client = new S3Client({
    credentials,
    // Our reader checks each chunk's SHA-256 itself, so it does not ask S3 for a response checksum.
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: handler,
    ...config,
  });
  await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const [request] = handler.requests;
  if (request === undefined) throw new Error('the S3 client sent nothing');
  return request;
}

async function viaReader(
  bucket: string,
  key: string,
  options: { region: string; endpoint?: string },
): Promise<{ request: HttpRequest; bytes: Uint8Array }> {
  const handler = recordingHandler(ANSWER);
  const reader = new SignedChunkReader({ ...options, credentials, requestHandler: handler });
  const bytes = await reader.get(bucket, key);
  const [request] = handler.requests;
  if (request === undefined) throw new Error('the reader sent nothing');
  return { request, bytes };
}

const url = requestUrl;

describe('SignedChunkReader against the S3 client', () => {
  signAtOneInstant();

  it.each([
    ['a bucket in us-east-1', 'onceflow-payloads-1a2b', 'chunks/sha256/00ff', { region: 'us-east-1' }],
    ['a bucket in eu-west-1', 'onceflow-payloads-1a2b', 'chunks/sha256/00ff', { region: 'eu-west-1' }],
    ['a bucket in China (another partition)', 'payloads-cn', 'chunks/sha256/00ff', { region: 'cn-north-1' }],
    [
      'a bucket whose name cannot be a host label',
      'my.dotted.bucket',
      'chunks/sha256/00ff',
      { region: 'eu-west-1' },
    ],
    [
      'a key with characters S3 escapes',
      'onceflow-payloads',
      "team's chunks/(v2)*!/a b+c",
      { region: 'us-east-1' },
    ],
  ] as const)('addresses %s as the S3 client does', async (_, bucket, key, where) => {
    const reference = await viaS3Client(bucket, key, { region: where.region });
    const { request, bytes } = await viaReader(bucket, key, where);

    expect(url(request)).toBe(url(reference));
    expect(request.headers['x-amz-content-sha256']).toBe(reference.headers['x-amz-content-sha256']);
    expect(Buffer.from(bytes)).toEqual(BODY);
  });

  it('addresses a configured endpoint path-style, as the S3 client with forcePathStyle does', async () => {
    const endpoint = 'http://127.0.0.1:4566';
    const reference = await viaS3Client('local-bucket', 'chunks/sha256/00ff', {
      region: 'us-east-1',
      endpoint,
      forcePathStyle: true,
    });
    const { request } = await viaReader('local-bucket', 'chunks/sha256/00ff', {
      region: 'us-east-1',
      endpoint,
    });

    expect(url(request)).toBe(url(reference));
  });

  it.each(['us-east-1', 'cn-north-1'])(
    "signs the S3 client's own GetObject request (%s) to the same signature",
    async (region) => {
      const reference = await viaS3Client('onceflow-payloads', "chunks/(v2)/team's 00ff", { region });
      const unsigned = reference.clone();
      for (const name of ['authorization', 'x-amz-date', 'x-amz-security-token'])
        delete unsigned.headers[name];
      const reader = new SignedChunkReader({ credentials, requestHandler: recordingHandler(ANSWER) });

      const signed = await reader.signRequest(unsigned, region);

      expect(signed.headers.authorization).toBe(reference.headers.authorization);
      expect(signed.headers['x-amz-security-token']).toBe(credentials.sessionToken);
    },
  );
});

describe("SignedChunkReader's answers to S3's refusals", () => {
  const reader = (answer: { statusCode: number; body: string }, maxAttempts = 1) => {
    const handler = recordingHandler(answer);
    return {
      handler,
      reader: new SignedChunkReader({
        region: 'eu-west-1',
        credentials,
        requestHandler: handler,
        maxAttempts,
      }),
    };
  };
  const s3Error = (code: string) =>
    `<?xml version="1.0"?><Error><Code>${code}</Code><Message>said by S3</Message></Error>`;

  it.each([
    [404, 'NoSuchKey', PayloadUnavailableError, /^chunk s3:\/\/b\/k is missing/],
    [404, 'NoSuchBucket', ConfigurationError, /^cannot read s3:\/\/b\/k \(NoSuchBucket: said by S3\): grant/],
    [403, 'AccessDenied', ConfigurationError, /^cannot read s3:\/\/b\/k \(AccessDenied: said by S3\): grant/],
    [301, 'PermanentRedirect', ConfigurationError, /from region eu-west-1 .*set largePayloads\.s3\.region/],
    [400, 'AuthorizationHeaderMalformed', ConfigurationError, /set largePayloads\.s3\.region/],
    [503, 'SlowDown', PayloadStoreUnavailableError, /HTTP 503 SlowDown: said by S3; it is safe to retry/],
    [500, 'InternalError', PayloadStoreUnavailableError, /HTTP 500 InternalError/],
  ] as const)('HTTP %i %s is a %s', async (statusCode, code, type, message) => {
    const { reader: subject } = reader({ statusCode, body: s3Error(code) });

    const error = await subject.get('b', 'k').catch((thrown: unknown) => thrown);

    expect(error).toBeInstanceOf(type);
    expect((error as Error).message).toMatch(message);
  });

  it.each([
    [503, 'SlowDown', 3],
    [500, 'InternalError', 3],
    [404, 'NoSuchKey', 1],
    [403, 'AccessDenied', 1],
  ] as const)('HTTP %i %s is tried %i time(s) of 3', async (statusCode, code, attempts) => {
    const { reader: subject, handler } = reader({ statusCode, body: s3Error(code) }, 3);

    await subject.get('b', 'k').catch(() => undefined);

    expect(handler.requests).toHaveLength(attempts);
  });

  it('retries a network error and reports it as passing once the attempts are spent', async () => {
    let attempts = 0;
    const subject = new SignedChunkReader({
      region: 'eu-west-1',
      credentials,
      maxAttempts: 2,
      requestHandler: {
        handle: async () => {
          attempts++;
          throw Object.assign(new Error('socket hang up'), { name: 'ECONNRESET' });
        },
        updateHttpClientConfig: () => undefined,
        httpHandlerConfigs: () => ({}),
      },
    });

    const error = await subject.get('b', 'k').catch((thrown: unknown) => thrown);

    expect(attempts).toBe(2);
    expect(error).toBeInstanceOf(PayloadStoreUnavailableError);
    expect((error as Error).message).toBe(
      'read of s3://b/k failed with ECONNRESET (socket hang up); it is safe to retry.',
    );
  });

  it('says in one line that it needs a region', async () => {
    const saved = { AWS_REGION: process.env.AWS_REGION, AWS_DEFAULT_REGION: process.env.AWS_DEFAULT_REGION };
    delete process.env.AWS_REGION;
    delete process.env.AWS_DEFAULT_REGION;
    try {
      const subject = new SignedChunkReader({ credentials, requestHandler: recordingHandler(ANSWER) });
      await expect(subject.get('b', 'k')).rejects.toThrow(
        'no AWS region for S3 requests: set AWS_REGION or largePayloads.s3.region.',
      );
    } finally {
      for (const [name, value] of Object.entries(saved)) if (value !== undefined) process.env[name] = value;
    }
  });
});
