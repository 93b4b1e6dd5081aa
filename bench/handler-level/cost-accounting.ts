import type { DynamoDbMeter } from './dynamodb-meter.js';
import type { CostSample, DeliveryCost } from './results.js';
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
  const mixedSystem = await freshSystem();
  const mixed = buildWorkload({
    uniqueMessages: messages,
    duplicateShare,
    idPrefix: `${idPrefix}-mixed`,
    seed: 7,
  });
  const coldMixed = await metered(meter, mixed.deliveries, async () => {
    for (const batch of mixed.batches) await mixedSystem.newContainer()(batch);
  });
  return { newMessage, warmDuplicate, coldDuplicate, coldMixed };
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
    readUnitsPerMessage: reading.reportedReadUnits / messages,
    requestsByOperation: reading.requestsByOperation,
  };
}
