import { partition } from '@aws-sdk/core/client';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { Sha256 } from '@smithy/core/checksum';
import { type HttpHandler, HttpRequest, type HttpResponse } from '@smithy/core/protocols';
import { StandardRetryStrategy } from '@smithy/core/retry';
import { NodeHttpHandler, streamCollector } from '@smithy/node-http-handler';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider, RetryErrorType } from '@smithy/types';
import { REQUEST_TIMEOUTS } from '../contract/defaults.js';
import { ConfigurationError } from '../core/errors.js';

/**
 * Where and as whom the runtime calls S3 or SQS. Every field defaults the way the AWS SDK's clients find it, so
 * on Lambda none is needed.
 */
export interface AwsRequestSettings {
  /** @default AWS_REGION, else AWS_DEFAULT_REGION */
  readonly region?: string;
  /** An endpoint of the service's API (an emulator). @default AWS_ENDPOINT_URL_S3 / _SQS, else AWS_ENDPOINT_URL */
  readonly endpoint?: string;
  /** @default the SDK's default provider chain (on Lambda, the function's role) */
  readonly credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** Attempts per request, for throttling, 5xx and network errors, with the SDK's standard backoff. @default 3 */
  readonly maxAttempts?: number;
  /** @default the SDK's NodeHttpHandler with Onceflow's request timeouts */
  readonly requestHandler?: HttpHandler<object>;
}

/** The services the runtime calls without their SDK clients. */
export type SignedService = 's3' | 'sqs';

/** A response, body read. */
export interface SignedResponse {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
}

/**
 * SigV4-signed requests built from the AWS SDK's own parts: its signer, HTTP handler, credential chain, partition
 * table and standard retry strategy. The runtime uses them for the few S3 and SQS operations a consumer makes
 * (read a chunk; park a message, change a visibility) instead of the S3 and SQS clients, which were 550 KB of
 * every consumer bundle. Unit tests hold each request to the one the SDK's client sends.
 */
export class SignedRequests {
  private readonly signers = new Map<string, SignatureV4>();
  private readonly credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  private readonly http: HttpHandler<object>;
  private readonly retries: StandardRetryStrategy;

  constructor(
    private readonly service: SignedService,
    private readonly settings: AwsRequestSettings,
    /** The option that sets `settings`, for error messages. */
    private readonly optionName: string,
  ) {
    this.credentials = settings.credentials ?? defaultProvider();
    this.http =
      settings.requestHandler ??
      new NodeHttpHandler({
        connectionTimeout: REQUEST_TIMEOUTS.connectionTimeoutMs,
        requestTimeout: REQUEST_TIMEOUTS.requestTimeoutMs,
        throwOnRequestTimeout: true,
      });
    this.retries = new StandardRetryStrategy({ maxAttempts: settings.maxAttempts ?? 3 });
  }

  region(): string {
    const region =
      this.settings.region ?? nonEmpty(process.env.AWS_REGION) ?? nonEmpty(process.env.AWS_DEFAULT_REGION);
    if (region === undefined) {
      throw new ConfigurationError(
        `no AWS region for ${this.service.toUpperCase()} requests: set AWS_REGION or ${this.optionName}.region.`,
      );
    }
    return region;
  }

  /** The configured endpoint (an emulator), or undefined for the service's regional endpoint. */
  configuredEndpoint(): string | undefined {
    const variable = `AWS_ENDPOINT_URL_${this.service.toUpperCase()}`;
    return (
      this.settings.endpoint ?? nonEmpty(process.env[variable]) ?? nonEmpty(process.env.AWS_ENDPOINT_URL)
    );
  }

  /** `<service>.<region>.<the partition's DNS suffix>`: `amazonaws.com`, `amazonaws.com.cn` in China... */
  regionalHost(region: string): string {
    return `${this.service}.${region}.${partition(region).dnsSuffix}`;
  }

