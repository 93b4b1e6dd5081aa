import {
  isProcessingMode,
  isReadBeforeClaim,
  type ProcessingMode,
  type ReadBeforeClaim,
} from './defaults.js';
import { ConfigurationError } from './errors.js';
import { DEFAULT_SERVICE_NAME, METRICS_NAMESPACE } from './metrics.js';

/**
 * The environment the CDK construct writes on a function and the runtime reads at cold start: defined once, so
 * the two cannot drift. `toXEnvironment` is the construct's half (and the local stack's); `readXEnvironment`
 * the runtime's, which refuses a malformed value with the variable's name.
 */
export const ENVIRONMENT = {
  claimsTableName: 'ONCEFLOW_CLAIMS_TABLE',
  deadLetterQueueUrl: 'ONCEFLOW_DLQ_URL',
  sourceQueueUrl: 'ONCEFLOW_SOURCE_QUEUE_URL',
  mode: 'ONCEFLOW_MODE',
  /** When the batch's DONE records are read before claiming or committing ('auto', 'always', 'never'). */
  readBeforeClaim: 'ONCEFLOW_READ_BEFORE_CLAIM',
  leaseMs: 'ONCEFLOW_LEASE_MS',
  dedupWindowSeconds: 'ONCEFLOW_DEDUP_WINDOW_SECONDS',
  /** Receives before SQS redrives a message; the runtime parks it itself, with a reason, on the last one. */
  maxReceiveCount: 'ONCEFLOW_MAX_RECEIVE_COUNT',
  /** The source queue's visibility timeout; extending a lease never shortens a record's visibility below it. */
  visibilityTimeoutSeconds: 'ONCEFLOW_VISIBILITY_TIMEOUT_SECONDS',
  /** The outbox table (optional): ctx.outbox writes there; the relay reads its stream. */
  outboxTableName: 'ONCEFLOW_OUTBOX_TABLE',
  /** Where the relay parks outbox items it can never deliver. */
  relayDeadLetterQueueUrl: 'ONCEFLOW_RELAY_DLQ_URL',
  /** Powertools' own: the `service` dimension of the metrics and the logger's service. */
  serviceName: 'POWERTOOLS_SERVICE_NAME',
  metricsNamespace: 'POWERTOOLS_METRICS_NAMESPACE',
} as const;

/** A process environment, or any map of the same shape. */
export type EnvironmentVariables = Readonly<Record<string, string | undefined>>;

/** What a consumer function is configured with. */
export interface ConsumerEnvironment {
  readonly claimsTableName: string;
  readonly mode: ProcessingMode;
  readonly leaseMs: number;
  readonly dedupWindowSeconds: number;
  readonly deadLetterQueueUrl: string | undefined;
  readonly sourceQueueUrl: string | undefined;
  readonly outboxTableName: string | undefined;
  readonly serviceName: string;
  readonly maxReceiveCount?: number;
  readonly visibilityTimeoutSeconds?: number;
  readonly readBeforeClaim?: ReadBeforeClaim;
}

/** What an outbox relay function is configured with. */
export interface RelayEnvironment {
  readonly outboxTableName: string;
  readonly relayDeadLetterQueueUrl: string | undefined;
  readonly serviceName: string;
}

/** The variables to set on a consumer function. Values may be CDK tokens: nothing here parses them. */
export function toConsumerEnvironment(
  settings: {
    readonly [K in keyof ConsumerEnvironment]: ConsumerEnvironment[K] extends number
      ? number | string
      : ConsumerEnvironment[K];
  },
): Record<string, string> {
  return {
    [ENVIRONMENT.claimsTableName]: settings.claimsTableName,
    [ENVIRONMENT.mode]: settings.mode,
    [ENVIRONMENT.leaseMs]: String(settings.leaseMs),
    [ENVIRONMENT.dedupWindowSeconds]: String(settings.dedupWindowSeconds),
    ...optional(ENVIRONMENT.deadLetterQueueUrl, settings.deadLetterQueueUrl),
    ...optional(ENVIRONMENT.sourceQueueUrl, settings.sourceQueueUrl),
    ...optional(ENVIRONMENT.outboxTableName, settings.outboxTableName),
    ...optional(ENVIRONMENT.maxReceiveCount, settings.maxReceiveCount),
    ...optional(ENVIRONMENT.visibilityTimeoutSeconds, settings.visibilityTimeoutSeconds),
    ...optional(ENVIRONMENT.readBeforeClaim, settings.readBeforeClaim),
    [ENVIRONMENT.serviceName]: settings.serviceName,
    [ENVIRONMENT.metricsNamespace]: METRICS_NAMESPACE,
  };
}

