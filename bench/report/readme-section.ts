import {
  ASSUMPTIONS,
  type CostAtShare,
  type CostEstimate,
  LIMITS,
  MODELLED_RATES_PER_SECOND,
  PRICES_USD,
} from '../cost/cost-model.js';
import {
  REFUSED_TRANSACTION_WRITE_UNITS_PER_ITEM,
  REFUSED_WRITE_UNITS,
} from '../handler-level/dynamodb-meter.js';
import type { CrashSample, HandlerLevelResult, SystemSummary } from '../handler-level/results.js';
import { SYSTEM_LABELS } from '../handler-level/systems.js';
import { HALF_LOAD_WARM_UP_MS, type PipelineResult } from '../pipeline/local-pipeline.js';
import { dash, fmt, fmtInt } from './format.js';
import type { BenchmarkResults } from './results.js';
import { refusedWritesNote, throughputLimitNote, writeUnitsSource } from './targets.js';

/** Lambda's default concurrent executions per account and region. */
const DEFAULT_LAMBDA_CONCURRENCY_QUOTA = 1000;

/** Where the section links to, relative to the README. */
export interface ReadmeLinks {
  readonly chart: string;
  readonly results: string;
}

/** The README section: tables, chart, and how to read them. Never edited by hand. */
export function renderReadmeSection(results: BenchmarkResults, links: ReadmeLinks): string {
  return [
    environment(results, links),
    handlerLevelTable(results.handlerLevel),
    roundTripTable(results.handlerLevel),
    crashTable(results.handlerLevel),
    targetsTable(results),
    pipelineTable(results.pipeline),
    runtimeTable(results),
    costTables(results),
  ]
    .map((section) => section.join('\n'))
    .join('\n\n');
}

/** Where and how the figures were taken, and the chart. */
function environment(results: BenchmarkResults, links: ReadmeLinks): string[] {
  const { environment, handlerLevel } = results;
  const options = handlerLevel.options;
  return [
    `_Written by \`${results.command}\` on ${results.generatedAt.slice(0, 10)}; do not edit by hand. ` +
      `Raw figures: [${links.results}](${links.results})._`,
    '',
    `One run on ${environment.cpus} × ${environment.cpuModel}, Node ${environment.node}, ${environment.dynamoDb}; ` +
      `1-minute load average ${fmt(environment.loadAverageAtStart, 1)} at the start and ` +
      `${fmt(environment.loadAverageAtEnd, 1)} at the end. Every figure is the median of ${options.repetitions} ` +
      'repetitions; ratios are against the baselines of the same run.' +
      (options.injectedLatencyMs > 0
        ? ` Every DynamoDB request was delayed by ${options.injectedLatencyMs} ms, standing in for an AWS round trip.`
        : ''),
    '',
    `![Handler-level throughput and end-to-end pipeline](${links.chart})`,
  ];
}

