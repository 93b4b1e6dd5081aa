import type { SQSEvent } from 'aws-lambda';
import { percentile } from '../../local/support/stats.js';
import type { Container } from './containers.js';
import type { MeterReading } from './dynamodb-meter.js';
import type { AuditVerdict, ThroughputSample } from './results.js';
import type { SystemUnderTest } from './systems.js';
import { BATCH_SIZE, redeliver, type Workload } from './workload.js';

export interface ThroughputRun {
  readonly elapsedMs: number;
  readonly batchLatenciesMs: readonly number[];
  readonly unsettledRecords: number;
  /** CPU the bench process spent (user + system), which is the consumers' CPU plus the harness's. */
  readonly consumerCpuMs: number;
}

/**
 * `containers` workers, each one warm container, take batches off a shared queue until it is empty. Records a
 * container hands back are delivered again afterwards, as SQS does when their visibility timeout ends.
 */
export async function runThroughput(
  system: SystemUnderTest,
  workload: Workload,
  containers: number,
): Promise<ThroughputRun> {
  const pool: Container[] = Array.from({ length: containers }, () => system.newContainer());
  const latenciesMs: number[] = [];
  let queue: SQSEvent[] = [...workload.batches];
  let unsettled: SQSEvent['Records'] = [];
  const startedMs = performance.now();
  const startedCpu = process.cpuUsage();
  for (let round = 0; round < 5 && queue.length > 0; round++) {
    const returned: SQSEvent['Records'] = [];
    await Promise.all(
      pool.map(async (container) => {
        for (let batch = queue.shift(); batch !== undefined; batch = queue.shift()) {
          const batchStartedMs = performance.now();
          const { failedSqsMessageIds } = await container(batch);
          latenciesMs.push(performance.now() - batchStartedMs);
          const failed = new Set(failedSqsMessageIds);
          returned.push(...batch.Records.filter((record) => failed.has(record.messageId)));
        }
      }),
    );
    unsettled = returned;
    queue = [];
    for (let start = 0; start < returned.length; start += BATCH_SIZE) {
      queue.push(redeliver({ Records: returned.slice(start, start + BATCH_SIZE) }));
    }
  }
  const cpu = process.cpuUsage(startedCpu);
  return {
    elapsedMs: performance.now() - startedMs,
    consumerCpuMs: (cpu.user + cpu.system) / 1000,
    batchLatenciesMs: latenciesMs,
    unsettledRecords: queue.length === 0 ? 0 : unsettled.length,
  };
}

/** A throughput run's figures per delivery, with the meter's reading over the run and the audit after it. */
export function throughputSample(
  run: ThroughputRun,
  workload: Workload,
  reading: MeterReading,
  audit: AuditVerdict,
): ThroughputSample {
  const perDelivery = (value: number) => value / workload.deliveries;
  return {
    deliveries: workload.deliveries,
    uniqueMessages: workload.payments.length,
    elapsedMs: run.elapsedMs,
    messagesPerSecond: workload.deliveries / (run.elapsedMs / 1000),
    p50BatchMs: percentile(run.batchLatenciesMs, 0.5),
    p99BatchMs: percentile(run.batchLatenciesMs, 0.99),
    requestsPerDelivery: perDelivery(reading.requests),
    writeUnitsPerDelivery: perDelivery(reading.computedWriteUnits + reading.estimatedRefusedWriteUnits),
    computedWriteUnitsPerDelivery: perDelivery(reading.computedWriteUnits),
    reportedWriteUnitsPerDelivery: perDelivery(reading.reportedWriteUnits),
    estimatedRefusedWriteUnitsPerDelivery: perDelivery(reading.estimatedRefusedWriteUnits),
    writeUnitsPerDeliveryByTable: Object.fromEntries(
      Object.entries(reading.reportedWriteUnitsByTable).map(([table, units]) => [
        tableRole(table),
        perDelivery(units),
      ]),
    ),
    unsettledRecords: run.unsettledRecords,
    consumerCpuMsPerDelivery: run.consumerCpuMs / workload.deliveries,
    audit,
  };
}

/** `bench-<run>-<n>-<system>-accounts` -> `accounts`: the role, stable across repetitions. */
function tableRole(tableName: string): string {
  return tableName.slice(tableName.lastIndexOf('-') + 1);
}
