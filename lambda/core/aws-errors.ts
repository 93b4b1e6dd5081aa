import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';

/** The reason one item of a cancelled TransactWriteItems gave, in request order. */
export interface CancellationReason {
  /** 'None' for an innocent item; else 'ConditionalCheckFailed', 'TransactionConflict', 'ValidationError', ... */
  readonly code: string;
  readonly message: string | undefined;
  /** The item as it stood, when the request asked for ReturnValuesOnConditionCheckFailure: ALL_OLD. */
  readonly item: Record<string, unknown> | undefined;
}

export const CancellationCode = {
  NONE: 'None',
  CONDITIONAL_CHECK_FAILED: 'ConditionalCheckFailed',
  VALIDATION_ERROR: 'ValidationError',
} as const;

/** Reads CancellationReasons off a TransactionCanceledException; undefined for any other error. */
export function readCancellationReasons(error: unknown): CancellationReason[] | undefined {
  if (!(error instanceof TransactionCanceledException)) return undefined;
  return (error.CancellationReasons ?? []).map((reason) => ({
    code: reason.Code ?? CancellationCode.NONE,
    message: reason.Message,
    item: reason.Item === undefined ? undefined : unmarshall(reason.Item),
  }));
}

/** The old item of a failed conditional write, when one was asked for and existed. */
export function readConditionFailure(
  error: unknown,
): { item: Record<string, unknown> | undefined } | undefined {
  if (!(error instanceof ConditionalCheckFailedException)) return undefined;
  return { item: error.Item === undefined ? undefined : unmarshall(error.Item) };
}

/** A short name for any thrown value, for error messages and metrics. */
export function errorName(error: unknown): string {
  if (error instanceof Error) return error.name;
  return typeof error;
}

/** DynamoDB's answer when a table the request names does not exist: configuration, not a passing fault. */
export function isMissingTable(error: unknown): boolean {
  return errorName(error) === 'ResourceNotFoundException';
}
