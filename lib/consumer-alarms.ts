import type { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, type IMetric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { ConsumerMetrics } from './consumer-metrics.js';
import { ALARM_DEFAULTS } from './exactly-once-consumer-defaults.js';
import type { OutboxRelayMetrics } from './outbox-relay-metrics.js';

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
  /** Deliveries of a known messageId with another payload per period before alarming. @default 0 */
  readonly maxPayloadMismatchesPerPeriod?: number;
  /** Takeovers per processed message, in percent, before alarming. @default 5 */
  readonly maxTakeoverPercent?: number;
  /** Messages parked because their large payload was missing or corrupt, per period (only with largePayloads). @default 0 */
  readonly maxPayloadErrorsPerPeriod?: number;
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

/** The thresholds the alarms compare with, defaults filled in; the period belongs to the metrics. */
type Thresholds = Required<Omit<ConsumerAlarmThresholds, 'period'>>;

/** One alarm: it fires when `metric` goes above `threshold` within one period. */
interface AlarmDefinition<Metrics> {
  /** The construct id, from which the logical id and the alarm name derive. */
  readonly id: string;
  readonly metric: (metrics: Metrics) => IMetric;
  readonly threshold: (t: Thresholds) => number;
  readonly description: (t: Thresholds) => string;
}

/** The alarms every consumer has, in the order they are created. */
const CONSUMER_ALARMS = [
  {
    id: 'DeadLetterQueueNotEmpty',
    metric: (m) => m.deadLetterQueueVisibleMessages(),
    threshold: (t) => t.deadLetterQueueMaxVisibleMessages,
    description: (t) =>
      `The DLQ holds more than ${t.deadLetterQueueMaxVisibleMessages} messages. Read their error attributes, fix, then redrive.`,
  },
  {
    id: 'OldestMessageTooOld',
    metric: (m) => m.oldestMessageAgeInSeconds(),
    threshold: (t) => t.oldestMessageMaxAge.toSeconds(),
    description: (t) =>
      `The oldest source message is older than ${t.oldestMessageMaxAge.toHumanString()}: consumers fall behind.`,
  },
  {
    id: 'FunctionErrors',
    metric: (m) => m.functionErrors(),
    threshold: (t) => t.functionMaxErrorsPerPeriod,
    description: (t) =>
      `More than ${t.functionMaxErrorsPerPeriod} whole-invocation failures per period; the batch is retried as a whole.`,
  },
  {
    id: 'FunctionThrottles',
    metric: (m) => m.functionThrottles(),
    threshold: (t) => t.functionMaxThrottlesPerPeriod,
    description: (t) => `More than ${t.functionMaxThrottlesPerPeriod} throttled invocations per period.`,
  },
  {
    id: 'TableThrottledRequests',
    metric: (m) => m.tableThrottledRequests(),
    threshold: (t) => t.tableMaxThrottledRequestsPerPeriod,
    description: (t) =>
      `More than ${t.tableMaxThrottledRequestsPerPeriod} throttled claims-table requests per period.`,
  },
  {
    id: 'TableSystemErrors',
    metric: (m) => m.tableSystemErrors(),
    threshold: (t) => t.tableMaxSystemErrorsPerPeriod,
    description: (t) =>
      `More than ${t.tableMaxSystemErrorsPerPeriod} DynamoDB system errors on the claims table per period.`,
  },
  {
    id: 'Parked',
    metric: (m) => m.parked(),
    threshold: (t) => t.maxParkedPerPeriod,
    description: (t) =>
      `More than ${t.maxParkedPerPeriod} messages parked in the DLQ per period (permanent errors).`,
  },
  {
    id: 'ZombieRejected',
    metric: (m) => m.zombieRejected(),
    threshold: (t) => t.maxZombieRejectedPerPeriod,
    description: (t) =>
      `More than ${t.maxZombieRejectedPerPeriod} commits refused after a takeover per period: the lease may be too short.`,
  },
  {
    id: 'PayloadMismatch',
    metric: (m) => m.payloadMismatches(),
    threshold: (t) => t.maxPayloadMismatchesPerPeriod,
    description: (t) =>
      `More than ${t.maxPayloadMismatchesPerPeriod} deliveries per period reused a messageId with another payload: a producer derives ids from too little.`,
  },
  {
    id: 'TakeoverRate',
    metric: (m) => m.takeoverPercent(),
    threshold: (t) => t.maxTakeoverPercent,
    description: (t) =>
      `More than ${t.maxTakeoverPercent}% of processed messages needed a takeover: consumers crash or time out.`,
  },
] as const satisfies readonly AlarmDefinition<ConsumerMetrics>[];

/** The alarm of large payloads, created after the consumer's when the consumer has a payload bucket. */
const PAYLOAD_ALARMS = [
  {
    id: 'PayloadErrors',
    metric: (m) => m.payloadErrors(),
    threshold: (t) => t.maxPayloadErrorsPerPeriod,
    description: (t) =>
      `More than ${t.maxPayloadErrorsPerPeriod} messages per period parked because a large payload's chunk was ` +
      'missing or did not match its hash: check the payload bucket lifecycle and the producers.',
  },
] as const satisfies readonly AlarmDefinition<ConsumerMetrics>[];

/** The alarms of the outbox relay, created after the consumer's when the consumer has an outbox. */
const RELAY_ALARMS = [
  {
    id: 'RelayErrors',
    metric: (relay) => relay.errors(),
    threshold: (t) => t.relayMaxErrorsPerPeriod,
    description: (t) =>
      `More than ${t.relayMaxErrorsPerPeriod} failed outbox relay invocations per period; the stream batch is retried.`,
  },
  {
    id: 'RelayIteratorAge',
    metric: (relay) => relay.iteratorAgeInMilliseconds(),
    threshold: (t) => t.relayMaxIteratorAge.toMilliseconds(),
    description: (t) =>
      `The outbox relay reads stream records older than ${t.relayMaxIteratorAge.toHumanString()}: ` +
      'committed messages wait to be sent.',
  },
  {
    id: 'RelayDeadLetterQueueNotEmpty',
    metric: (relay) => relay.deadLetterQueueVisibleMessages(),
    threshold: (t) => t.relayDeadLetterQueueMaxVisibleMessages,
    description: (t) =>
      `The relay DLQ holds more than ${t.relayDeadLetterQueueMaxVisibleMessages} messages: outbox items that ` +
      'could not be delivered. Read their reason, fix, then resend.',
  },
] as const satisfies readonly AlarmDefinition<OutboxRelayMetrics>[];

type ConsumerAlarmId = (typeof CONSUMER_ALARMS)[number]['id'];
type RelayAlarmId = (typeof RELAY_ALARMS)[number]['id'];

export interface ConsumerAlarmsProps {
  readonly metrics: ConsumerMetrics;
  /** Whether the consumer has a payload bucket: adds the PayloadErrors alarm. @default false */
  readonly largePayloads?: boolean;
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
  /** A messageId came again with another payload (parked, or counted with `payloadMismatch: 'count'`). */
  readonly payloadMismatch: Alarm;
  /** Messages parked for a missing or corrupt large payload; undefined without largePayloads. */
  readonly payloadErrors: Alarm | undefined;
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
    const thresholds = resolveAlarmThresholds(props.thresholds);
    const relay = props.metrics.relay;
    const alarms = new Map([
      ...createAlarms(this, CONSUMER_ALARMS, props.metrics, thresholds),
      ...(props.largePayloads === true ? createAlarms(this, PAYLOAD_ALARMS, props.metrics, thresholds) : []),
      ...(relay === undefined ? [] : createAlarms(this, RELAY_ALARMS, relay, thresholds)),
    ]);
    const consumerAlarm = (alarmId: ConsumerAlarmId): Alarm => {
      const alarm = alarms.get(alarmId);
      // Every consumer alarm is created above; this keeps the compiler honest.
      if (alarm === undefined) throw new Error(`The consumer alarm ${alarmId} was not created.`);
      return alarm;
    };
    const relayAlarm = (alarmId: RelayAlarmId): Alarm | undefined => alarms.get(alarmId);

    this.deadLetterQueueNotEmpty = consumerAlarm('DeadLetterQueueNotEmpty');
    this.oldestMessageTooOld = consumerAlarm('OldestMessageTooOld');
    this.functionErrors = consumerAlarm('FunctionErrors');
    this.functionThrottles = consumerAlarm('FunctionThrottles');
    this.tableThrottledRequests = consumerAlarm('TableThrottledRequests');
    this.tableSystemErrors = consumerAlarm('TableSystemErrors');
    this.parked = consumerAlarm('Parked');
    this.zombieRejected = consumerAlarm('ZombieRejected');
    this.takeoverRate = consumerAlarm('TakeoverRate');
    this.payloadMismatch = consumerAlarm('PayloadMismatch');
    this.payloadErrors = alarms.get('PayloadErrors');
    this.relayErrors = relayAlarm('RelayErrors');
    this.relayIteratorAge = relayAlarm('RelayIteratorAge');
    this.relayDeadLetterQueueNotEmpty = relayAlarm('RelayDeadLetterQueueNotEmpty');
    this.all = [...alarms.values()];
    if (props.alarmTopic !== undefined) {
      const action = new SnsAction(props.alarmTopic);
      for (const alarm of this.all) alarm.addAlarmAction(action);
    }
  }
}

