import { PayloadValidationError } from '../core/errors.js';
import type { MessageHandler } from './handler-contract.js';

/**
 * The Standard Schema interface (standardschema.dev, v1), which zod, valibot, arktype and others implement. Copied
 * as the spec invites, so Onceflow needs no schema library nor the spec package at run time.
 */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  readonly '~standard': StandardSchemaV1.Props<Input, Output>;
}

export declare namespace StandardSchemaV1 {
  interface Props<Input = unknown, Output = Input> {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (value: unknown) => Result<Output> | Promise<Result<Output>>;
    readonly types?: Types<Input, Output> | undefined;
  }
  type Result<Output> = SuccessResult<Output> | FailureResult;
  interface SuccessResult<Output> {
    readonly value: Output;
    readonly issues?: undefined;
  }
  interface FailureResult {
    readonly issues: ReadonlyArray<Issue>;
  }
  interface Issue {
    readonly message: string;
    readonly path?: ReadonlyArray<PropertyKey | PathSegment> | undefined;
  }
  interface PathSegment {
    readonly key: PropertyKey;
  }
  interface Types<Input = unknown, Output = Input> {
    readonly input: Input;
    readonly output: Output;
  }
  type InferOutput<Schema extends StandardSchemaV1> = NonNullable<Schema['~standard']['types']>['output'];
}

/**
 * The handler, behind a check of the payload against `schema`: the handler gets the schema's output (its
 * defaults and transforms applied); a payload that fails throws PayloadValidationError, which parks the message
 * with the issues as the reason.
 */
export function validatingHandler<Output, Result>(
  schema: StandardSchemaV1<unknown, Output>,
  handler: MessageHandler<Output, Result>,
): MessageHandler<unknown, Result> {
  return async (message, ctx) => {
    const result = await schema['~standard'].validate(message.payload);
    if (result.issues !== undefined) {
      throw new PayloadValidationError(message.messageId, result.issues.map(describeIssue));
    }
    return handler({ ...message, payload: result.value }, ctx);
  };
}

/** `path: message`, the path dotted (`items.0.sku`), or the message alone for an issue on the whole payload. */
export function describeIssue(issue: StandardSchemaV1.Issue): string {
  const path = (issue.path ?? [])
    .map((segment) => String(typeof segment === 'object' ? segment.key : segment))
    .join('.');
  return path === '' ? issue.message : `${path}: ${issue.message}`;
}
