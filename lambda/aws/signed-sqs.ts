import type { RetryErrorType } from '@smithy/types';
import {
  type AwsRequestSettings,
  requestTo,
  SignedRequests,
  type SignedResponse,
} from './signed-requests.js';

/** Where and as whom a consumer calls SQS (`exactlyOnce`'s `sqs` option). */
export type SqsSettings = AwsRequestSettings;

/** A message attribute as SQS's API names its fields. */
export interface SqsMessageAttribute {
  readonly DataType: string;
  readonly StringValue?: string;
  readonly BinaryValue?: Uint8Array;
}

export interface SqsSendMessageInput {
  readonly QueueUrl: string;
  readonly MessageBody: string;
  readonly MessageAttributes?: Readonly<Record<string, SqsMessageAttribute>>;
  readonly MessageGroupId?: string;
  readonly MessageDeduplicationId?: string;
}

export interface SqsChangeMessageVisibilityInput {
  readonly QueueUrl: string;
  readonly ReceiptHandle: string;
  readonly VisibilityTimeout: number;
}

/** SQS refused a request: `name` is its error code (`QueueDoesNotExist`, `InvalidParameterValue`...). */
export class SqsRequestError extends Error {
  constructor(
    name: string,
    message: string,
    readonly statusCode: number,
  ) {
    super(message);
    this.name = name;
  }
}

/**
 * The two SQS calls a consumer makes (park a message in the DLQ, change a record's visibility), sent in SQS's JSON
 * protocol as signed requests (`SignedRequests`) instead of through the SQS client, which was 48 KB of every
 * consumer bundle. A unit test holds each request to the one the SQS client sends.
 */
export class SignedSqs {
  private readonly requests: SignedRequests;

  constructor(settings: SqsSettings = {}, optionName = 'sqs') {
    this.requests = new SignedRequests('sqs', settings, optionName);
  }

  async sendMessage(input: SqsSendMessageInput): Promise<{ readonly MessageId?: string }> {
    const attributes = input.MessageAttributes;
    const output = await this.call('SendMessage', {
      ...input,
      ...(attributes === undefined
        ? {}
        : {
            MessageAttributes: Object.fromEntries(
              Object.entries(attributes).map(([name, value]) => [
                name,
                value.BinaryValue === undefined
                  ? value
                  : { ...value, BinaryValue: Buffer.from(value.BinaryValue).toString('base64') },
              ]),
            ),
          }),
    });
    const messageId = Reflect.get(output, 'MessageId');
    return typeof messageId === 'string' ? { MessageId: messageId } : {};
  }

  async changeMessageVisibility(input: SqsChangeMessageVisibilityInput): Promise<void> {
    await this.call('ChangeMessageVisibility', input);
  }

  /** Signs a request to SQS, as the SQS client's signer does (for the tests that hold the two equal). */
  signRequest(request: Parameters<SignedRequests['sign']>[0], region: string) {
    return this.requests.sign(request, region);
  }

  /** The request `operation` sends, before signing: for the tests that hold it to the SQS client's. */
  request(operation: string, input: object, region = this.requests.region()) {
    const body = JSON.stringify(input);
    const endpoint = this.requests.configuredEndpoint() ?? `https://${this.requests.regionalHost(region)}`;
    return requestTo(new URL(endpoint), {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.0',
        'content-length': String(Buffer.byteLength(body)),
        'x-amz-target': `AmazonSQS.${operation}`,
        // SQS answers errors with their legacy query-API codes too, as the SDK asks.
        'x-amzn-query-mode': 'true',
      },
      body,
    });
  }

  private async call(operation: string, input: object): Promise<object> {
    const region = this.requests.region();
    const response = await this.requests.send(this.request(operation, input, region), {
      region,
      retryable: (answer) => retryable(answer, sqsError(answer).name),
    });
    if (response.statusCode >= 300) {
      const { name, message } = sqsError(response);
      throw new SqsRequestError(name, message, response.statusCode);
    }
    const text = Buffer.from(response.body).toString('utf8');
    const parsed: unknown = text === '' ? {} : JSON.parse(text);
    return parsed !== null && typeof parsed === 'object' ? parsed : {};
  }
}

const THROTTLING_CODES = new Set(['ThrottlingException', 'RequestThrottled', 'KmsThrottled']);

/** As the SDK's standard retries class them: throttling codes and 429 throttle; 5xx pass. */
function retryable(response: SignedResponse, code: string): RetryErrorType | undefined {
  if (response.statusCode === 429 || THROTTLING_CODES.has(code)) return 'THROTTLING';
  if (response.statusCode >= 500) return 'TRANSIENT';
  return undefined;
}

/** SQS's JSON error: `{ "__type": "com.amazonaws.sqs#QueueDoesNotExist", "message": "..." }`. */
function sqsError(response: SignedResponse): { name: string; message: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(response.body).toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const field = (name: string): string | undefined => {
    if (parsed === null || typeof parsed !== 'object') return undefined;
    const value: unknown = Reflect.get(parsed, name);
    return typeof value === 'string' ? value : undefined;
  };
  const type = field('__type') ?? response.headers['x-amzn-errortype'];
  const name = type?.split('#').pop()?.split(':')[0] ?? `HTTP ${response.statusCode}`;
  return {
    name,
    message: field('message') ?? field('Message') ?? `SQS answered HTTP ${response.statusCode}`,
  };
}
