import { isVirtualHostableS3Bucket } from '@aws-sdk/core/client';
import { extendedEncodeURIComponent } from '@smithy/core/protocols';
import type { RetryErrorType } from '@smithy/types';
import {
  type AwsRequestSettings,
  requestTo,
  SignedRequests,
  type SignedResponse,
} from '../../aws/signed-requests.js';
import { ConfigurationError, PayloadStoreUnavailableError, PayloadUnavailableError } from '../errors.js';

/** Where and as whom a consumer reads chunks (`largePayloads.s3`). */
export type S3ReadOptions = AwsRequestSettings;

/**
 * Reads chunks with signed GETs (`SignedRequests`) instead of the S3 client: the S3 client was 500 KB of every
 * consumer's bundle and a quarter of its init time, for one operation. Chunks are checked against their SHA-256
 * by the caller, so the response needs no checksum of its own.
 */
export class SignedChunkReader {
  private readonly requests: SignedRequests;

  constructor(options: S3ReadOptions = {}, optionName = 'largePayloads.s3') {
    this.requests = new SignedRequests('s3', options, optionName);
  }

  /** The chunk's bytes. Throws PayloadUnavailableError (missing), ConfigurationError or PayloadStoreUnavailableError. */
  async get(bucket: string, key: string, abortSignal?: AbortSignal): Promise<Uint8Array> {
    const region = this.requests.region();
    const endpoint = this.requests.configuredEndpoint();
    const url = chunkUrl(bucket, key, endpoint ?? this.requests.regionalHost(region));
    let response: SignedResponse;
    try {
      response = await this.requests.send(requestTo(url, { method: 'GET' }), {
        region,
        abortSignal,
        retryable: (answer) => retryable(answer.statusCode, s3Error(answer).code),
      });
    } catch (error) {
      if (abortSignal?.aborted === true) throw error;
      const detail = error instanceof Error ? `${error.name} (${error.message})` : String(error);
      throw new PayloadStoreUnavailableError(
        `read of s3://${bucket}/${key} failed with ${detail}; it is safe to retry.`,
        { cause: error },
      );
    }
    if (response.statusCode === 200) return response.body;
    throw refusal(response, `s3://${bucket}/${key}`, key, region);
  }

  /** Signs a request to S3, as the S3 client's signer does (for the tests that hold the two equal). */
  signRequest(request: Parameters<SignedRequests['sign']>[0], region: string) {
    return this.requests.sign(request, region);
  }
}

/**
 * The chunk's URL as the S3 client addresses it: path-style on a configured endpoint (an emulator's host names
 * would not resolve), else virtual-hosted on the region's S3 host, path-style for a bucket name that cannot be a
 * host label.
 */
export function chunkUrl(bucket: string, key: string, endpointOrHost: string): URL {
  const path = key.split('/').map(extendedEncodeURIComponent).join('/');
  if (endpointOrHost.includes('://')) {
    return new URL(`${endpointOrHost.replace(/\/+$/, '')}/${extendedEncodeURIComponent(bucket)}/${path}`);
  }
  return isVirtualHostableS3Bucket(bucket)
    ? new URL(`https://${bucket}.${endpointOrHost}/${path}`)
    : new URL(`https://${endpointOrHost}/${extendedEncodeURIComponent(bucket)}/${path}`);
}

/** As the SDK's standard retries class them: SlowDown throttles; other 5xx and a RequestTimeout pass. */
function retryable(statusCode: number, code: string): RetryErrorType | undefined {
  if (statusCode === 429 || code === 'SlowDown') return 'THROTTLING';
  if (statusCode >= 500 || code === 'RequestTimeout') return 'TRANSIENT';
  return undefined;
}

/** What a refused GET means for the message. */
function refusal(response: SignedResponse, where: string, key: string, region: string): Error {
  const { code, message } = s3Error(response);
  const said = `${code}${message === '' ? '' : `: ${message}`}`;
  if (response.statusCode === 404 && code !== 'NoSuchBucket') {
    return new PayloadUnavailableError(
      `chunk ${where} is missing (expired, deleted or never uploaded).`,
      key,
    );
  }
  if (response.statusCode === 403 || code === 'NoSuchBucket') {
    return new ConfigurationError(
      `cannot read ${where} (${said}): grant this function access to the payload bucket.`,
    );
  }
  if (
    response.statusCode === 301 ||
    code === 'PermanentRedirect' ||
    code === 'AuthorizationHeaderMalformed'
  ) {
    return new ConfigurationError(
      `cannot read ${where} from region ${region} (${said}): set largePayloads.s3.region to the bucket's region.`,
    );
  }
  return new PayloadStoreUnavailableError(
    `read of ${where} failed with HTTP ${response.statusCode} ${said}; it is safe to retry.`,
  );
}

/** S3's XML error document (`<Error><Code>NoSuchKey</Code><Message>...`). */
function s3Error(response: SignedResponse): { code: string; message: string } {
  const xml = Buffer.from(response.body).toString('utf8');
  const field = (name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];
  return { code: field('Code') ?? `HTTP ${response.statusCode}`, message: field('Message') ?? '' };
}
