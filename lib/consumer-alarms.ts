import type { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, type IMetric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { ConsumerMetrics } from './consumer-metrics.js';
import { ALARM_DEFAULTS } from './exactly-once-consumer-defaults.js';

/**
 * Alarm thresholds of one consumer. Each alarm fires when its metric goes above the threshold within one period.
 */
export interface ConsumerAlarmThresholds {
  /** Aggregation period of the metrics every alarm evaluates (set by the consumer). @default Duration.minutes(5) */
  readonly period?: Duration;
  /** Messages the DLQ may hold before alarming. @default 0 */
  readonly deadLetterQueueMaxVisibleMessages?: number;
  /** Oldest age a source-queue message may reach before alarming. @default Duration.minutes(15) */
  readonly oldestMessageMaxAge?: Duration;
  /** Failed invocations per period before alarming (a partial batch failure is not one). @default 0 */
  readonly functionMaxErrorsPerPeriod?: number;
  /** Throttled invocations per period before alarming. @default 0 */
  readonly functionMaxThrottlesPerPeriod?: number;
  /** Throttled claims-table requests per period before alarming (the SDK retries a few). @default 10 */
  readonly tableMaxThrottledRequestsPerPeriod?: number;
  /** Claims-table requests failing with a DynamoDB 5xx per period before alarming. @default 0 */
  readonly tableMaxSystemErrorsPerPeriod?: number;
  /** Messages the runtime may park in the DLQ per period before alarming. @default 0 */
  readonly maxParkedPerPeriod?: number;
  /** Zombie commits (lease lost before commit) per period before alarming. @default 0 */
  readonly maxZombieRejectedPerPeriod?: number;
  /** Takeovers per processed message, in percent, before alarming. @default 5 */
  readonly maxTakeoverPercent?: number;
  /** Failed outbox relay invocations per period before alarming (only with an outbox). @default 0 */
  readonly relayMaxErrorsPerPeriod?: number;
  /**
   * Oldest age a stream record may reach before the outbox relay reads it, before alarming (only with an outbox).
   * @default Duration.minutes(5)
   */
  readonly relayMaxIteratorAge?: Duration;
  /** Messages the relay DLQ may hold before alarming (only with an outbox). @default 0 */
  readonly relayDeadLetterQueueMaxVisibleMessages?: number;
}

export interface ConsumerAlarmsProps {
  readonly metrics: ConsumerMetrics;
  /** @default - see ConsumerAlarmThresholds */
  readonly thresholds?: ConsumerAlarmThresholds;
  /** Topic notified when an alarm fires. @default - no action; the alarms only show in CloudWatch */
  readonly alarmTopic?: ITopic;
}

/**
 * The alarms of one consumer. Every runtime and AWS metric used here is emitted only when something happens
 * (EMF counters, DynamoDB errors) or goes quiet with an idle queue or function, so a missing datapoint means
 * "nothing happened" and every alarm treats it as not breaching. The outbox relay's iterator age, too, is only
 * reported when the stream invokes the relay, so an outbox nobody writes to is quiet, not late; a relay that is
 * invoked and keeps failing still reports its age, and its errors and DLQ have alarms of their own.
 *
 * @example
 * new ConsumerAlarms(this, 'Alarms', { metrics, thresholds: { maxTakeoverPercent: 1 }, alarmTopic: topic });
 */
export class ConsumerAlarms extends Construct {
  /** The DLQ holds messages: something was parked or failed maxReceiveCount times. */
  readonly deadLetterQueueNotEmpty: Alarm;
  /** The source queue is falling behind. */
  readonly oldestMessageTooOld: Alarm;
  readonly functionErrors: Alarm;
  readonly functionThrottles: Alarm;
  readonly tableThrottledRequests: Alarm;
  readonly tableSystemErrors: Alarm;
  /** The runtime parked messages (permanent errors). */
  readonly parked: Alarm;
  /** A consumer outlived its lease and its commit was refused: leases may be too short. */
  readonly zombieRejected: Alarm;
  /** Many leases expire before commit: consumers crash or the lease is too short. */
  readonly takeoverRate: Alarm;
  /** The outbox relay failed whole invocations; undefined without an outbox. */
  readonly relayErrors: Alarm | undefined;
  /** The outbox relay is behind its stream: messages staged by committed handlers are not sent yet. */
  readonly relayIteratorAge: Alarm | undefined;
  /** The relay DLQ holds undeliverable outbox items or stream batches that ran out of retries. */
  readonly relayDeadLetterQueueNotEmpty: Alarm | undefined;
  /** Every alarm above that exists. */
  readonly all: readonly Alarm[];

  constructor(scope: Construct, id: string, props: ConsumerAlarmsProps) {
    super(scope, id);
    const t = resolveAlarmThresholds(props.thresholds);
    const m = props.metrics;
    const above = (alarmId: string, metric: IMetric, threshold: number, description: string): Alarm =>
      new Alarm(this, alarmId, {
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        // No datapoint means no event (or an idle queue or function), never a hidden failure: see the class doc.
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });

    this.deadLetterQueueNotEmpty = above(
      'DeadLetterQueueNotEmpty',
      m.deadLetterQueueVisibleMessages(),
      t.deadLetterQueueMaxVisibleMessages,
      `The DLQ holds more than ${t.deadLetterQueueMaxVisibleMessages} messages. Read their error attributes, fix, then redrive.`,
    );
    this.oldestMessageTooOld = above(
      'OldestMessageTooOld',
      m.oldestMessageAgeInSeconds(),
      t.oldestMessageMaxAge.toSeconds(),
      `The oldest source message is older than ${t.oldestMessageMaxAge.toHumanString()}: consumers fall behind.`,
    );
    this.functionErrors = above(
      'FunctionErrors',
      m.functionErrors(),
      t.functionMaxErrorsPerPeriod,
      `More than ${t.functionMaxErrorsPerPeriod} whole-invocation failures per period; the batch is retried as a whole.`,
    );
    this.functionThrottles = above(
      'FunctionThrottles',
      m.functionThrottles(),
      t.functionMaxThrottlesPerPeriod,
      `More than ${t.functionMaxThrottlesPerPeriod} throttled invocations per period.`,
    );
    this.tableThrottledRequests = above(
      'TableThrottledRequests',
      m.tableThrottledRequests(),
      t.tableMaxThrottledRequestsPerPeriod,
      `More than ${t.tableMaxThrottledRequestsPerPeriod} throttled claims-table requests per period.`,
    );
    this.tableSystemErrors = above(
      'TableSystemErrors',
      m.tableSystemErrors(),
      t.tableMaxSystemErrorsPerPeriod,
      `More than ${t.tableMaxSystemErrorsPerPeriod} DynamoDB system errors on the claims table per period.`,
    );
    this.parked = above(
      'Parked',
      m.parked(),
      t.maxParkedPerPeriod,
      `More than ${t.maxParkedPerPeriod} messages parked in the DLQ per period (permanent errors).`,
    );
    this.zombieRejected = above(
      'ZombieRejected',
      m.zombieRejected(),
      t.maxZombieRejectedPerPeriod,
      `More than ${t.maxZombieRejectedPerPeriod} commits refused after a takeover per period: the lease may be too short.`,
    );
    this.takeoverRate = above(
      'TakeoverRate',
      m.takeoverPercent(),
      t.maxTakeoverPercent,
      `More than ${t.maxTakeoverPercent}% of processed messages needed a takeover: consumers crash or time out.`,
    );

    const relay = m.relay;
    this.relayErrors =
      relay === undefined
        ? undefined
        : above(
            'RelayErrors',
            relay.errors(),
            t.relayMaxErrorsPerPeriod,
            `More than ${t.relayMaxErrorsPerPeriod} failed outbox relay invocations per period; the stream batch is retried.`,
          );
    this.relayIteratorAge =
      relay === undefined
        ? undefined
        : above(
            'RelayIteratorAge',
            relay.iteratorAgeInMilliseconds(),
            t.relayMaxIteratorAge.toMilliseconds(),
            `The outbox relay reads stream records older than ${t.relayMaxIteratorAge.toHumanString()}: ` +
              'committed messages wait to be sent.',
          );
    this.relayDeadLetterQueueNotEmpty =
      relay === undefined
        ? undefined
        : above(
            'RelayDeadLetterQueueNotEmpty',
            relay.deadLetterQueueVisibleMessages(),
            t.relayDeadLetterQueueMaxVisibleMessages,
            `The relay DLQ holds more than ${t.relayDeadLetterQueueMaxVisibleMessages} messages: outbox items that ` +
              'could not be delivered. Read their reason, fix, then resend.',
          );

    this.all = [
      this.deadLetterQueueNotEmpty,
      this.oldestMessageTooOld,
      this.functionErrors,
      this.functionThrottles,
      this.tableThrottledRequests,
      this.tableSystemErrors,
      this.parked,
      this.zombieRejected,
      this.takeoverRate,
      ...[this.relayErrors, this.relayIteratorAge, this.relayDeadLetterQueueNotEmpty].filter(
        (alarm) => alarm !== undefined,
      ),
    ];
    if (props.alarmTopic !== undefined) {
      const action = new SnsAction(props.alarmTopic);
      for (const alarm of this.all) alarm.addAlarmAction(action);
    }
  }
}

/** Merges the user's thresholds over the defaults, field by field. */
export function resolveAlarmThresholds(
  thresholds: ConsumerAlarmThresholds = {},
): Required<ConsumerAlarmThresholds> {
  const d = ALARM_DEFAULTS;
  return {
    period: thresholds.period ?? d.period,
    deadLetterQueueMaxVisibleMessages:
      thresholds.deadLetterQueueMaxVisibleMessages ?? d.deadLetterQueueMaxVisibleMessages,
    oldestMessageMaxAge: thresholds.oldestMessageMaxAge ?? d.oldestMessageMaxAge,
    functionMaxErrorsPerPeriod: thresholds.functionMaxErrorsPerPeriod ?? d.functionMaxErrorsPerPeriod,
    functionMaxThrottlesPerPeriod:
      thresholds.functionMaxThrottlesPerPeriod ?? d.functionMaxThrottlesPerPeriod,
    tableMaxThrottledRequestsPerPeriod:
      thresholds.tableMaxThrottledRequestsPerPeriod ?? d.tableMaxThrottledRequestsPerPeriod,
    tableMaxSystemErrorsPerPeriod:
      thresholds.tableMaxSystemErrorsPerPeriod ?? d.tableMaxSystemErrorsPerPeriod,
    maxParkedPerPeriod: thresholds.maxParkedPerPeriod ?? d.maxParkedPerPeriod,
    maxZombieRejectedPerPeriod: thresholds.maxZombieRejectedPerPeriod ?? d.maxZombieRejectedPerPeriod,
    maxTakeoverPercent: thresholds.maxTakeoverPercent ?? d.maxTakeoverPercent,
    relayMaxErrorsPerPeriod: thresholds.relayMaxErrorsPerPeriod ?? d.relayMaxErrorsPerPeriod,
    relayMaxIteratorAge: thresholds.relayMaxIteratorAge ?? d.relayMaxIteratorAge,
    relayDeadLetterQueueMaxVisibleMessages:
      thresholds.relayDeadLetterQueueMaxVisibleMessages ?? d.relayDeadLetterQueueMaxVisibleMessages,
  };
}
