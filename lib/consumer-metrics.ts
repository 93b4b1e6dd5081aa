import type { Duration } from 'aws-cdk-lib';
import { type IMetric, MathExpression, Metric, Stats } from 'aws-cdk-lib/aws-cloudwatch';
import { type ITable, Operation } from 'aws-cdk-lib/aws-dynamodb';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { METRIC, METRICS_NAMESPACE } from '../lambda/contract/index.js';
import { OutboxRelayMetrics } from './outbox-relay-metrics.js';

export interface ConsumerMetricsProps {
  readonly queue: IQueue;
  readonly deadLetterQueue: IQueue;
  readonly function: IFunction;
  readonly table: ITable;
  /** The Powertools service name: the `service` dimension of every runtime metric. */
  readonly serviceName: string;
  /** Aggregation period of every metric. */
  readonly period: Duration;
  /** The transactional outbox relay, when the consumer has one. @default - no relay metrics */
  readonly outbox?: { readonly relayFunction: IFunction; readonly relayDeadLetterQueue: IQueue };
}

/** The DynamoDB operations the runtime sends to the claims table; throttles on others are not ours. */
const CLAIMS_TABLE_OPERATIONS = [Operation.UPDATE_ITEM, Operation.TRANSACT_WRITE_ITEMS];

/**
 * Metric factories for one consumer, apart from the alarms and the dashboard that use them, so both read the
 * same definitions and a user can build their own alarms from them.
 *
 * @example
 * const metrics = new ConsumerMetrics({ queue, deadLetterQueue, function: fn, table, serviceName: 'onceflow',
 *   period: Duration.minutes(5) });
 * new Alarm(this, 'TooManyDuplicates', { metric: metrics.duplicates(), threshold: 100, evaluationPeriods: 1 });
 */
export class ConsumerMetrics {
  /** The outbox relay's metrics; undefined when the consumer has no outbox. */
  readonly relay: OutboxRelayMetrics | undefined;

  constructor(private readonly props: ConsumerMetricsProps) {
    this.relay =
      props.outbox === undefined
        ? undefined
        : new OutboxRelayMetrics({ ...props.outbox, period: props.period });
  }

  /** Messages whose effects were committed (Count, sum per period). */
  processed(): Metric {
    return this.runtimeCount(METRIC.processed);
  }

  /** Deliveries of a message already DONE, acknowledged without effect (Count). */
  duplicates(): Metric {
    return this.runtimeCount(METRIC.duplicate);
  }

  /** Deliveries handed back because another consumer holds a live lease (Count). */
  inFlight(): Metric {
    return this.runtimeCount(METRIC.inFlight);
  }

  /** Claims that took over an expired lease (Count). */
  takeovers(): Metric {
    return this.runtimeCount(METRIC.takeover);
  }

  /** Commits refused because the lease had been taken over (Count). */
  zombieRejected(): Metric {
    return this.runtimeCount(METRIC.zombieRejected);
  }

  /** Deliveries of a messageId already claimed with another payload (Count). */
  payloadMismatches(): Metric {
    return this.runtimeCount(METRIC.payloadMismatch);
  }

  /** Messages sent to the DLQ by the runtime with a reason (Count). */
  parked(): Metric {
    return this.runtimeCount(METRIC.parked);
  }

  /** Large payloads that could not be read or failed their hashes; each such message is parked (Count). */
  payloadErrors(): Metric {
    return this.runtimeCount(METRIC.payloadErrors);
  }

  /** Records returned to the queue after a retryable error (Count). */
  retried(): Metric {
    return this.runtimeCount(METRIC.retried);
  }

  /** Time of the claim write (Milliseconds). */
  claimLatency(statistic: string = Stats.p(99)): Metric {
    return this.runtimeMetric(METRIC.claimLatency, statistic);
  }

  /** Time of the commit transaction (Milliseconds). */
  commitLatency(statistic: string = Stats.p(99)): Metric {
    return this.runtimeMetric(METRIC.commitLatency, statistic);
  }

  /**
   * Share of committed messages that needed a takeover, in percent. The IF guards the empty period, where
   * there is nothing to divide by and the rate is 0.
   */
  takeoverPercent(): MathExpression {
    return new MathExpression({
      label: 'Takeovers per processed message (%)',
      expression: 'IF(FILL(processed, 0) > 0, 100 * FILL(takeovers, 0) / FILL(processed, 0), 0)',
      usingMetrics: { processed: this.processed(), takeovers: this.takeovers() },
      period: this.props.period,
    });
  }

  /** Messages waiting in the DLQ (Count, maximum per period). */
  deadLetterQueueVisibleMessages(): Metric {
    return this.props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
      statistic: Stats.MAXIMUM,
      period: this.props.period,
    });
  }

  /** Messages waiting in the source queue (Count, maximum per period). */
  queueVisibleMessages(): Metric {
    return this.props.queue.metricApproximateNumberOfMessagesVisible({
      statistic: Stats.MAXIMUM,
      period: this.props.period,
    });
  }

  /** Age of the oldest message in the source queue (Seconds, maximum per period). */
  oldestMessageAgeInSeconds(): Metric {
    return this.props.queue.metricApproximateAgeOfOldestMessage({
      statistic: Stats.MAXIMUM,
      period: this.props.period,
    });
  }

  /** Invocations that failed as a whole (Count); a partial batch failure is not one. */
  functionErrors(): Metric {
    return this.props.function.metricErrors({ statistic: Stats.SUM, period: this.props.period });
  }

  /** Invocations Lambda refused for lack of concurrency (Count). */
  functionThrottles(): Metric {
    return this.props.function.metricThrottles({ statistic: Stats.SUM, period: this.props.period });
  }

  /** Invocations (Count). */
  functionInvocations(): Metric {
    return this.props.function.metricInvocations({ statistic: Stats.SUM, period: this.props.period });
  }

  /** Invocation duration (Milliseconds). */
  functionDuration(statistic: string = Stats.p(99)): Metric {
    return this.props.function.metricDuration({ statistic, period: this.props.period });
  }

  /** Claims-table requests DynamoDB throttled, over the operations the runtime uses (Count). */
  tableThrottledRequests(): IMetric {
    return this.props.table.metricThrottledRequestsForOperations({
      operations: CLAIMS_TABLE_OPERATIONS,
      period: this.props.period,
    });
  }

  /** Claims-table requests that failed with a DynamoDB 5xx, over the operations the runtime uses (Count). */
  tableSystemErrors(): IMetric {
    return this.props.table.metricSystemErrorsForOperations({
      operations: CLAIMS_TABLE_OPERATIONS,
      period: this.props.period,
    });
  }

  private runtimeCount(metricName: string): Metric {
    return this.runtimeMetric(metricName, Stats.SUM);
  }

  private runtimeMetric(metricName: string, statistic: string): Metric {
    return new Metric({
      namespace: METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { service: this.props.serviceName },
      statistic,
      period: this.props.period,
    });
  }
}
