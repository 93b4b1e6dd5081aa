/**
 * What the CLI says when something goes wrong: one line, never a stack trace. A `UsageError` exits 2 (the command
 * line is wrong); a `CliFailure` exits 1 (the command was right and could not be done).
 */

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export class CliFailure extends Error {
  override readonly name = 'CliFailure';
}

export type AwsService = 'DynamoDB' | 'SQS' | 'CloudFormation';

/** What a failed request was aimed at, to name it in the one line. */
export interface AwsTarget {
  readonly service: AwsService;
  /** The endpoint the client was given, or undefined for the service's own endpoint in the region. */
  readonly endpoint: string | undefined;
  readonly region: string | undefined;
  /** The API action, as IAM names it: `dynamodb:GetItem`. */
  readonly action: string;
  /** The table name, queue URL or stack name the request named. */
  readonly resource: string;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
]);
const DENIED = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'UnauthorizedOperation',
  'AuthorizationError',
]);
const BAD_CREDENTIALS = new Set([
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'IncompleteSignature',
]);
const MISSING_QUEUE = new Set(['QueueDoesNotExist', 'AWS.SimpleQueueService.NonExistentQueue']);

/** One line that says what failed and where, for any error an AWS SDK call can throw. */
export function describeAwsFailure(error: unknown, target: AwsTarget): string {
  const name = errorField(error, 'name') ?? 'Error';
  const message = (errorField(error, 'message') ?? String(error)).split('\n')[0] ?? '';
  const where = target.endpoint ?? `its endpoint in ${target.region ?? 'the default region'}`;
  const code = networkCode(error);
  if (code !== undefined) return `cannot reach ${target.service} at ${where} (${code})`;
  if (name === 'TimeoutError' || name === 'RequestTimeout') {
    return `cannot reach ${target.service} at ${where} (timed out)`;
  }
  if (name === 'CredentialsProviderError') {
    return 'no AWS credentials: give --profile, or set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY';
  }
  if (/region is missing/i.test(message)) return 'no region: give --region, or set AWS_REGION';
  if (DENIED.has(name)) {
    // AWS's own message names the principal, the action and the resource.
    return message.includes(target.action)
      ? `not allowed: ${message}`
      : `not allowed: ${target.action} on ${target.resource} (${message})`;
  }
  if (BAD_CREDENTIALS.has(name)) return `${target.service} refused the credentials (${name}: ${message})`;
  if (target.service === 'DynamoDB' && name === 'ResourceNotFoundException') {
    return `table '${target.resource}' does not exist at ${where}`;
  }
  if (target.service === 'SQS' && MISSING_QUEUE.has(name)) {
    return `queue '${target.resource}' does not exist at ${where}`;
  }
  if (target.service === 'CloudFormation' && /does not exist/.test(message)) {
    return `stack '${target.resource}' does not exist in ${target.region ?? 'the default region'}`;
  }
  return `${target.action} on ${target.resource} failed: ${name}: ${message}`;
}

/** The Node network error code of a connection failure, on the error or its cause. */
export function networkCode(error: unknown): string | undefined {
  for (let current: unknown = error, depth = 0; current !== undefined && depth < 4; depth++) {
    const code = errorField(current, 'code');
    if (code !== undefined && NETWORK_CODES.has(code)) return code;
    const fromMessage = /\b(E[A-Z_]{4,})\b/.exec(errorField(current, 'message') ?? '')?.[1];
    if (fromMessage !== undefined && NETWORK_CODES.has(fromMessage)) return fromMessage;
    current = typeof current === 'object' && current !== null ? Reflect.get(current, 'cause') : undefined;
  }
  return undefined;
}

function errorField(error: unknown, field: 'name' | 'message' | 'code'): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const value: unknown = Reflect.get(error, field);
  return typeof value === 'string' ? value : undefined;
}