function handlerLevelTable(handlerLevel: HandlerLevelResult): string[] {
  const powertools = handlerLevel.systems.find((system) => system.system === 'powertools');
  const raw = handlerLevel.systems.find((system) => system.system === 'raw-writes');
  const times = (system: SystemSummary, baseline: SystemSummary | undefined) =>
    baseline === undefined ? '—' : `${fmt(system.messagesPerSecond / baseline.messagesPerSecond, 2)}x`;
  const options = handlerLevel.options;
  return [
    '### Handler level',
    '',
    `Each system consumes the same stream: ${options.messages} unique payments over ${options.accounts} accounts, ` +
      `${Math.round(options.duplicateShare * 100)}% of deliveries duplicates, in SQS batch events of ` +
      `${options.batchSize}, on ${options.containers} concurrent warm containers, each system on its own tables in ` +
      'the same DynamoDB Local. Powertools runs as its documentation shows (BatchProcessor, makeIdempotent on the ' +
      "body's messageId, registerLambdaContext, its DynamoDB persistence layer on its own table), with the ledger " +
      'writes as one TransactWriteItems inside the idempotent function.',
    '',
    '| system | msgs/s | vs Powertools | vs raw writes | batch p50 / p99 (ms) | requests per new msg | per duplicate, warm / cold | WRU per delivery | effects exactly once |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    ...handlerLevel.systems.map(
      (system) =>
        `| ${system.label} | ${fmt(system.messagesPerSecond, 0)} | ${times(system, powertools)} | ${times(system, raw)} | ` +
        `${fmt(system.p50BatchMs, 0)} / ${fmt(system.p99BatchMs, 0)} | ${fmt(system.requestsPerNewMessage, 2)} | ` +
        `${fmt(system.requestsPerWarmDuplicate, 2)} / ${fmt(system.requestsPerColdDuplicate, 2)} | ` +
        `${fmt(system.writeUnitsPerDeliveryColdMixed, 2)} | ` +
        `${system.exactlyOnce ? 'yes' : `no: ${fmt(system.extraApplications, 0)} extra applications`} |`,
    ),
    '',
    '- **msgs/s**: deliveries (duplicates included) acknowledged per second of wall time; records a system hands back ' +
      'are delivered again at once, as SQS would after their visibility timeout.',
    '- **requests**: DynamoDB HTTP requests counted by SDK middleware, per message, one batch at a time: a new ' +
      'message; a duplicate the same container already saw (warm); a duplicate another container saw (cold).',
    `- **WRU per delivery**: on the ${Math.round(options.duplicateShare * 100)}% duplicate stream, taken by one ` +
      'container that answers no duplicate from its DONE cache (every duplicate cold, as at scale, where another ' +
      "container applied the original; lease mode's read before claiming turns on as it sees them). " +
      writeUnitsSource(handlerLevel) +
      `Refused writes carry no ConsumedCapacity, so they are estimated: ${REFUSED_WRITE_UNITS} WRU for a failed ` +
      `condition (documented), ${REFUSED_TRANSACTION_WRITE_UNITS_PER_ITEM} WRU per item of a cancelled transaction ` +
      '(AWS documents that a cancelled transaction consumes capacity; the bench charges it in full, as if it had ' +
      'committed). Reads are charged by the same rules: half a read unit per key of an eventually consistent read, ' +
      'found or not.',
    '- **effects exactly once**: the ledger audit after the run; every balance equals the sum of its unique ' +
      "payments, and each account's entry count equals its unique payments.",
  ];
}

/** Batch latency with modelled AWS round trips: what a batch costs in time where requests are not free. */
function roundTripTable(handlerLevel: HandlerLevelResult): string[] {
  const roundTrips = handlerLevel.roundTrips;
  if (roundTrips === undefined) return [];
  const powertools = roundTrips.systems.find((sample) => sample.system === 'powertools');
  const ratio = (p50: number) => (powertools === undefined ? '—' : `${fmt(p50 / powertools.p50BatchMs, 2)}x`);
  return [
    '#### Batch latency with AWS round trips',
    '',
    `The same kind of stream (${roundTrips.uniqueMessages} unique payments, ` +
      `${Math.round(roundTrips.duplicateShare * 100)}% duplicates) on ${roundTrips.containers} warm container, ` +
      `every DynamoDB request delayed by ${roundTrips.model.itemRequestMs} ms (TransactWriteItems ` +
      `${roundTrips.model.transactionRequestMs} ms: two phases) before it is sent, standing in for the round trip ` +
      "from Lambda to DynamoDB in one region (AWS states single-digit milliseconds; the figures are this bench's " +
      'assumption, not a measurement of AWS). One container keeps DynamoDB Local idle, so the latency is the round ' +
      "trips'. Powertools processes its batch's records in parallel (its BatchProcessor's default).",
    '',
    '| system | batch p50 / p99 (ms) | p50 vs Powertools | msgs/s per container | effects exactly once |',
    '| --- | ---: | ---: | ---: | --- |',
    ...roundTrips.systems.map(
      (sample) =>
        `| ${SYSTEM_LABELS[sample.system]} | ${fmtInt(sample.p50BatchMs)} / ${fmtInt(sample.p99BatchMs)} | ` +
        `${ratio(sample.p50BatchMs)} | ${fmtInt(sample.messagesPerSecondPerContainer)} | ` +
        `${sample.exactlyOnce ? 'yes' : 'no'} |`,
    ),
  ];
}

