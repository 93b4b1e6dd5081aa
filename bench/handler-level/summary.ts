import { median } from '../../local/support/stats.js';
import {
  COST_DUPLICATE_SHARES,
  type CostAtDuplicateShare,
  type RepetitionSample,
  type SystemSummary,
} from './results.js';
import { SYSTEM_LABELS, type SystemName } from './systems.js';

/** Medians over the repetitions of what a delivery costs at one duplicate share. */
function costAt(samples: readonly RepetitionSample[], duplicateShare: number): CostAtDuplicateShare {
  const of = (pick: (cost: RepetitionSample['cost']['coldMixed']) => number) =>
    median(
      samples.flatMap((sample) =>
        sample.cost.coldMixedByShare
          .filter((entry) => entry.duplicateShare === duplicateShare)
          .map((entry) => pick(entry.cost)),
      ),
    );
  return {
    duplicateShare,
    requestsPerDelivery: of((cost) => cost.requestsPerMessage),
    writeUnitsPerDelivery: of((cost) => cost.writeUnitsPerMessage),
    readUnitsPerDelivery: of((cost) => cost.readUnitsPerMessage),
    estimatedRefusedWriteUnitsPerDelivery: of((cost) => cost.estimatedRefusedWriteUnitsPerMessage),
  };
}

/** One system's figures: the median of each over its repetitions, and the audit of every one. */
export function summarize(name: SystemName, samples: readonly RepetitionSample[]): SystemSummary {
  const of = (pick: (sample: RepetitionSample) => number) => median(samples.map(pick));
  return {
    system: name,
    label: SYSTEM_LABELS[name],
    messagesPerSecond: of((s) => s.throughput.messagesPerSecond),
    p50BatchMs: of((s) => s.throughput.p50BatchMs),
    p99BatchMs: of((s) => s.throughput.p99BatchMs),
    requestsPerNewMessage: of((s) => s.cost.newMessage.requestsPerMessage),
    requestsPerWarmDuplicate: of((s) => s.cost.warmDuplicate.requestsPerMessage),
    requestsPerColdDuplicate: of((s) => s.cost.coldDuplicate.requestsPerMessage),
    requestsPerDeliveryMixed: of((s) => s.throughput.requestsPerDelivery),
    requestsPerDeliveryColdMixed: of((s) => s.cost.coldMixed.requestsPerMessage),
    writeUnitsPerNewMessage: of((s) => s.cost.newMessage.writeUnitsPerMessage),
    writeUnitsPerColdDuplicate: of((s) => s.cost.coldDuplicate.writeUnitsPerMessage),
    writeUnitsPerDeliveryMixed: of((s) => s.throughput.writeUnitsPerDelivery),
    writeUnitsPerDeliveryColdMixed: of((s) => s.cost.coldMixed.writeUnitsPerMessage),
    readUnitsPerDeliveryColdMixed: of((s) => s.cost.coldMixed.readUnitsPerMessage),
    estimatedRefusedWriteUnitsPerDeliveryColdMixed: of(
      (s) => s.cost.coldMixed.estimatedRefusedWriteUnitsPerMessage,
    ),
    estimatedRefusedWriteUnitsPerDelivery: of((s) => s.throughput.estimatedRefusedWriteUnitsPerDelivery),
    consumerCpuMsPerDelivery: of((s) => s.throughput.consumerCpuMsPerDelivery),
    costByDuplicateShare: COST_DUPLICATE_SHARES.map((duplicateShare) => costAt(samples, duplicateShare)),
    exactlyOnce: samples.length > 0 && samples.every((s) => s.throughput.audit.exactlyOnce),
    extraApplications: of((s) => s.throughput.audit.applications - s.throughput.audit.uniqueMessages),
    repetitions: samples,
  };
}
