import type { Duration } from 'aws-cdk-lib';
import { type Metric, Stats } from 'aws-cdk-lib/aws-cloudwatch';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';

export interface OutboxRelayMetricsProps {
  readonly relayFunction: IFunction;
  readonly relayDeadLetterQueue: IQueue;
  /** Aggregation period of every metric. */
  readonly period: Duration;
}

/**
 * Metric factories for the transactional outbox relay, apart from the alarms and the dashboard that use them.
 *
 * @example
 * const relay = new OutboxRelayMetrics({ relayFunction, relayDeadLetterQueue, period: Duration.minutes(5) });
 * new Alarm(this, 'RelayBehind', { metric: relay.iteratorAgeInMilliseconds(), threshold: 60_000,
 *   evaluationPeriods: 1 });
 */
export class OutboxRelayMetrics {
  constructor(private readonly props: OutboxRelayMetricsProps) {}

  /** Relay invocations that failed as a whole (Count); a reported item failure is not one. */
  errors(): Metric {
    return this.props.relayFunction.metricErrors({ statistic: Stats.SUM, period: this.props.period });
  }

  /** Relay invocations (Count). */
  invocations(): Metric {
    return this.props.relayFunction.metricInvocations({ statistic: Stats.SUM, period: this.props.period });
  }

  /**
   * How old the last record of a batch was when the relay got it (Milliseconds, maximum per period): how far the
   * relay is behind the outbox writes.
   */
  iteratorAgeInMilliseconds(): Metric {
    return this.props.relayFunction.metric('IteratorAge', {
      statistic: Stats.MAXIMUM,
      period: this.props.period,
    });
  }

  /** Messages waiting in the relay DLQ (Count, maximum per period). */
  deadLetterQueueVisibleMessages(): Metric {
    return this.props.relayDeadLetterQueue.metricApproximateNumberOfMessagesVisible({
      statistic: Stats.MAXIMUM,
      period: this.props.period,
    });
  }
}