function crashTable(handlerLevel: HandlerLevelResult): string[] {
  return [
    '#### Crash after the side effect, before completion',
    '',
    'A batch of 10 whose handler performs an external side effect (a counter) and then dies: either right after ' +
      'the side effect, or right after its effect writes returned. The dead invocation is abandoned and the batch ' +
      "delivered again: at once, then after the system's expiry (Onceflow's lease, moved by its injected clock; " +
      "Powertools' in-progress expiry, which it takes from the Lambda context's remaining time).",
    '',
    '| system | crashes | side effect ran | effects applied | what happened |',
    '| --- | --- | ---: | ---: | --- |',
    ...handlerLevel.crashes.map(
      (crash) =>
        `| ${SYSTEM_LABELS[crash.system]} | ${crashPointLabel(crash)} | ${crash.sideEffectRuns} for ${crash.messages} | ` +
        `${crash.effectApplications} for ${crash.messages}${crash.exactlyOnceEffects ? '' : ' (**double**)'} | ` +
        `${describeCrash(crash)} |`,
    ),
    '',
    handlerLevel.crashCountsSameInEveryRepetition
      ? 'Every repetition counted the same.'
      : 'The counts differed between repetitions: see the results file.',
  ];
}

function crashPointLabel(crash: CrashSample): string {
  return crash.point === 'after-side-effect' ? 'after the side effect' : 'after its effect writes';
}

/** One sentence per attempt: what the redelivery met. */
function describeCrash(crash: CrashSample): string {
  return crash.attempts
    .map((attempt) => {
      const outcomes = Object.entries(attempt.outcomes)
        .map(([kind, count]) => `${count} ${kind}`)
        .join(', ');
      return `${attempt.label}: ${outcomes}`;
    })
    .join('; ');
}

function targetsTable(results: BenchmarkResults): string[] {
  return [
    '### Targets',
    '',
    '| target | measured | met |',
    '| --- | ---: | --- |',
    ...results.targets.map(
      (target) => `| ${target.target} | ${target.measured} | ${target.met ? 'yes' : '**no**'} |`,
    ),
    '',
    ...results.targets
      .filter((target) => target.note !== undefined)
      .flatMap((target) => [`- **${target.target}**: ${target.note}`]),
    '',
    results.targets.some((target) => !target.met && target.target.includes('messages/s'))
      ? throughputLimitNote(results.handlerLevel)
      : '',
  ];
}

function pipelineTable(pipeline: PipelineResult): string[] {
  const title = '### End-to-end local pipeline';
  const { ceilingPerSecond, achievedPerSecond, halfLoad, messages } = pipeline;
  if (ceilingPerSecond === null || achievedPerSecond === null || halfLoad === null || messages === null)
    return [title, '', `— ${pipeline.description}.`];
  const ratio = achievedPerSecond / ceilingPerSecond;
  return [
    title,
    '',
    `${pipeline.description}. ${fmtInt(messages)} unique payments per run (half as many at half load), each ` +
      'repetition on a fresh DynamoDB Local. Throughput counts unique payments through both stages per second, ' +
      'from the first send (the first batch, for the ceiling) to the last record settled; latency is SQS send to ' +
      `ledger commit, leaving out the messages of a ${fmtInt(HALF_LOAD_WARM_UP_MS / 1000)} s warm-up at the same ` +
      "rate (each process's first batches pay for compiling and connecting, as a Lambda cold start does).",
    '',
    '| | payments/s | vs ceiling | send-to-commit p50 / p99 (ms) | server RSS (MB) |',
    '| --- | ---: | ---: | ---: | ---: |',
    `| ceiling: DynamoDB Local with the same work, one process, no SQS | ${fmtInt(ceilingPerSecond)} | 1x | | |`,
    `| \`npm start\` machinery, as fast as it goes | ${fmtInt(achievedPerSecond)} | ${fmt(ratio, 2)}x | | ${dash(pipeline.consumerRssMb, 0)} |`,
    `| \`npm start\` machinery, offered ${fmtInt(halfLoad.offeredPerSecond)} msgs/s (half) | ${fmtInt(halfLoad.offeredPerSecond)} | | ${fmtInt(halfLoad.p50SendToCommitMs)} / ${fmtInt(halfLoad.p99SendToCommitMs)} | |`,
    '',
    "DynamoDB Local's JVM options side by side, on the ceiling probe (median payments/s):",
    '',
    '| JVM options | payments/s | vs npm start |',
    '| --- | ---: | ---: |',
    ...pipeline.jvmVariants.map(
      (variant) =>
        `| ${variant.name} (\`${variant.jvmOptions.join(' ') || 'none'}\`) | ${fmtInt(variant.ceilingPerSecond)} | ` +
        `${fmt(variant.ceilingPerSecond / (pipeline.jvmVariants[0]?.ceilingPerSecond ?? Number.NaN), 2)}x |`,
    ),
  ];
}

