import { fileURLToPath } from 'node:url';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { expect } from 'vitest';
import { ExactlyOnceConsumer, type ExactlyOnceConsumerProps } from '../../lib/exactly-once-consumer.js';

/** A handler entry that bundles in milliseconds and does not depend on the runtime under construction. */
export const FIXTURE_ENTRY = fileURLToPath(new URL('./fixtures/noop-handler.ts', import.meta.url));

/** An app that skips bundling: for tests about the template, not the code asset. */
export function appWithoutBundling(): App {
  return new App({ context: { 'aws:cdk:bundling-stacks': [] } });
}

/**
 * A consumer of the fixture handler, `Consumer` in a stack `Test` of its own, with `props` and what `build` makes
 * in that stack. Bundling is skipped unless `app` asks for it.
 */
export function synth(
  props: Partial<ExactlyOnceConsumerProps> = {},
  build?: (stack: Stack) => Partial<ExactlyOnceConsumerProps>,
  app: App = appWithoutBundling(),
) {
  const stack = new Stack(app, 'Test');
  const consumer = new ExactlyOnceConsumer(stack, 'Consumer', {
    entry: FIXTURE_ENTRY,
    ...props,
    ...build?.(stack),
  });
  return { stack, consumer, template: Template.fromStack(stack) };
}

/** A consumer with an outbox that sends to one queue of the same stack. */
export function synthWithOutbox() {
  return synth({}, (stack) => ({
    outbox: { targets: [new Queue(stack, 'Downstream', { enforceSSL: true })] },
  }));
}

/** Every action the policies attached to `roleLogicalId` allow, with the resources each is allowed on. */
export function allowedActions(template: Template, roleLogicalId: string): Map<string, Set<string>> {
  const policies = template.findResources('AWS::IAM::Policy', {
    Properties: { Roles: Match.arrayWith([{ Ref: roleLogicalId }]) },
  });
  const allowed = new Map<string, Set<string>>();
  for (const policy of Object.values(policies)) {
    for (const statement of policy.Properties.PolicyDocument.Statement) {
      expect(statement.Effect).toBe('Allow');
      for (const action of toArray(statement.Action).map(String)) {
        const resources = allowed.get(action) ?? new Set<string>();
        for (const resource of toArray(statement.Resource)) resources.add(JSON.stringify(resource));
        allowed.set(action, resources);
      }
    }
  }
  return allowed;
}

/** The JSON form `allowedActions` uses for a resource: `Fn::GetAtt [logicalId, Arn]`. */
export const arnOf = (logicalId: string): string => JSON.stringify({ 'Fn::GetAtt': [logicalId, 'Arn'] });

/** The JSON form `allowedActions` uses for a table's stream: `Fn::GetAtt [logicalId, StreamArn]`. */
export const streamArnOf = (logicalId: string): string =>
  JSON.stringify({ 'Fn::GetAtt': [logicalId, 'StreamArn'] });

/** The JSON form `allowedActions` uses for `Resource: "*"`. */
export const ANY_RESOURCE = JSON.stringify('*');

/**
 * Asserts that the role allows exactly these actions, each on exactly these resources: order-free on both, and
 * an action or resource too many fails as surely as one missing.
 */
export function expectAllowedExactly(
  template: Template,
  roleLogicalId: string,
  expected: Readonly<Record<string, readonly string[]>>,
): void {
  const actual = Object.fromEntries(
    [...allowedActions(template, roleLogicalId)].map(([action, resources]) => [
      action,
      [...resources].sort(),
    ]),
  );
  const wanted = Object.fromEntries(
    Object.entries(expected).map(([action, resources]) => [action, [...resources].sort()]),
  );
  expect(actual).toEqual(wanted);
}

/** The one resource of `type` whose logical id starts with `prefix`. */
export function logicalIdOf(template: Template, type: string, prefix: string): string {
  const ids = Object.keys(template.findResources(type)).filter((id) => id.startsWith(prefix));
  expect(ids).toHaveLength(1);
  const [id] = ids;
  if (id === undefined) throw new Error(`No ${type} starting with ${prefix}`);
  return id;
}

function toArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [value];
}
