import type { RemovalPolicy } from 'aws-cdk-lib';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import type { Role } from 'aws-cdk-lib/aws-iam';
import {
  EventSourceMapping,
  FilterCriteria,
  FilterRule,
  type Function as LambdaFunction,
  StartingPosition,
} from 'aws-cdk-lib/aws-lambda';
import { SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { LogGroup } from 'aws-cdk-lib/aws-logs';
import type { IQueue, Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DEFAULT_SERVICE_NAME, toRelayEnvironment } from '../lambda/contract/index.js';
import { acknowledgeRule } from './acknowledge-rule.js';
import { createFunctionLogGroup, createFunctionRole, createPrebuiltFunction } from './bundled-function.js';
import { createDeadLetterQueue } from './consumer-queues.js';
import { OUTBOX_DEFAULTS } from './exactly-once-consumer-defaults.js';
import { OutboxTable } from './outbox-table.js';
import { prebuiltFunctionDirectory } from './package-assets.js';

/** The outbox settings a consumer takes (`ExactlyOnceConsumerProps.outbox`). */
export interface OutboxProps {
  /**
   * Every queue the handler sends to with `ctx.outbox.send`. The relay may send to these and no other; an item
   * for another queue is refused by IAM, retried, and ends in the relay DLQ.
   */
  readonly targets: readonly IQueue[];
  /** Stream records per relay invocation (1 to 10000). @default 100 */
  readonly relayBatchSize?: number;
  /**
   * Times Lambda retries a stream batch that keeps failing before it writes the batch's description to the relay
   * DLQ and moves on (0 to 10000).
   * @default 10
   */
  readonly relayRetryAttempts?: number;
  /** What happens to the outbox table when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly tableRemovalPolicy?: RemovalPolicy;
}

export interface TransactionalOutboxProps extends OutboxProps {
  /** The Powertools service name of the relay's log lines. @default 'onceflow' */
  readonly serviceName?: string;
}

/**
 * The delivery half of the transactional outbox: the outbox table with its stream, the relay function that reads
 * the stream and sends each new item to its target queue (then deletes it), and the relay DLQ, which receives both
 * the items the relay can never deliver and the description of a stream batch Lambda gave up on. Granting the
 * writer is left to the caller: the consumer function needs only `dynamodb:PutItem` on `table`.
 *
 * @example
 * const outbox = new TransactionalOutbox(this, 'Outbox', { targets: [notifications] });
 * outbox.table.grant(consumerFunction, 'dynamodb:PutItem');
 * consumerFunction.addEnvironment('ONCEFLOW_OUTBOX_TABLE', outbox.table.tableName);
 */
export class TransactionalOutbox extends Construct {
  /** The outbox table: partition key `sourceMessageId`, sort key `index`, stream of new images. */
  readonly table: Table;
  /** Undeliverable items (with the reason) and stream batches that ran out of retries. */
  readonly relayDeadLetterQueue: Queue;
  /** The relay, Onceflow's own code, shipped prebuilt in the package: nothing is bundled in your app. */
  readonly relayFunction: LambdaFunction;
  /** The relay's role: stream reads, deletes of delivered items, sends to the targets and the relay DLQ. */
  readonly relayRole: Role;
  readonly relayLogGroup: LogGroup;
  readonly relayEventSourceMapping: EventSourceMapping;

  constructor(scope: Construct, id: string, props: TransactionalOutboxProps) {
    super(scope, id);
    this.table = new OutboxTable(this, 'Table', {
      removalPolicy: props.tableRemovalPolicy ?? OUTBOX_DEFAULTS.tableRemovalPolicy,
    }).table;

    this.relayDeadLetterQueue = createDeadLetterQueue(this, 'RelayDeadLetterQueue');
    acknowledgeRule(
      this.relayDeadLetterQueue,
      'AwsSolutions-SQS3',
      'This queue is itself a dead-letter queue: the relay parks undeliverable outbox items here and the ' +
        'stream event source mapping sends failed batches here (an on-failure destination, which cdk-nag ' +
        'does not recognise as a DLQ).',
    );

    this.relayLogGroup = createFunctionLogGroup(this, 'RelayLogGroup');
    this.relayRole = createFunctionRole(
      this,
      'RelayRole',
      this.relayLogGroup,
      'Onceflow outbox relay: outbox stream reads and deletes, sends to its targets and its DLQ, its own log group.',
    );
    this.relayFunction = createPrebuiltFunction(this, 'RelayFunction', {
      directory: prebuiltFunctionDirectory('outbox-relay'),
      role: this.relayRole,
      logGroup: this.relayLogGroup,
      timeout: OUTBOX_DEFAULTS.relayTimeout,
      memorySize: OUTBOX_DEFAULTS.relayMemorySizeMb,
      environment: toRelayEnvironment({
        outboxTableName: this.table.tableName,
        relayDeadLetterQueueUrl: this.relayDeadLetterQueue.queueUrl,
        serviceName: props.serviceName ?? DEFAULT_SERVICE_NAME,
      }),
    });

    grantRelayRuntime(this, props.targets);

    // A table created with a stream always has its ARN; this keeps the compiler honest.
    const streamArn = this.table.tableStreamArn;
    if (streamArn === undefined) throw new Error('The outbox table has no stream.');
    this.relayEventSourceMapping = new EventSourceMapping(this, 'RelayEventSourceMapping', {
      target: this.relayFunction,
      eventSourceArn: streamArn,
      // From the oldest record the stream holds, so items written before the mapping existed are relayed too.
      startingPosition: StartingPosition.TRIM_HORIZON,
      batchSize: props.relayBatchSize ?? OUTBOX_DEFAULTS.relayBatchSize,
      // The relay answers with the lowest failed sequence number; Lambda resumes from there.
      reportBatchItemFailures: true,
      bisectBatchOnError: true,
      retryAttempts: props.relayRetryAttempts ?? OUTBOX_DEFAULTS.relayRetryAttempts,
      onFailure: new SqsDlq(this.relayDeadLetterQueue),
      // Only new items are work; the relay's own deletes and TTL expiry would otherwise invoke it for nothing.
      filters: [FilterCriteria.filter({ eventName: FilterRule.isEqual('INSERT') })],
    });
  }
}

/** Grants the relay's role what the relay and its stream mapping call: each action on its own resource. */
function grantRelayRuntime(
  outbox: Pick<TransactionalOutbox, 'relayRole' | 'table' | 'relayDeadLetterQueue'>,
  targets: readonly IQueue[],
): void {
  const role = outbox.relayRole;
  // What the event source mapping reads. ListStreams has no resource type in IAM, so grantStreamRead puts it
  // on "*"; the stream reads themselves are scoped to this table's stream.
  outbox.table.grantStreamRead(role);
  acknowledgeRule(
    role,
    'AwsSolutions-IAM5[Resource::*]',
    'dynamodb:ListStreams, which the DynamoDB stream event source mapping needs, supports no resource-level ' +
      'permission; it lists stream ARNs only. Every other action of this role is scoped to one resource.',
  );
  // Deleting is how the relay marks an item delivered.
  // Delivered items are deleted 25 to a request; BatchWriteItem is authorized by its own action.
  outbox.table.grant(role, 'dynamodb:BatchWriteItem');
  outbox.relayDeadLetterQueue.grant(role, 'sqs:SendMessage');
  for (const target of targets) {
    target.grant(role, 'sqs:SendMessage');
    // A target encrypted with a customer key also needs the key to send.
    target.encryptionMasterKey?.grant(role, 'kms:GenerateDataKey', 'kms:Decrypt');
  }
}
