import {
  DescribeStacksCommand,
  paginateListStackResources,
  type StackResourceSummary,
} from '@aws-sdk/client-cloudformation';
import { ENVIRONMENT } from '../lambda/index.js';
import type { AwsClients, Environment } from './aws.js';
import { CliFailure, UsageError } from './failures.js';

/** The names of one consumer's resources: what `--table-name`, `--queue-url` and `--dlq-url` give. */
export interface ConsumerNames {
  readonly claimsTableName?: string;
  readonly sourceQueueUrl?: string;
  readonly deadLetterQueueUrl?: string;
}

/** What `onceflow stack` found in a stack. */
export interface StackNames {
  readonly stackName: string;
  /** `outputs`: the stack's outputs named them; `resources`: found among its resources by logical id. */
  readonly from: 'outputs' | 'resources';
  readonly consumers: readonly { readonly name: string; readonly names: ConsumerNames }[];
}

/** The outputs the reference stack writes (lib/onceflow-stack.ts), and a user's stack may copy. */
export const STACK_OUTPUT = {
  claimsTableName: 'ClaimsTableName',
  sourceQueueUrl: 'QueueUrl',
  deadLetterQueueUrl: 'DeadLetterQueueUrl',
} as const;

/** The environment variables of the deployment contract, as the construct sets them on the function. */
export const NAME_VARIABLE = {
  claimsTableName: ENVIRONMENT.claimsTableName,
  sourceQueueUrl: ENVIRONMENT.sourceQueueUrl,
  deadLetterQueueUrl: ENVIRONMENT.deadLetterQueueUrl,
} as const;

const FLAG = {
  claimsTableName: '--table-name',
  sourceQueueUrl: '--queue-url',
  deadLetterQueueUrl: '--dlq-url',
} as const;

const WHAT = {
  claimsTableName: 'claims table',
  sourceQueueUrl: 'source queue',
  deadLetterQueueUrl: 'dead-letter queue',
} as const;

export type NameKey = keyof ConsumerNames;

export const NAME_KEYS: readonly NameKey[] = ['claimsTableName', 'sourceQueueUrl', 'deadLetterQueueUrl'];

/**
 * Resolves the names a command needs, first found wins: the flag, then `--stack`, then the contract's variables.
 * A name that is still missing is a usage error that says the three ways to give it.
 */
export class NameResolver {
  private stack: Promise<ConsumerNames> | undefined;

  constructor(
    private readonly flags: ConsumerNames & { readonly stack?: string; readonly consumer?: string },
    private readonly environment: Environment,
    private readonly clients: AwsClients,
  ) {}

  async optional(key: NameKey): Promise<string | undefined> {
    const flag = this.flags[key];
    if (flag !== undefined && flag !== '') return flag;
    if (this.flags.stack !== undefined) {
      const fromStack = (await this.fromStack(this.flags.stack))[key];
      if (fromStack !== undefined) return fromStack;
    }
    const variable = this.environment[NAME_VARIABLE[key]];
    return variable === undefined || variable === '' ? undefined : variable;
  }

  async required(key: NameKey): Promise<string> {
    const name = await this.optional(key);
    if (name !== undefined) return name;
    throw new UsageError(
      `no ${WHAT[key]}: give ${FLAG[key]}, or --stack NAME, or set ${NAME_VARIABLE[key]}` +
        (this.flags.stack === undefined ? '' : ` (stack '${this.flags.stack}' does not name it)`),
    );
  }

  private fromStack(stackName: string): Promise<ConsumerNames> {
    this.stack ??= readStackNames(this.clients, stackName).then((found) =>
      pickConsumer(found, this.flags.consumer),
    );
    return this.stack;
  }
}

