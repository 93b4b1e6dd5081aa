import { describe, expect, it } from 'vitest';
import { runPipeline } from '../../../local/pipeline/run.js';

// The `npm start` pipeline, small: real server processes, real kill -9s, a real SIGSTOP zombie. It starts its own
// DynamoDB Local and SQS emulator, as `npm start` does.

describe('the local exactly-once pipeline', () => {
  it('passes the audit with every fault on, and every fault really happens', async () => {
    const report = await runPipeline({
      servers: 3,
      messages: 1_500,
      duplicateRate: 0.3,
      crashRate: 3.4, // per 1,000 messages: 5 kills, one at each protocol point and one of the relay
      zombies: 1,
      malformed: 8,
      seed: 7,
    });

    expect(report.audit).toMatchObject({
      ok: true,
      missing: [],
      unexpected: [],
      balanceMismatches: [],
      malformedParked: 8,
    });
    // Counters come from the servers' reports: a server killed after its commit never reports that batch.
    expect(report.counts.processed).toBeLessThanOrEqual(1_500);
    expect(report.audit.applied).toBe(1_500);
    expect(report.counts.duplicatesSuppressed).toBeGreaterThan(0);
    // Parking is at least once: a server killed after reporting a batch and before deleting it (the after-commit
    // kill) parks its malformed messages again on redelivery. The DLQ audit above counts each one once.
    expect(report.counts.parked).toBeGreaterThanOrEqual(8);
    expect(report.counts.zombiesRejected).toBeGreaterThan(0);
    expect(report.counts.takeovers).toBeGreaterThan(0);
    expect(report.counts.crashesByPoint).toEqual({
      'after-claim': 1,
      'after-stage': 1,
      'during-commit': 1,
      'after-commit': 1,
      'relay-after-send': 1,
    });
    expect(report.audit.notifications).toEqual({ ok: true, missing: [], appliedTwice: [], unexpected: [] });
    expect(report.ok).toBe(true);
  }, 240_000);

  it('fails the audit when deduplication is switched off, so the audit can fail', async () => {
    const report = await runPipeline({
      servers: 2,
      messages: 300,
      duplicateRate: 0.5,
      crashRate: 0,
      zombies: 0,
      malformed: 0,
      seed: 8,
      unsafeDisableDedup: true,
    });

    expect(report.ok).toBe(false);
    expect(report.audit.balanceMismatches.length).toBeGreaterThan(0);
  }, 120_000);
});