  /**
   * Signs and sends `request`, again after the SDK's backoff while `retryable` says the answer may pass and
   * attempts remain. Returns the last answer; throws the last network error.
   */
  async send(
    request: HttpRequest,
    options: {
      readonly region: string;
      readonly abortSignal?: AbortSignal | undefined;
      readonly retryable: (response: SignedResponse) => RetryErrorType | undefined;
    },
  ): Promise<SignedResponse> {
    let token = await this.retries.acquireInitialRetryToken(`${this.service}:${request.method}`);
    for (;;) {
      let response: SignedResponse;
      try {
        response = await this.sendOnce(request, options.region, options.abortSignal);
      } catch (error) {
        if (options.abortSignal?.aborted === true) throw error;
        token = await this.retry(token, 'TRANSIENT', error);
        continue;
      }
      const retry = response.statusCode < 300 ? undefined : options.retryable(response);
      if (retry === undefined) {
        if (response.statusCode < 300) this.retries.recordSuccess(token);
        return response;
      }
      try {
        token = await this.retries.refreshRetryTokenForRetry(token, { errorType: retry });
      } catch {
        return response;
      }
    }
  }

  /** Signs `request` for `region` with these credentials, as the service's SDK client signs. */
  sign(request: HttpRequest, region: string) {
    return this.signer(region).sign(request);
  }

  private async sendOnce(
    request: HttpRequest,
    region: string,
    abortSignal: AbortSignal | undefined,
  ): Promise<SignedResponse> {
    const signed = await this.sign(HttpRequest.clone(request), region);
    const { response } = await this.http.handle(
      signed as HttpRequest,
      abortSignal === undefined ? {} : { abortSignal },
    );
    return { statusCode: response.statusCode, headers: response.headers, body: await collect(response) };
  }

  /** Waits the SDK's backoff before another attempt, or throws `error` once the attempts are spent. */
  private async retry(
    token: Awaited<ReturnType<StandardRetryStrategy['acquireInitialRetryToken']>>,
    errorType: RetryErrorType,
    error: unknown,
  ) {
    try {
      return await this.retries.refreshRetryTokenForRetry(token, { errorType });
    } catch {
      throw error;
    }
  }

  /**
   * The SDK clients' signer settings. S3 signs the path as sent (its keys are escaped once) and sends the payload
   * hash in `x-amz-content-sha256`; SQS, like most services, escapes the path again and sends no hash header.
   */
  private signer(region: string): SignatureV4 {
    let signer = this.signers.get(region);
    if (signer === undefined) {
      const s3 = this.service === 's3';
      signer = new SignatureV4({
        service: this.service,
        region,
        credentials: this.credentials,
        sha256: Sha256,
        uriEscapePath: !s3,
        applyChecksum: s3,
      });
      this.signers.set(region, signer);
    }
    return signer;
  }
}

/**
 * Settings as given, or a one-line ConfigurationError for an SDK client given instead: before 0.2 these options
 * took one, and the runtime no longer bundles the S3 and SQS clients.
 */
export function checkRequestSettings(
  settings: AwsRequestSettings | undefined,
  optionName: string,
  service: SignedService,
): AwsRequestSettings {
  if (settings !== undefined && typeof Reflect.get(settings, 'send') === 'function') {
    const name = service.toUpperCase();
    throw new ConfigurationError(
      `${optionName} takes { region, endpoint, credentials }, not an ${name} client: the runtime calls ${name} without one.`,
    );
  }
  return settings ?? {};
}

/** A request to `url`, with the host header the SDK sends (the port included when there is one). */
export function requestTo(
  url: URL,
  init: { method: string; headers?: Record<string, string>; body?: string },
): HttpRequest {
  return new HttpRequest({
    method: init.method,
    protocol: url.protocol,
    hostname: url.hostname,
    ...(url.port === '' ? {} : { port: Number(url.port) }),
    path: url.pathname,
    headers: { host: url.host, ...init.headers },
    ...(init.body === undefined ? {} : { body: init.body }),
  });
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

async function collect(response: HttpResponse): Promise<Uint8Array> {
  return response.body === undefined ? new Uint8Array() : await streamCollector(response.body);
}
