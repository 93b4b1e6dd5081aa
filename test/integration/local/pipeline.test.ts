import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { runPipeline } from '../../../local/pipeline/run.js';

/** What a run without `logFile` may leave in the temporary directory: nothing, once it is over. */
const runLogDirectories = () => readdirSync(tmpdir()).filter((name) => name.startsWith('onceflow-local-'));

// The `npm start` pipeline, small: real server processes, real kill -9s, a real SIGSTOP zombie. It starts its own
// DynamoDB Local and SQS emulator, as `npm start` does.

describe('the local exactly-once pipeline', () => {
  it('passes the audit with every fault on, and every fault really happens', async () => {
    const logDirectoriesBefore = runLogDirectories();
    const report = await runPipeline({
      servers: 3,
      messages: 1_500,
      duplicateRate: 0.3,
      crashRate: 3.4, // per 1,000 messages: 5 kills, one at each protocol point and one of the relay
      zombies: 1,
      malformed: 8,
      seed: 7,
      // A fault of each kind fires at most 2 / rate = 100 requests apart in a process: each server makes more.
      dynamoDbFaultRate: 0.02,
    });

    expect(report.audit).toMatchObject({
      ok: true,
      missing: [],
      unexpected: [],
      balanceMismatches: [],
      // Every applied payment's payload hash, the ~1% with an attachment sent through S3 as chunks included.
      payloadHashesChecked: 1_500,
      payloadMismatches: [],
      malformedParked: 8,
      validPaymentsParked: [],
      parkedWithoutReason: 0,
      notificationsParked: 0,
      relayParked: 0,
    });
    // Counters come from the servers' reports: a server killed after its commit never reports that batch.
    expect(report.counts.processed).toBeLessThanOrEqual(1_500);
    expect(report.audit.applied).toBe(1_500);
    expect(report.counts.duplicatesSuppressed).toBeGreaterThan(0);
    // Parking is at least once: a server killed after reporting a batch and before deleting it (the after-commit
    // kill) parks its malformed messages again on redelivery. The DLQ audit above counts each one once.
    expect(report.counts.parked).toBeGreaterThanOrEqual(8);
    // The zombie really froze past its lease and came back; its late commit is either not attempted (the runtime
    // sees its lease ended) or rejected by DynamoDB, and the audit above shows it never landed.
    expect(report.counts.zombiesResumed).toBe(1);
    expect(report.counts.takeovers).toBeGreaterThan(0);
    expect(report.counts.crashesByPoint).toEqual({
      'after-claim': 1,
      'after-stage': 1,
      'during-commit': 1,
      'after-commit': 1,
      'relay-after-send': 1,
    });
    for (const count of Object.values(report.counts.dynamoDbFaults)) expect(count).toBeGreaterThan(0);
    expect(report.audit.notifications).toEqual({ ok: true, missing: [], appliedTwice: [], unexpected: [] });
    expect(report.ok).toBe(true);
    // The log went to a temporary directory, removed with the run.
    expect(report.logFile).toBeNull();
    expect(runLogDirectories()).toEqual(logDirectoriesBefore);
  }, 300_000);

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
