import { Dashboard, GraphWidget, type IMetric, type IWidget, Stats } from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import type { ConsumerMetrics } from './consumer-metrics.js';

export interface ConsumerDashboardProps {
  readonly metrics: ConsumerMetrics;
  /** @default - a name CloudFormation generates, so two stacks never collide */
  readonly dashboardName?: string;
}

/**
 * One CloudWatch dashboard per consumer: throughput, duplicates, latency, DLQ depth, takeovers, and the outbox
 * relay when there is one.
 *
 * @example
 * new ConsumerDashboard(this, 'Dashboard', { metrics });
 */
export class ConsumerDashboard extends Construct {
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: ConsumerDashboardProps) {
    super(scope, id);
    const m = props.metrics;
    const widgets: IWidget[][] = [
      [
        graph('Throughput (messages per period)', [
          m.processed(),
          m.functionInvocations(),
          m.queueVisibleMessages(),
        ]),
        graph('Duplicates and deferrals (per period)', [m.duplicates(), m.inFlight(), m.retried()]),
      ],
      [
        graph('Latency p99 (ms)', [
          m.claimLatency(),
          m.commitLatency(),
          m.functionDuration(),
          m.claimLatency(Stats.p(50)),
          m.commitLatency(Stats.p(50)),
        ]),
        graph('Dead-letter queue (messages)', [m.deadLetterQueueVisibleMessages(), m.parked()]),
      ],
      [
        graph('Takeovers and zombie commits (per period)', [m.takeovers(), m.zombieRejected()], 8),
        graph('Takeover rate (%)', [m.takeoverPercent()], 8),
        graph('Oldest message age (s)', [m.oldestMessageAgeInSeconds()], 8),
      ],
    ];
    const relay = m.relay;
    if (relay !== undefined) {
      widgets.push([
        graph('Outbox relay (invocations per period)', [relay.invocations(), relay.errors()], 8),
        graph('Outbox relay iterator age (ms)', [relay.iteratorAgeInMilliseconds()], 8),
        graph('Relay dead-letter queue (messages)', [relay.deadLetterQueueVisibleMessages()], 8),
      ]);
    }
    this.dashboard = new Dashboard(this, 'Dashboard', { dashboardName: props.dashboardName, widgets });
  }
}

/** Dashboards are 24 units wide: two graphs of 12 or three of 8 per row. */
const graph = (title: string, left: IMetric[], width = 12): GraphWidget =>
  new GraphWidget({ title, left, width, height: 6 });
