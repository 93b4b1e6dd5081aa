import type { DynamoDbMeter } from './dynamodb-meter.js';
import { COST_DUPLICATE_SHARES, type CostSample, type DeliveryCost } from './results.js';
import type { SystemUnderTest } from './systems.js';
import { ACCOUNTS, batchesOf, buildWorkload } from './workload.js';

/** Request accounting, one batch at a time so each kind of delivery is counted alone. */
export async function measureCosts(
  freshSystem: () => Promise<SystemUnderTest>,
  meter: DynamoDbMeter,
  idPrefix: string,
  messages: number,
  duplicateShare: number,
): Promise<CostSample> {
  const system = await freshSystem();
  const payments = buildWorkload({ uniqueMessages: messages, idPrefix, accounts: ACCOUNTS }).payments;
  const warm = system.newContainer();
  const newMessage = await metered(meter, messages, async () => {
    for (const batch of batchesOf(payments, `${idPrefix}-first`)) await warm(batch);
  });
  const warmDuplicate = await metered(meter, messages, async () => {
    for (const batch of batchesOf(payments, `${idPrefix}-again`)) await warm(batch);
  });
  const cold = system.newContainer();
  const coldDuplicate = await metered(meter, messages, async () => {
    for (const batch of batchesOf(payments, `${idPrefix}-elsewhere`)) await cold(batch);
  });
  const coldMixed = await meteredColdMixed(freshSystem, meter, `${idPrefix}-mixed`, messages, duplicateShare);
  const coldMixedByShare = [];
  for (const share of COST_DUPLICATE_SHARES) {
    const cost =
      share === duplicateShare
        ? coldMixed
        : await meteredColdMixed(freshSystem, meter, `${idPrefix}-mixed-${share}`, messages, share);
    coldMixedByShare.push({ duplicateShare: share, cost });
  }
  return { newMessage, warmDuplicate, coldDuplicate, coldMixed, coldMixedByShare };
}

/**
 * A stream with this share of duplicates, every duplicate cold, as at scale: there hundreds of containers share the
 * stream, so a duplicate nearly never meets the container that applied its original, yet each container lives for
 * many batches. So one container takes the whole stream and answers no duplicate from its DONE cache: what it learns
 * across batches is kept (in lease mode, the share of cold duplicates that turns the read before claiming on). A
 * fresh container per batch would forget that too, and never read.
 */
async function meteredColdMixed(
  freshSystem: () => Promise<SystemUnderTest>,
  meter: DynamoDbMeter,
  idPrefix: string,
  messages: number,
  duplicateShare: number,
): Promise<DeliveryCost> {
  const system = await freshSystem();
  const mixed = buildWorkload({ uniqueMessages: messages, duplicateShare, idPrefix, seed: 7 });
  const container = system.newContainer({ coldDuplicates: true });
  return metered(meter, mixed.deliveries, async () => {
    for (const batch of mixed.batches) await container(batch);
  });
}

/** What `run` cost per message, counted alone: the meter is reset before it. */
async function metered(
  meter: DynamoDbMeter,
  messages: number,
  run: () => Promise<void>,
): Promise<DeliveryCost> {
  meter.reset();
  await run();
  const reading = meter.read();
  return {
    requestsPerMessage: reading.requests / messages,
    writeUnitsPerMessage: (reading.computedWriteUnits + reading.estimatedRefusedWriteUnits) / messages,
    estimatedRefusedWriteUnitsPerMessage: reading.estimatedRefusedWriteUnits / messages,
    readUnitsPerMessage: reading.computedReadUnits / messages,
    requestsByOperation: reading.requestsByOperation,
  };
}