/** Part D: the runtime's own cost, DynamoDB out of the picture. */
function runtimeTable(results: BenchmarkResults): string[] {
  const runtime = results.runtime;
  if (runtime === undefined) return [];
  const cpu = runtime.cpuMsPerMessage;
  const { bundleBytes, initMs, starts } = runtime.coldStart;
  const vs = (value: number, baseline: number) => `${fmt(value / baseline, 2)}x`;
  return [
    '### Runtime overhead and cold start',
    '',
    `CPU of the bench process per message over ${runtime.batches} batches of 10 new messages per system, every ` +
      'DynamoDB request answered at once inside the process after the SDK has built and signed it (the SDK stays ' +
      'in, the network and the server are out). Cold start: a minimal consumer of each, bundled with the settings ' +
      `ExactlyOnceConsumer uses (ESM, node22, AWS SDK included), imported in a fresh Node process ${starts} times ` +
      '(median): the Lambda init phase of that bundle.',
    '',
    '| | Onceflow, lease mode | Onceflow, optimistic mode | Powertools idempotency |',
    '| --- | ---: | ---: | ---: |',
    `| CPU ms per message | ${fmt(cpu['onceflow-lease'], 3)} (${vs(cpu['onceflow-lease'], cpu.powertools)}) | ` +
      `${fmt(cpu['onceflow-optimistic'], 3)} (${vs(cpu['onceflow-optimistic'], cpu.powertools)}) | ` +
      `${fmt(cpu.powertools, 3)} |`,
    `| bundle KB | ${fmtInt(bundleBytes.onceflow / 1024)} (${vs(bundleBytes.onceflow, bundleBytes.powertools)}) | ` +
      `same bundle | ${fmtInt(bundleBytes.powertools / 1024)} |`,
    `| init ms | ${fmtInt(initMs.onceflow)} (${vs(initMs.onceflow, initMs.powertools)}) | same bundle | ` +
      `${fmtInt(initMs.powertools)} |`,
  ];
}

function costTables(results: BenchmarkResults): string[] {
  return [
    '### Capacity and cost on AWS',
    '',
    'Modelled from the measured requests and WRU per delivery above (duplicates taken as cold: across hundreds of ' +
      'containers almost none hits a warm cache), at deliveries per second including duplicates.',
    '',
    ...MODELLED_RATES_PER_SECOND.flatMap((rate) => costTable(results.costModel.estimates, rate)),
    ...duplicateShareTable(results.costModel.byDuplicateShare ?? []),
    refusedWritesNote(results.handlerLevel),
    '',
    costAssumptions(results.costModel.estimates),
    '',
    `SQS FIFO high-throughput mode allows up to ${LIMITS.fifoHighThroughputTransactionsPerSecondPerAction.toLocaleString('en-US')} ` +
      'transactions per second per API action per queue in us-east-1 (up to ten times that in messages with ' +
      'batches of 10), enough for both rates, but its deduplication covers only identical sends within ' +
      `${LIMITS.fifoDeduplicationWindowSeconds / 60} minutes: a consumer that dies after its writes and before the ` +
      'delete applies them again (the raw-writes rows of the crash table), and one message group is consumed by one ' +
      'invocation at a time, so concurrency needs at least that many active groups.',
  ];
}

