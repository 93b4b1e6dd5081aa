import { isVirtualHostableS3Bucket, partition } from '@aws-sdk/core/client';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { Sha256 } from '@smithy/core/checksum';
import {
  extendedEncodeURIComponent,
  type HttpHandler,
  HttpRequest,
  type HttpResponse,
} from '@smithy/core/protocols';
import { StandardRetryStrategy } from '@smithy/core/retry';
import { NodeHttpHandler, streamCollector } from '@smithy/node-http-handler';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider, RetryErrorType } from '@smithy/types';
import { REQUEST_TIMEOUTS } from '../../contract/defaults.js';
import { ConfigurationError, PayloadStoreUnavailableError, PayloadUnavailableError } from '../errors.js';

/** Where and as whom a consumer reads chunks. Every field defaults the way the AWS SDK's S3 client does. */
export interface S3ReadOptions {
  /** @default AWS_REGION, else AWS_DEFAULT_REGION */
  readonly region?: string;
  /**
   * An S3-compatible endpoint (an emulator), addressed path-style. @default AWS_ENDPOINT_URL_S3, else
   * AWS_ENDPOINT_URL, else the bucket's regional S3 endpoint
   */
  readonly endpoint?: string;
  /** @default the SDK's default provider chain (on Lambda, the function's role) */
  readonly credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** Attempts per chunk, for 5xx, throttling and network errors. @default 3 */
  readonly maxAttempts?: number;
  /** @default the SDK's NodeHttpHandler with Onceflow's request timeouts */
  readonly requestHandler?: HttpHandler<object>;
}

/** What one GET of a chunk got: the bytes, or S3's status and error code. */
type GetOutcome =
  | { readonly ok: true; readonly bytes: Uint8Array }
  | { readonly ok: false; readonly status: number; readonly code: string; readonly message: string };

/**
 * Reads chunks with SigV4-signed GETs made from the AWS SDK's own parts (its signer, HTTP handler, credential chain,
 * partition table and retry strategy) instead of the S3 client: the S3 client was 500 KB of every consumer's
 * bundle and a quarter of its init time, for one operation. Chunks are checked against their SHA-256 by the
 * caller, so the response needs no checksum of its own.
 */
export class SignedChunkReader {
  private readonly signers = new Map<string, SignatureV4>();
  private readonly credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  private readonly http: HttpHandler<object>;
  private readonly retries: StandardRetryStrategy;
  /** GET requests sent, retries included. */
  requests = 0;

  constructor(private readonly options: S3ReadOptions = {}) {
    this.credentials = options.credentials ?? defaultProvider();
    this.http =
      options.requestHandler ??
      new NodeHttpHandler({
        connectionTimeout: REQUEST_TIMEOUTS.connectionTimeoutMs,
        requestTimeout: REQUEST_TIMEOUTS.requestTimeoutMs,
        throwOnRequestTimeout: true,
      });
    this.retries = new StandardRetryStrategy({ maxAttempts: options.maxAttempts ?? 3 });
  }

  /** The chunk's bytes. Throws PayloadUnavailableError (missing), ConfigurationError or PayloadStoreUnavailableError. */
  async get(bucket: string, key: string, abortSignal?: AbortSignal): Promise<Uint8Array> {
    const region = readRegion(this.options);
    const url = chunkUrl(bucket, key, { region, endpoint: readEndpoint(this.options) });
    let token = await this.retries.acquireInitialRetryToken('s3:GetObject');
    for (;;) {
      let outcome: GetOutcome;
      try {
        outcome = await this.send(url, region, abortSignal);
      } catch (error) {
        if (abortSignal?.aborted === true) throw error;
        const detail = error instanceof Error ? `${error.name} (${error.message})` : String(error);
        const failure = new PayloadStoreUnavailableError(
          `read of s3://${bucket}/${key} failed with ${detail}; it is safe to retry.`,
          { cause: error },
        );
        token = await this.retry(token, 'TRANSIENT', failure);
        continue;
      }
      if (outcome.ok) {
        this.retries.recordSuccess(token);
        return outcome.bytes;
      }
      const failure = classify(outcome, bucket, key, region);
      if (failure.retry === undefined) throw failure.error;
      token = await this.retry(token, failure.retry, failure.error);
    }
  }

