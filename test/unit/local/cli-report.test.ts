import { describe, expect, it } from 'vitest';
import { describeSettings, progressText } from '../../../local/cli-report.js';
import type { PipelineProgress } from '../../../local/pipeline/run.js';
import { resolveSettings } from '../../../local/pipeline/run.js';

function progress(scale: number): PipelineProgress {
  return {
    processed: 199_000 * scale,
    duplicatesSuppressed: 60_000 * scale,
    notificationsProcessed: 199_000 * scale,
    notificationsDuplicatesSuppressed: 9_000 * scale,
    relayed: 199_000 * scale,
    inFlightDeferrals: 100 * scale,
    retried: 5_000 * scale,
    takeovers: 900 * scale,
    zombiesRejected: 10 * scale,
    parked: 8 * scale,
    crashes: 400 * scale,
    zombiesResumed: 10,
    crashesByPoint: {
      'after-claim': 80,
      'after-stage': 80,
      'during-commit': 80,
      'after-commit': 80,
      'relay-after-send': 80,
    },
    restarts: 400 * scale,
    functionTimeouts: 3 * scale,
    dynamoDbFaults: { throttle: 1_000, 'server-error': 1_000, conflict: 300, 'lost-response': 1_000 },
    sent: 250_000 * scale,
    toSend: 260_000 * scale,
    expectedProcessed: 200_000 * scale,
    elapsedMs: 3_600_000,
  };
}

describe('the progress line', () => {
  it.each([1, 50])(
    'fits in 80 columns at %i x a soak, and says its counts are the servers reports',
    (scale) => {
      const line = progressText(progress(scale));

      expect(line.length).toBeLessThan(80);
      expect(line).toContain('servers report');
    },
  );
});

describe('the settings echoed at the start', () => {
  it('names servers, messages, mode, seed and every fault rate, each line under 80 columns', () => {
    const lines = describeSettings(
      resolveSettings({ servers: 3, messages: 1_500, mode: 'optimistic', seed: 7, dynamoDbFaultRate: 0.01 }),
      '/tmp/onceflow-local/run.log',
    );
    const text = lines.join('\n');

    expect(text).toContain('3 servers, 1,500 messages, optimistic mode, seed 7');
    expect(text).toContain('kill -9 2 per 1,000 messages, 1 zombie');
    expect(text).toContain('DynamoDB: 1% of requests each: throttle, 5xx, conflict, lost response');
    expect(text).toContain('/tmp/onceflow-local/run.log');
    for (const line of lines) expect(line.length).toBeLessThan(80);
  });

  it('says when faults are off', () => {
    const text = describeSettings(
      resolveSettings({ crashRate: 0, zombies: 0, dynamoDbFaultRate: 0 }),
      'x.log',
    );

    expect(text).toContain('  faults:   off');
  });
});
