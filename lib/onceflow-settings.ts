import { Duration } from 'aws-cdk-lib';
import type { Node } from 'constructs';
import type { ConsumerMode } from 'onceflow/cdk';
import { ContextValueError } from './errors.js';

/** The CDK context keys `OnceflowStack` reads (`npx cdk deploy -c onceflow:mode=optimistic`). */
export const CONTEXT_KEYS = {
  mode: 'onceflow:mode',
  batchSize: 'onceflow:batchSize',
  maxConcurrency: 'onceflow:maxConcurrency',
  functionTimeoutSeconds: 'onceflow:functionTimeoutSeconds',
  memorySizeMb: 'onceflow:memorySizeMb',
  alarmTopicArn: 'onceflow:alarmTopicArn',
  retainTables: 'onceflow:retainTables',
} as const;

/** Deployment settings; an absent one leaves the construct default in force. */
export interface OnceflowSettings {
  readonly mode: ConsumerMode | undefined;
  readonly batchSize: number | undefined;
  readonly maxConcurrency: number | undefined;
  readonly functionTimeout: Duration | undefined;
  readonly memorySize: number | undefined;
  /** SNS topic every alarm notifies. */
  readonly alarmTopicArn: string | undefined;
  /** Keep the claims and ledger tables when the stack is deleted. Defaults to true: they hold the state. */
  readonly retainTables: boolean;
}

/**
 * Reads the settings from CDK context. Values from `-c key=value` arrive as strings and values from cdk.json as
 * JSON, so both forms are accepted; anything else fails the synth with the key and the value.
 */
export function readOnceflowSettings(node: Node): OnceflowSettings {
  const seconds = integerOf(node, CONTEXT_KEYS.functionTimeoutSeconds);
  return {
    mode: modeOf(node),
    batchSize: integerOf(node, CONTEXT_KEYS.batchSize),
    maxConcurrency: integerOf(node, CONTEXT_KEYS.maxConcurrency),
    functionTimeout: seconds === undefined ? undefined : Duration.seconds(seconds),
    memorySize: integerOf(node, CONTEXT_KEYS.memorySizeMb),
    alarmTopicArn: stringOf(node, CONTEXT_KEYS.alarmTopicArn),
    retainTables: booleanOf(node, CONTEXT_KEYS.retainTables) ?? true,
  };
}

function modeOf(node: Node): ConsumerMode | undefined {
  const value = node.tryGetContext(CONTEXT_KEYS.mode);
  if (value === undefined || value === 'lease' || value === 'optimistic') return value;
  throw new ContextValueError(CONTEXT_KEYS.mode, value, '"lease" or "optimistic"');
}

function integerOf(node: Node, key: string): number | undefined {
  const value: unknown = node.tryGetContext(key);
  if (value === undefined) return undefined;
  const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof number === 'number' && Number.isInteger(number) && number > 0) return number;
  throw new ContextValueError(key, value, 'a positive integer');
}

function stringOf(node: Node, key: string): string | undefined {
  const value: unknown = node.tryGetContext(key);
  if (value === undefined || (typeof value === 'string' && value !== '')) return value;
  throw new ContextValueError(key, value, 'a non-empty string');
}

function booleanOf(node: Node, key: string): boolean | undefined {
  const value: unknown = node.tryGetContext(key);
  if (value === undefined || typeof value === 'boolean') return value;
  if (value === 'true' || value === 'false') return value === 'true';
  throw new ContextValueError(key, value, 'true or false');
}