export function toRelayEnvironment(settings: RelayEnvironment): Record<string, string> {
  return {
    [ENVIRONMENT.outboxTableName]: settings.outboxTableName,
    ...optional(ENVIRONMENT.relayDeadLetterQueueUrl, settings.relayDeadLetterQueueUrl),
    [ENVIRONMENT.serviceName]: settings.serviceName,
    [ENVIRONMENT.metricsNamespace]: METRICS_NAMESPACE,
  };
}

/**
 * Reads a consumer's settings from the environment; what is unset is undefined (options or defaults fill it).
 * A value that is set but malformed throws a ConfigurationError naming the variable.
 */
export function readConsumerEnvironment(env: EnvironmentVariables): {
  readonly [K in keyof ConsumerEnvironment]: ConsumerEnvironment[K] | undefined;
} {
  return {
    claimsTableName: text(env, ENVIRONMENT.claimsTableName),
    mode: mode(env),
    leaseMs: positiveNumber(env, ENVIRONMENT.leaseMs),
    dedupWindowSeconds: positiveNumber(env, ENVIRONMENT.dedupWindowSeconds),
    deadLetterQueueUrl: text(env, ENVIRONMENT.deadLetterQueueUrl),
    sourceQueueUrl: text(env, ENVIRONMENT.sourceQueueUrl),
    outboxTableName: text(env, ENVIRONMENT.outboxTableName),
    serviceName: text(env, ENVIRONMENT.serviceName),
    maxReceiveCount: positiveNumber(env, ENVIRONMENT.maxReceiveCount),
    visibilityTimeoutSeconds: positiveNumber(env, ENVIRONMENT.visibilityTimeoutSeconds),
    readBeforeClaim: readBeforeClaim(env),
  };
}

/** Reads a relay's settings; the outbox table is required. */
export function readRelayEnvironment(env: EnvironmentVariables): RelayEnvironment {
  const outboxTableName = text(env, ENVIRONMENT.outboxTableName);
  if (outboxTableName === undefined) {
    throw new ConfigurationError(
      `The outbox relay needs ${ENVIRONMENT.outboxTableName}: the outbox table's name.`,
    );
  }
  return {
    outboxTableName,
    relayDeadLetterQueueUrl: text(env, ENVIRONMENT.relayDeadLetterQueueUrl),
    serviceName: text(env, ENVIRONMENT.serviceName) ?? DEFAULT_SERVICE_NAME,
  };
}

function optional(name: string, value: string | number | undefined): Record<string, string> {
  return value === undefined ? {} : { [name]: String(value) };
}

function text(env: EnvironmentVariables, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
}

function mode(env: EnvironmentVariables): ProcessingMode | undefined {
  const value = text(env, ENVIRONMENT.mode);
  if (value === undefined || isProcessingMode(value)) return value;
  throw new ConfigurationError(`${ENVIRONMENT.mode} must be 'lease' or 'optimistic', not '${value}'.`);
}

function readBeforeClaim(env: EnvironmentVariables): ReadBeforeClaim | undefined {
  const value = text(env, ENVIRONMENT.readBeforeClaim);
  if (value === undefined || isReadBeforeClaim(value)) return value;
  throw new ConfigurationError(
    `${ENVIRONMENT.readBeforeClaim} must be 'auto', 'always' or 'never', not '${value}'.`,
  );
}

function positiveNumber(env: EnvironmentVariables, name: string): number | undefined {
  const value = text(env, name);
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0) {
    throw new ConfigurationError(`${name} must be a positive number, not '${value}'.`);
  }
  return parsed;
}