/** The one consumer of a stack, or the one `--consumer` names; several without `--consumer` is a usage error. */
export function pickConsumer(found: StackNames, consumer: string | undefined): ConsumerNames {
  const names = found.consumers.map((c) => c.name);
  if (consumer !== undefined) {
    const chosen = found.consumers.find((c) => c.name === consumer);
    if (chosen === undefined) {
      throw new UsageError(
        `stack '${found.stackName}' has no consumer '${consumer}'; it has: ${names.join(', ') || 'none'}`,
      );
    }
    return chosen.names;
  }
  const [only, ...others] = found.consumers;
  if (only === undefined) {
    throw new CliFailure(
      `stack '${found.stackName}' has no ExactlyOnceConsumer: no outputs ${Object.values(STACK_OUTPUT).join(', ')}, and no claims table with its queue and DLQ among its resources`,
    );
  }
  if (others.length > 0) {
    throw new UsageError(
      `stack '${found.stackName}' has ${names.length} consumers: give --consumer, one of ${names.join(', ')}`,
    );
  }
  return only.names;
}

/**
 * Reads a stack: its outputs when they name the claims table or queues (as the reference stack's do), otherwise
 * its resources, where each `ExactlyOnceConsumer` is a claims table, a queue and a DLQ under one construct path.
 */
export async function readStackNames(clients: AwsClients, stackName: string): Promise<StackNames> {
  const cloudFormation = clients.cloudFormation();
  const { Stacks } = await clients.call('CloudFormation', 'cloudformation:DescribeStacks', stackName, () =>
    cloudFormation.send(new DescribeStacksCommand({ StackName: stackName })),
  );
  const outputs = new Map((Stacks?.[0]?.Outputs ?? []).map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']));
  const fromOutputs: ConsumerNames = {
    claimsTableName: outputs.get(STACK_OUTPUT.claimsTableName),
    sourceQueueUrl: outputs.get(STACK_OUTPUT.sourceQueueUrl),
    deadLetterQueueUrl: outputs.get(STACK_OUTPUT.deadLetterQueueUrl),
  };
  if (Object.values(fromOutputs).some((value) => value !== undefined)) {
    return { stackName, from: 'outputs', consumers: [{ name: stackName, names: fromOutputs }] };
  }
  const resources: StackResourceSummary[] = [];
  await clients.call('CloudFormation', 'cloudformation:ListStackResources', stackName, async () => {
    for await (const page of paginateListStackResources(
      { client: cloudFormation },
      { StackName: stackName },
    )) {
      resources.push(...(page.StackResourceSummaries ?? []));
    }
  });
  return {
    stackName,
    from: 'resources',
    consumers: consumersFromResources(
      resources.map((r) => ({
        logicalId: r.LogicalResourceId ?? '',
        type: r.ResourceType ?? '',
        physicalId: r.PhysicalResourceId ?? '',
      })),
    ),
  };
}

export interface StackResource {
  readonly logicalId: string;
  readonly type: string;
  /** A table's name; a queue's URL. */
  readonly physicalId: string;
}

/** CDK's logical ids end in an 8-character hash of the construct path. */
const DEAD_LETTER_QUEUE = /^(.*)DeadLetterQueue[0-9A-F]{8}$/;
const SOURCE_QUEUE = /^Queue[0-9A-F]{8}$/;
const TABLE_TYPES = new Set(['AWS::DynamoDB::Table', 'AWS::DynamoDB::GlobalTable']);

/**
 * The consumers among a stack's resources: for each `<Consumer>DeadLetterQueue<hash>` queue, the
 * `<Consumer>Queue<hash>` queue and the `<Consumer>Claims…` table beside it, as `ExactlyOnceConsumer` names them.
 */
export function consumersFromResources(
  resources: readonly StackResource[],
): { name: string; names: ConsumerNames }[] {
  const queues = resources.filter((r) => r.type === 'AWS::SQS::Queue');
  const tables = resources.filter((r) => TABLE_TYPES.has(r.type));
  return queues.flatMap((dlq) => {
    const prefix = DEAD_LETTER_QUEUE.exec(dlq.logicalId)?.[1];
    if (prefix === undefined) return [];
    const source = queues.find(
      (q) => q.logicalId.startsWith(prefix) && SOURCE_QUEUE.test(q.logicalId.slice(prefix.length)),
    );
    const claims = tables.find((t) => t.logicalId.startsWith(`${prefix}Claims`));
    if (source === undefined || claims === undefined) return [];
    return [
      {
        name: prefix,
        names: {
          claimsTableName: claims.physicalId,
          sourceQueueUrl: source.physicalId,
          deadLetterQueueUrl: dlq.physicalId,
        },
      },
    ];
  });
}