/** $ per million deliveries at each measured share of duplicates, with the units behind it. */
function duplicateShareTable(rows: readonly CostAtShare[]): string[] {
  const shares = [...new Set(rows.map((row) => row.duplicateShare))];
  if (shares.length === 0) return [];
  const columns = [...new Set(rows.map((row) => row.column))];
  const cell = (column: string, share: number) => {
    const row = rows.find((candidate) => candidate.column === column && candidate.duplicateShare === share);
    return row === undefined
      ? '-'
      : `${fmt(row.usdPerMillionDeliveries.total, 2)} (${fmt(row.writeUnitsPerDelivery, 2)} WRU, ` +
          `${fmt(row.readUnitsPerDelivery, 2)} RRU)`;
  };
  const percent = (share: number) => `${Math.round(share * 100)}% duplicates`;
  return [
    '**$ per million deliveries by share of duplicates** (every duplicate cold; WRU and RRU per delivery measured ' +
      'on a stream of that share)',
    '',
    `| | ${shares.map(percent).join(' | ')} |`,
    `| --- | ${shares.map(() => '---:').join(' | ')} |`,
    ...columns.map(
      (column) =>
        `| ${rows.find((row) => row.column === column)?.label ?? column} | ${shares.map((share) => cell(column, share)).join(' | ')} |`,
    ),
    '',
  ];
}

function costTable(estimates: readonly CostEstimate[], rate: number): string[] {
  const rows = estimates.filter((estimate) => estimate.messagesPerSecond === rate);
  return [
    `**${rate.toLocaleString('en-US')} msgs/s**`,
    '',
    '| | DynamoDB WRU/s | partitions | Lambda concurrency | SQS requests/s | $ per million msgs | $ per month |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map(
      (estimate) =>
        `| ${estimate.label} | ${fmtInt(estimate.dynamoDbWriteUnitsPerSecond)} | ${estimate.dynamoDbPartitions} | ` +
        `${estimate.lambdaConcurrency} | ${fmtInt(estimate.sqsRequestsPerSecond)} | ` +
        `${fmt(estimate.usdPerMillionMessages.total, 2)} | ${fmtInt(estimate.usdPerMonth)} |`,
    ),
    '',
  ];
}

/** What the model takes as given, and the quota a high concurrency would need raised. */
function costAssumptions(estimates: readonly CostEstimate[]): string {
  return (
    `Assumptions: batches of ${ASSUMPTIONS.batchSize}; ${ASSUMPTIONS.lambdaMemoryMb} MB arm64 functions whose ` +
    'duration is the p50 batch latency of the run with modelled AWS round trips (for the raw-writes column, ' +
    'which that run leaves out, the p50 on DynamoDB Local, a CPU-bound local server: pessimistic); ' +
    `${ASSUMPTIONS.sqsRequestsPerMessage} SQS requests per message (SendMessageBatch, ` +
    'ReceiveMessage and DeleteMessageBatch of 10); partitions from ' +
    `${LIMITS.partitionWriteUnitsPerSecond} WRU/s and ${LIMITS.partitionReadUnitsPerSecond} RRU/s each with evenly ` +
    `spread keys; storage of the dedup records only (Onceflow keeps a claim ${ASSUMPTIONS.claimRetentionDays} ` +
    `days, Powertools 1 hour); prices us-east-1 list prices (DynamoDB on demand $${PRICES_USD.dynamoDbPerMillionWriteUnits} ` +
    `per million WRU and $${PRICES_USD.dynamoDbPerMillionReadUnits} per million RRU; Lambda ` +
    `$${PRICES_USD.lambdaPerMillionRequests} per million requests and $${PRICES_USD.lambdaArm64PerGbSecond} per ` +
    `GB-s on arm64; SQS $${PRICES_USD.sqsStandardPerMillionRequests} standard and ` +
    `$${PRICES_USD.sqsFifoPerMillionRequests} FIFO per million requests), which change: check them before relying ` +
    'on a figure.' +
    (estimates.some((estimate) => estimate.lambdaConcurrency > DEFAULT_LAMBDA_CONCURRENCY_QUOTA)
      ? ` Concurrency above ${DEFAULT_LAMBDA_CONCURRENCY_QUOTA.toLocaleString('en-US')}, the default regional ` +
        'quota, needs a quota increase; with AWS latencies instead of a saturated local server the durations, and so ' +
        'the concurrency and the compute cost, would be lower.'
      : '')
  );
}