/** Creates one alarm per definition in `scope`, in table order, each keyed by its construct id. */
function createAlarms<Metrics>(
  scope: Construct,
  definitions: readonly AlarmDefinition<Metrics>[],
  metrics: Metrics,
  thresholds: Thresholds,
): [string, Alarm][] {
  return definitions.map((definition) => [
    definition.id,
    new Alarm(scope, definition.id, {
      metric: definition.metric(metrics),
      threshold: definition.threshold(thresholds),
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      // No datapoint means no event (or an idle queue or function), never a hidden failure: see the class doc.
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: definition.description(thresholds),
    }),
  ]);
}

/** Merges the user's thresholds over the defaults, field by field; `undefined` keeps the default. */
function resolveAlarmThresholds(thresholds: ConsumerAlarmThresholds = {}): Thresholds {
  const d = ALARM_DEFAULTS;
  return {
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
    maxPayloadMismatchesPerPeriod:
      thresholds.maxPayloadMismatchesPerPeriod ?? d.maxPayloadMismatchesPerPeriod,
    maxTakeoverPercent: thresholds.maxTakeoverPercent ?? d.maxTakeoverPercent,
    maxPayloadErrorsPerPeriod: thresholds.maxPayloadErrorsPerPeriod ?? d.maxPayloadErrorsPerPeriod,
    relayMaxErrorsPerPeriod: thresholds.relayMaxErrorsPerPeriod ?? d.relayMaxErrorsPerPeriod,
    relayMaxIteratorAge: thresholds.relayMaxIteratorAge ?? d.relayMaxIteratorAge,
    relayDeadLetterQueueMaxVisibleMessages:
      thresholds.relayDeadLetterQueueMaxVisibleMessages ?? d.relayDeadLetterQueueMaxVisibleMessages,
  };
}
