import { describe, expect, it } from 'vitest';
import { METRIC } from '../../../lambda/contract/index.js';
import { synth, synthWithOutbox } from '../support.js';

const { template } = synth();

describe('ExactlyOnceConsumer dashboard', () => {
  it('shows throughput, duplicates, latency, DLQ depth and takeovers', () => {
    const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
    const body = JSON.stringify(dashboard?.Properties.DashboardBody);
    for (const title of ['Throughput', 'Duplicates', 'Latency p99', 'Dead-letter queue', 'Takeovers']) {
      expect(body).toContain(title);
    }
    for (const metric of [METRIC.processed, METRIC.duplicate, METRIC.claimLatency, METRIC.takeover]) {
      expect(body).toContain(`\\"${metric}\\"`);
    }
  });
});

describe('ExactlyOnceConsumer outbox', () => {
  const t = synthWithOutbox().template;

  it('shows the relay on the dashboard', () => {
    const [dashboard] = Object.values(t.findResources('AWS::CloudWatch::Dashboard'));
    const body = JSON.stringify(dashboard?.Properties.DashboardBody);
    for (const title of ['Outbox relay', 'iterator age', 'Relay dead-letter queue'])
      expect(body).toContain(title);
    expect(body).toContain('\\"IteratorAge\\"');
  });
});
