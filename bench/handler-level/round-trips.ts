import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LOCAL_AWS_CONFIG } from 'onceflow/testing';
import { median, percentile, sleep } from '../../local/support/stats.js';
import { audit } from './audit.js';
import type { SystemName, SystemUnderTest } from './systems.js';
import { runThroughput } from './throughput.js';
import { buildWorkload } from './workload.js';

/**
 * A stand-in for DynamoDB's round trip from Lambda in the same region, added before every request: AWS states
 * single-digit-millisecond latency for DynamoDB's item operations, and a transaction runs two phases (prepare and
 * commit) on each item's partition, so TransactWriteItems is given twice the single-item figure. These are
 * assumptions, not measurements of AWS: the point is that DynamoDB Local on the same 2 cores answers in well
 * under a millisecond when idle, so without them a batch's latency would not count its round trips at all.
 */
export const ROUND_TRIP_MODEL = {
  itemRequestMs: 8,
  transactionRequestMs: 16,
} as const;

/** One container at a time keeps DynamoDB Local far from saturation: the latency is the round trips'. */
const CONTAINERS = 1;

export const ROUND_TRIP_SYSTEMS: readonly SystemName[] = [
  'onceflow-lease',
  'onceflow-optimistic',
  'powertools',
];

export interface RoundTripSample {
  readonly system: SystemName;
  readonly p50BatchMs: number;
  readonly p99BatchMs: number;
  /** Deliveries acknowledged per second by one container, duplicates included. */
  readonly messagesPerSecondPerContainer: number;
  readonly exactlyOnce: boolean;
}

export interface RoundTripResult {
  readonly model: typeof ROUND_TRIP_MODEL;
  readonly uniqueMessages: number;
  readonly duplicateShare: number;
  readonly containers: number;
  readonly systems: readonly RoundTripSample[];
}

/** A DynamoDB client that waits the modelled round trip before each request it sends. */
export function clientWithRoundTrips(endpoint: string): DynamoDBClient {
  const client = new DynamoDBClient({ ...LOCAL_AWS_CONFIG, endpoint });
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const transactional = context.commandName === 'TransactWriteItemsCommand';
      await sleep(transactional ? ROUND_TRIP_MODEL.transactionRequestMs : ROUND_TRIP_MODEL.itemRequestMs);
      return next(args);
    },
    { step: 'finalizeRequest', name: 'benchRoundTrip' },
  );
  return client;
}

/**
 * Batch latency with round trips: each system consumes the same stream (30% duplicates) on one warm container
 * whose every DynamoDB request waits the modelled round trip. Medians over the repetitions.
 */
export async function measureRoundTrips(options: {
  readonly freshSystem: (name: SystemName) => Promise<SystemUnderTest>;
  readonly adminDocument: Parameters<typeof audit>[0];
  readonly uniqueMessages: number;
  readonly duplicateShare: number;
  readonly repetitions: number;
  readonly idPrefix: string;
  readonly progress: (line: string) => void;
}): Promise<RoundTripResult> {
  const samples = new Map<SystemName, { p50: number[]; p99: number[]; rate: number[]; once: boolean[] }>();
  for (let repetition = 0; repetition < options.repetitions; repetition++) {
    const workload = buildWorkload({
      uniqueMessages: options.uniqueMessages,
      duplicateShare: options.duplicateShare,
      seed: 100 + repetition,
      idPrefix: `${options.idPrefix}-${repetition}`,
    });
    for (let index = 0; index < ROUND_TRIP_SYSTEMS.length; index++) {
      const name = ROUND_TRIP_SYSTEMS[(index + repetition) % ROUND_TRIP_SYSTEMS.length] ?? 'powertools';
      const system = await options.freshSystem(name);
      const run = await runThroughput(system, workload, CONTAINERS);
      const verdict = await audit(options.adminDocument, system.tables, workload.payments);
      const entry = samples.get(name) ?? { p50: [], p99: [], rate: [], once: [] };
      entry.p50.push(percentile(run.batchLatenciesMs, 0.5));
      entry.p99.push(percentile(run.batchLatenciesMs, 0.99));
      entry.rate.push(workload.deliveries / (run.elapsedMs / 1000) / CONTAINERS);
      entry.once.push(verdict.exactlyOnce);
      samples.set(name, entry);
      options.progress(
        `round trips rep ${repetition + 1}/${options.repetitions} ${name}: batch p50 ` +
          `${Math.round(percentile(run.batchLatenciesMs, 0.5))} ms, p99 ${Math.round(percentile(run.batchLatenciesMs, 0.99))} ms`,
      );
    }
  }
  return {
    model: ROUND_TRIP_MODEL,
    uniqueMessages: options.uniqueMessages,
    duplicateShare: options.duplicateShare,
    containers: CONTAINERS,
    systems: ROUND_TRIP_SYSTEMS.map((system) => {
      const entry = samples.get(system) ?? { p50: [], p99: [], rate: [], once: [] };
      return {
        system,
        p50BatchMs: median(entry.p50),
        p99BatchMs: median(entry.p99),
        messagesPerSecondPerContainer: median(entry.rate),
        exactlyOnce: entry.once.length > 0 && entry.once.every(Boolean),
      };
    }),
  };
}