  private async send(url: URL, region: string, abortSignal: AbortSignal | undefined): Promise<GetOutcome> {
    const request = new HttpRequest({
      method: 'GET',
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port === '' ? {} : { port: Number(url.port) }),
      path: url.pathname,
      headers: { host: url.host },
    });
    const signed = await this.signRequest(request, region);
    this.requests++;
    const { response } = await this.http.handle(
      signed as HttpRequest,
      abortSignal === undefined ? {} : { abortSignal },
    );
    const body = await collect(response);
    if (response.statusCode === 200) return { ok: true, bytes: body };
    const xml = Buffer.from(body).toString('utf8');
    return {
      ok: false,
      status: response.statusCode,
      code: xmlField(xml, 'Code') ?? `HTTP ${response.statusCode}`,
      message: xmlField(xml, 'Message') ?? '',
    };
  }

  /** Waits the SDK's backoff before another attempt, or throws `failure` once the attempts are spent. */
  private async retry(
    token: Awaited<ReturnType<StandardRetryStrategy['acquireInitialRetryToken']>>,
    errorType: RetryErrorType,
    failure: Error,
  ) {
    try {
      return await this.retries.refreshRetryTokenForRetry(token, { errorType });
    } catch {
      throw failure;
    }
  }

  /** Signs a request to S3 in `region` with this reader's credentials, as the S3 client's signer does. */
  signRequest(request: HttpRequest, region: string) {
    return this.signer(region).sign(request);
  }

  /** The same signer settings as the S3 client's: service s3, the path signed as sent, the payload hash sent. */
  private signer(region: string): SignatureV4 {
    let signer = this.signers.get(region);
    if (signer === undefined) {
      signer = new SignatureV4({
        service: 's3',
        region,
        credentials: this.credentials,
        sha256: Sha256,
        uriEscapePath: false,
        applyChecksum: true,
      });
      this.signers.set(region, signer);
    }
    return signer;
  }
}

/**
 * The chunk's URL as the S3 client addresses it: path-style on a configured endpoint (an emulator's host names
 * would not resolve), else virtual-hosted on the region's endpoint in its partition (`amazonaws.com.cn` in China),
 * path-style for bucket names that cannot be a host label.
 */
export function chunkUrl(
  bucket: string,
  key: string,
  where: { readonly region: string; readonly endpoint: string | undefined },
): URL {
  const path = key.split('/').map(extendedEncodeURIComponent).join('/');
  if (where.endpoint !== undefined) {
    return new URL(`${where.endpoint.replace(/\/+$/, '')}/${extendedEncodeURIComponent(bucket)}/${path}`);
  }
  const host = `s3.${where.region}.${partition(where.region).dnsSuffix}`;
  return isVirtualHostableS3Bucket(bucket)
    ? new URL(`https://${bucket}.${host}/${path}`)
    : new URL(`https://${host}/${extendedEncodeURIComponent(bucket)}/${path}`);
}

/** What a refused GET means for the message, and whether another attempt may help. */
function classify(
  outcome: Extract<GetOutcome, { ok: false }>,
  bucket: string,
  key: string,
  region: string,
): { error: Error; retry: RetryErrorType | undefined } {
  const where = `s3://${bucket}/${key}`;
  const said = `${outcome.code}${outcome.message === '' ? '' : `: ${outcome.message}`}`;
  if (outcome.status === 404 && outcome.code !== 'NoSuchBucket') {
    return {
      error: new PayloadUnavailableError(
        `chunk ${where} is missing (expired, deleted or never uploaded).`,
        key,
      ),
      retry: undefined,
    };
  }
  if (outcome.status === 403 || outcome.code === 'NoSuchBucket') {
    return {
      error: new ConfigurationError(
        `cannot read ${where} (${said}): grant this function access to the payload bucket.`,
      ),
      retry: undefined,
    };
  }
  if (
    outcome.status === 301 ||
    outcome.code === 'PermanentRedirect' ||
    outcome.code === 'AuthorizationHeaderMalformed'
  ) {
    return {
      error: new ConfigurationError(
        `cannot read ${where} from region ${region} (${said}): set largePayloads.s3.region to the bucket's region.`,
      ),
      retry: undefined,
    };
  }
  // As the SDK's standard retries class them: SlowDown throttles; other 5xx and a RequestTimeout pass.
  const retry: RetryErrorType | undefined =
    outcome.status === 429 || outcome.code === 'SlowDown'
      ? 'THROTTLING'
      : outcome.status >= 500 || outcome.code === 'RequestTimeout'
        ? 'TRANSIENT'
        : undefined;
  return {
    error: new PayloadStoreUnavailableError(
      `read of ${where} failed with HTTP ${outcome.status} ${said}; it is safe to retry.`,
    ),
    retry,
  };
}

function readRegion(options: S3ReadOptions): string {
  const region =
    options.region ?? nonEmpty(process.env.AWS_REGION) ?? nonEmpty(process.env.AWS_DEFAULT_REGION);
  if (region === undefined) {
    throw new ConfigurationError(
      'no AWS region to read large payloads from: set AWS_REGION or largePayloads.s3.region.',
    );
  }
  return region;
}

function readEndpoint(options: S3ReadOptions): string | undefined {
  return (
    options.endpoint ?? nonEmpty(process.env.AWS_ENDPOINT_URL_S3) ?? nonEmpty(process.env.AWS_ENDPOINT_URL)
  );
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

async function collect(response: HttpResponse): Promise<Uint8Array> {
  return response.body === undefined ? new Uint8Array() : await streamCollector(response.body);
}

/** One field of S3's XML error document (`<Error><Code>NoSuchKey</Code>...`). */
function xmlField(xml: string, name: string): string | undefined {
  return new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];
}
