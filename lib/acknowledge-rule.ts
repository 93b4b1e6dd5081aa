import * as cdk from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * Records why a resource is built as it is, for rule checkers such as cdk-nag (`Validations.acknowledge`).
 * aws-cdk-lib has that API from 2.252.0 on; Onceflow supports older versions too, where there is nothing to read
 * the acknowledgement, so it is skipped. A namespace import, because a named import of a missing export fails to
 * load in ESM.
 */
interface ValidationsLike {
  of(scope: IConstruct): { acknowledge?: (...rules: { id: string; reason: string }[]) => void };
}

const validations: ValidationsLike | undefined = Reflect.get(cdk, 'Validations');

export function acknowledgeRule(scope: IConstruct, id: string, reason: string): void {
  const target = validations?.of(scope);
  if (typeof target?.acknowledge === 'function') target.acknowledge({ id, reason });
}
