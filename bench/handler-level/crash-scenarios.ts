import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SQSEvent } from 'aws-lambda';
import { LOCAL_AWS_CONFIG } from 'onceflow/testing';
import type { SentPayment } from '../../lambda/app/ledger.js';
import { sleep } from '../../local/support/stats.js';
import { countApplications } from './audit.js';
import { BENCH_LEASE_MS, type ContainerOptions } from './containers.js';
import type { CrashAttempt, CrashPoint, CrashSample } from './results.js';
import { type SystemName, type SystemUnderTest, setUpSystem } from './systems.js';
import { BATCH_SIZE, batchesOf, redeliver } from './workload.js';

export interface CrashOptions {
  readonly endpoint: string;
  readonly admin: DynamoDBClient;
  readonly tablePrefix: string;
  readonly idPrefix: string;
  readonly remainingTimeMs: number;
}

/** What one scenario's handlers and its steps share: the armed crash, the side effects counted, the clock. */
interface CrashRig {
  /** While armed, the first attempt dies at the crash point; disarmed once it has been abandoned. */
  armed: boolean;
  /** When the system last sent or heard from DynamoDB, so the dead attempt is abandoned only once it is quiet. */
  lastActivityMs: number;
  sideEffectRuns: number;
  /** Added to Onceflow's injected clock to move it past the lease. */
  clockOffsetMs: number;
  /** What the system sends with: it never answers the crashing call while armed at 'after-effect-writes'. */
  readonly dynamoDb: DynamoDBClient;
  readonly containerOptions: ContainerOptions;
}

/**
 * A batch of 10 whose handler performs an external side effect (a counter here) and then dies before completion:
 * either right after the side effect, or right after its effect writes returned. The dead invocation is abandoned
 * (its promise never settles), then the batch is delivered again: at once, then after the system's own expiry.
 */
export async function runCrashScenario(
  system: SystemName,
  point: CrashPoint,
  options: CrashOptions,
): Promise<CrashSample> {
  const rig = arm(point, options);
  try {
    const sut = await setUpSystem(
      system,
      { admin: options.admin, dynamoDb: rig.dynamoDb },
      options.tablePrefix,
    );
    const event = crashBatch(options.idPrefix);
    await abandonFirstAttempt(sut, event, rig);
    const attempts = await redeliverUntilSettled(sut, event, rig, options.remainingTimeMs);
    const applications = await countApplications(DynamoDBDocumentClient.from(options.admin), sut.tables);
    return {
      system,
      point,
      messages: BATCH_SIZE,
      sideEffectRuns: rig.sideEffectRuns,
      effectApplications: applications,
      attempts,
      exactlyOnceEffects: applications === BATCH_SIZE,
    };
  } finally {
    rig.armed = false;
    rig.dynamoDb.destroy();
  }
}

/** Whether a later repetition's scenario counted what the first one did. */
export function sameCrashCounts(crash: CrashSample, first: readonly CrashSample[]): boolean {
  const match = first.find((sample) => sample.system === crash.system && sample.point === crash.point);
  return (
    match !== undefined &&
    match.sideEffectRuns === crash.sideEffectRuns &&
    match.effectApplications === crash.effectApplications
  );
}

/** A client and container options that die at `point` while the rig is armed. */
function arm(point: CrashPoint, options: CrashOptions): CrashRig {
  const dynamoDb = new DynamoDBClient({ ...LOCAL_AWS_CONFIG, endpoint: options.endpoint });
  const rig: CrashRig = {
    armed: true,
    lastActivityMs: performance.now(),
    sideEffectRuns: 0,
    clockOffsetMs: 0,
    dynamoDb,
    containerOptions: {
      clock: () => Date.now() + rig.clockOffsetMs,
      remainingTimeMs: options.remainingTimeMs,
      sideEffect: async () => {
        rig.sideEffectRuns += 1;
        if (rig.armed && point === 'after-side-effect') await never();
      },
    },
  };
  dynamoDb.middlewareStack.add(
    (next, context) => async (args) => {
      rig.lastActivityMs = performance.now();
      const result = await next(args);
      rig.lastActivityMs = performance.now();
      if (
        rig.armed &&
        point === 'after-effect-writes' &&
        context.commandName === 'TransactWriteItemsCommand'
      ) {
        return never();
      }
      return result;
    },
    { step: 'initialize', name: 'benchCrashAfterEffectWrites' },
  );
  return rig;
}

/** One account per message, so each account's entryCount says how often that message's effects landed. */
function crashBatch(idPrefix: string): SQSEvent {
  const payments: SentPayment[] = Array.from({ length: BATCH_SIZE }, (_, index) => ({
    messageId: `${idPrefix}-${index}`,
    accountId: `crash-account-${index}`,
    amountCents: 100,
  }));
  const [event] = batchesOf(payments, `${idPrefix}-delivery`);
  if (event === undefined) throw new Error('no crash batch');
  return event;
}

/** Attempt 1 dies: abandon it once every side effect ran and DynamoDB has been quiet for a moment. */
async function abandonFirstAttempt(sut: SystemUnderTest, event: SQSEvent, rig: CrashRig): Promise<void> {
  void sut.newContainer(rig.containerOptions)(event);
  await waitUntil(() => rig.sideEffectRuns >= BATCH_SIZE && performance.now() - rig.lastActivityMs > 250);
  rig.armed = false;
}

/** Delivers the batch again at once, then after each expiry while records are still handed back. */
async function redeliverUntilSettled(
  sut: SystemUnderTest,
  event: SQSEvent,
  rig: CrashRig,
  remainingTimeMs: number,
): Promise<CrashAttempt[]> {
  const attempts: CrashAttempt[] = [];
  let pending: SQSEvent = redeliver(event);
  const deliver = async (label: string) => {
    const result = await sut.newContainer(rig.containerOptions)(pending);
    attempts.push({
      label,
      acknowledged: pending.Records.length - result.failedSqsMessageIds.length,
      outcomes: { ...result.outcomes },
    });
    const failed = new Set(result.failedSqsMessageIds);
    pending = redeliver({ Records: pending.Records.filter((record) => failed.has(record.messageId)) });
  };
  await deliver('redelivered at once');
  for (let round = 0; round < 3 && pending.Records.length > 0; round++) {
    // Past Onceflow's lease (injected clock) and Powertools' in-progress expiry (real time, from the context).
    rig.clockOffsetMs += BENCH_LEASE_MS + 1000;
    await sleep(remainingTimeMs + 200);
    await deliver('redelivered after the lease / in-progress expiry');
  }
  return attempts;
}

function never(): Promise<never> {
  return new Promise(() => undefined);
}

async function waitUntil(condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline)
      throw new Error('crash scenario: the first attempt never reached its crash point');
    await sleep(20);
  }
}
