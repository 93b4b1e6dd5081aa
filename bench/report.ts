import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { round } from '../local/support/stats.js';
import {
  ASSUMPTIONS,
  type CostEstimate,
  LIMITS,
  MODELLED_RATES_PER_SECOND,
  PRICES_USD,
} from './cost-model.js';
import { REFUSED_TRANSACTION_WRITE_UNITS_PER_ITEM, REFUSED_WRITE_UNITS } from './dynamodb-meter.js';
import type { CrashSample, HandlerLevelResult, SystemSummary } from './handler-level.js';
import type { PipelineResult } from './pipeline.js';
import { SYSTEM_LABELS, type SystemName } from './systems.js';

/** Lambda's default concurrent executions per account and region. */
const DEFAULT_LAMBDA_CONCURRENCY_QUOTA = 1000;

export const README_START_MARKER = '<!-- performance:start -->';
export const README_END_MARKER = '<!-- performance:end -->';

export interface BenchmarkEnvironment {
  readonly node: string;
  readonly platform: string;
  readonly cpuModel: string;
  readonly cpus: number;
  readonly totalMemoryGb: number;
  /** 1-minute load averages: other work on the machine shares the cores with DynamoDB Local and the bench. */
  readonly loadAverageAtStart: number;
  readonly loadAverageAtEnd: number;
  readonly dynamoDb: string;
}

export interface TargetVerdict {
  readonly target: string;
  readonly measured: string;
  readonly met: boolean;
  /** When missed: what limits it and what would lift it. */
  readonly note: string | undefined;
}

export interface BenchmarkResults {
  readonly generatedAt: string;
  readonly command: string;
  readonly environment: BenchmarkEnvironment;
  readonly handlerLevel: HandlerLevelResult;
  readonly pipeline: PipelineResult;
  readonly costModel: {
    readonly pricesUsd: typeof PRICES_USD;
    readonly limits: typeof LIMITS;
    readonly assumptions: typeof ASSUMPTIONS;
    readonly estimates: readonly CostEstimate[];
  };
  readonly targets: readonly TargetVerdict[];
}

export interface ReportPaths {
  /** bench/results: the dated JSON and the chart go here. */
  readonly resultsDir: string;
  /** The README whose Performance section is rewritten between the markers. */
  readonly readmePath: string;
}

export interface WrittenReport {
  readonly resultsPath: string;
  readonly chartPath: string;
  readonly readmePath: string;
}

/** Writes the dated results JSON and the chart, and rewrites the README section between its markers. */
export async function writeReport(results: BenchmarkResults, paths: ReportPaths): Promise<WrittenReport> {
  await mkdir(paths.resultsDir, { recursive: true });
  const resultsPath = join(paths.resultsDir, `${results.generatedAt.slice(0, 10)}.json`);
  const chartPath = join(paths.resultsDir, 'chart.svg');
  await writeFile(resultsPath, `${JSON.stringify(results, null, 2)}\n`);
  await writeFile(chartPath, renderChart(results));
  const readme = await readFile(paths.readmePath, 'utf8');
  const section = renderReadmeSection(results, {
    chart: relative(dirname(paths.readmePath), chartPath),
    results: relative(dirname(paths.readmePath), resultsPath),
  });
  await writeFile(paths.readmePath, replaceBetweenMarkers(readme, section));
  return { resultsPath, chartPath, readmePath: paths.readmePath };
}

/** Replaces what lies between the markers; refuses to write when they are missing or out of order. */
export function replaceBetweenMarkers(document: string, section: string): string {
  const start = document.indexOf(README_START_MARKER);
  const end = document.indexOf(README_END_MARKER);
  if (start === -1 || end === -1 || end < start) {
    throw new Error(
      `The README needs ${README_START_MARKER} and ${README_END_MARKER}, in that order, under "## Performance".`,
    );
  }
  return `${document.slice(0, start + README_START_MARKER.length)}\n${section.trim()}\n${document.slice(end)}`;
}

/** The verdict on each target of the benchmark issue, with what limits a missed one. */
export function judgeTargets(handlerLevel: HandlerLevelResult): TargetVerdict[] {
  const by = (name: SystemName) => handlerLevel.systems.find((system) => system.system === name);
  const lease = by('onceflow-lease');
  const optimistic = by('onceflow-optimistic');
  const powertools = by('powertools');
  const raw = by('raw-writes');
  if (lease === undefined || optimistic === undefined || powertools === undefined || raw === undefined)
    return [];
  const ratio = (a: SystemSummary, b: SystemSummary) => a.messagesPerSecond / b.messagesPerSecond;
  const verdict = (target: string, measured: number, wanted: number, atLeast: boolean, note: string) => {
    const met = atLeast ? measured >= wanted : measured <= wanted;
    return { target, measured: fmt(measured, 2), met, note: met ? undefined : note };
  };
  const warmRequests = Math.max(lease.requestsPerWarmDuplicate, optimistic.requestsPerWarmDuplicate);
  return [
    verdict(
      'optimistic >= 4x Powertools messages/s',
      ratio(optimistic, powertools),
      4,
      true,
      `Optimistic mode writes 3 items per new message (DONE, account, entry), all transactional, against ` +
        "Powertools' 4 (its record put, the two ledger items, its record update), so a server that is paid per item " +
        'cannot make it 4x faster; its gain is requests, which a local server does not charge for.',
    ),
    verdict(
      'optimistic >= 0.8x raw writes messages/s',
      ratio(optimistic, raw),
      0.8,
      true,
      'Raw writes write 2 items per message and nothing else; optimistic mode adds the DONE record (3 items), and ' +
        'a cold duplicate in a batch cancels its grouped transaction, which is then split and sent again.',
    ),
    verdict(
      'lease >= 1.5x Powertools messages/s',
      ratio(lease, powertools),
      1.5,
      true,
      `Lease mode writes as many items as Powertools (claim, DONE, two ledger items) and must claim before the ` +
        `handler runs; its batch takes two sequential round trips (claims in parallel, then one grouped commit) ` +
        "against Powertools' three, an advantage only where round trips cost time.",
    ),
    verdict(
      'optimistic <= 0.2 DynamoDB requests per new message',
      optimistic.requestsPerNewMessage,
      0.2,
      false,
      'A batch commits in one TransactWriteItems unless two of its messages touch one item (then it splits).',
    ),
    verdict(
      'no request for a repeated duplicate in a warm container (both modes)',
      warmRequests,
      0,
      false,
      "The container's LRU of DONE ids did not answer: check doneCacheSize.",
    ),
  ];
}

/**
 * Why handler-level throughput ratios on DynamoDB Local understate Onceflow, said once under the targets whenever a
 * throughput target is missed.
 */
export function throughputLimitNote(handlerLevel: HandlerLevelResult): string {
  const optimistic = handlerLevel.systems.find((system) => system.system === 'onceflow-optimistic');
  const powertools = handlerLevel.systems.find((system) => system.system === 'powertools');
  const requests =
    optimistic === undefined || powertools === undefined
      ? ''
      : ` (${fmt(optimistic.requestsPerNewMessage, 2)} requests per new message in optimistic mode against ` +
        `Powertools' ${fmt(powertools.requestsPerNewMessage, 2)})`;
  return (
    'What limits the throughput ratios here is DynamoDB Local, not round trips: it runs on the same two cores as ' +
    'the bench process (and whatever else runs: see the load average), it is CPU-bound, and its cost follows the ' +
    'items written, transactional items costing it more than plain ones, whatever the number of requests. What ' +
    `Onceflow saves is requests${requests}: on AWS each is a network round trip of several milliseconds and ` +
    'DynamoDB is not the machine the consumer runs on, so batch latency follows round trips. What would lift the ' +
    'ratios toward the targets: measure against DynamoDB in AWS (`npm run bench -- --endpoint <url>`), or give ' +
    'DynamoDB Local cores of its own and add `--injected-latency-ms` to stand in for the network.'
  );
}

/** The README section: tables, chart, and how to read them. Never edited by hand. */
export function renderReadmeSection(
  results: BenchmarkResults,
  links: { chart: string; results: string },
): string {
  const { handlerLevel, environment, pipeline } = results;
  const powertools = handlerLevel.systems.find((system) => system.system === 'powertools');
  const raw = handlerLevel.systems.find((system) => system.system === 'raw-writes');
  const times = (system: SystemSummary, baseline: SystemSummary | undefined) =>
    baseline === undefined ? '—' : `${fmt(system.messagesPerSecond / baseline.messagesPerSecond, 2)}x`;
  const options = handlerLevel.options;
  const lines: string[] = [
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
    '',
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
    `- **WRU per delivery**: on the ${Math.round(options.duplicateShare * 100)}% duplicate stream with a fresh ` +
      'container per batch (every duplicate cold). ' +
      writeUnitsSource(handlerLevel) +
      `Refused writes carry no ConsumedCapacity, so they are estimated: ${REFUSED_WRITE_UNITS} WRU for a failed ` +
      `condition (documented), ${REFUSED_TRANSACTION_WRITE_UNITS_PER_ITEM} WRU per item of a cancelled transaction ` +
      '(an assumption: AWS does not document it).',
    '- **effects exactly once**: the ledger audit after the run; every balance equals the sum of its unique ' +
      "payments, and each account's entry count equals its unique payments.",
    '',
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
    '',
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
      ? throughputLimitNote(handlerLevel)
      : '',
    '',
    '### End-to-end local pipeline',
    '',
    `${pipeline.description}; sending at the offered load for up to ${pipeline.durationSeconds} s. ` +
      'Achieved throughput counts unique payments applied per second from the first send until both stages and ' +
      'the outbox have drained; latency is SQS send to ledger commit, so above the achieved rate it is mostly ' +
      'time spent waiting in the queue.',
    '',
    '| offered msgs/s | achieved msgs/s | send-to-commit p50 / p99 (ms) | consumer RSS (MB) |',
    '| ---: | ---: | ---: | ---: |',
    ...pipeline.measurements.map(
      (m) =>
        `| ${m.offeredPerSecond} | ${dash(m.achievedPerSecond, 0)} | ${dash(m.p50SendToCommitMs, 0)} / ` +
        `${dash(m.p99SendToCommitMs, 0)} | ${dash(m.consumerRssMb, 0)} |`,
    ),
    '',
    pipeline.measurements.every((m) => m.achievedPerSecond === null)
      ? `— ${pipeline.description}.`
      : 'The achieved rate is flat across offered loads: the pipeline is saturated by DynamoDB Local, which uses ' +
        'about 1.3 of the 2 cores here, and each payment costs about 8 item writes across both stages (claim, the ' +
        "ledger's transaction with its outbox item, the relay's delivered mark, the notification's optimistic " +
        'commit). It measures the local stack, not what Onceflow does on AWS.',
    '',
    '### Capacity and cost on AWS',
    '',
    'Modelled from the measured requests and WRU per delivery above (duplicates taken as cold: across hundreds of ' +
      'containers almost none hits a warm cache), at deliveries per second including duplicates.',
    '',
    ...MODELLED_RATES_PER_SECOND.flatMap((rate) => costTable(results.costModel.estimates, rate)),
    refusedWritesNote(handlerLevel),
    '',
    `Assumptions: batches of ${ASSUMPTIONS.batchSize}; ${ASSUMPTIONS.lambdaMemoryMb} MB arm64 functions whose ` +
      'duration is the measured p50 batch latency on DynamoDB Local (pessimistic: a CPU-bound local server, not ' +
      `AWS latency); ${ASSUMPTIONS.sqsRequestsPerMessage} SQS requests per message (SendMessageBatch, ` +
      'ReceiveMessage and DeleteMessageBatch of 10); partitions from ' +
      `${LIMITS.partitionWriteUnitsPerSecond} WRU/s and ${LIMITS.partitionReadUnitsPerSecond} RRU/s each with evenly ` +
      `spread keys; storage of the dedup records only (Onceflow keeps a claim ${ASSUMPTIONS.claimRetentionDays} ` +
      `days, Powertools 1 hour); prices us-east-1 list prices (DynamoDB on demand $${PRICES_USD.dynamoDbPerMillionWriteUnits} ` +
      `per million WRU and $${PRICES_USD.dynamoDbPerMillionReadUnits} per million RRU; Lambda ` +
      `$${PRICES_USD.lambdaPerMillionRequests} per million requests and $${PRICES_USD.lambdaArm64PerGbSecond} per ` +
      `GB-s on arm64; SQS $${PRICES_USD.sqsStandardPerMillionRequests} standard and ` +
      `$${PRICES_USD.sqsFifoPerMillionRequests} FIFO per million requests), which change: check them before relying ` +
      'on a figure.' +
      (results.costModel.estimates.some(
        (estimate) => estimate.lambdaConcurrency > DEFAULT_LAMBDA_CONCURRENCY_QUOTA,
      )
        ? ` Concurrency above ${DEFAULT_LAMBDA_CONCURRENCY_QUOTA.toLocaleString('en-US')}, the default regional ` +
          'quota, needs a quota increase; with AWS latencies instead of a saturated local server the durations, and so ' +
          'the concurrency and the compute cost, would be lower.'
        : ''),
    '',
    `SQS FIFO high-throughput mode allows up to ${LIMITS.fifoHighThroughputTransactionsPerSecondPerAction.toLocaleString('en-US')} ` +
      'transactions per second per API action per queue in us-east-1 (up to ten times that in messages with ' +
      'batches of 10), enough for both rates, but its deduplication covers only identical sends within ' +
      `${LIMITS.fifoDeduplicationWindowSeconds / 60} minutes: a consumer that dies after its writes and before the ` +
      'delete applies them again (the raw-writes rows of the crash table), and one message group is consumed by one ' +
      'invocation at a time, so concurrency needs at least that many active groups.',
  ];
  return lines.join('\n');
}

/** Why the WRU are computed rather than read from DynamoDB Local, with the run's own evidence. */
function writeUnitsSource(handlerLevel: HandlerLevelResult): string {
  const sample = handlerLevel.systems.find((system) => system.system === 'onceflow-optimistic')
    ?.repetitions[0];
  const rules =
    'Successful writes are charged by the documented rules, computed from each request: 1 WRU per started KB of ' +
    'each item written, 2 inside a transaction (every item here is under 1 KB). ';
  if (!handlerLevel.consumedCapacityReported) {
    return `${rules}DynamoDB returned no ConsumedCapacity to compare with. `;
  }
  const evidence =
    sample === undefined
      ? ''
      : ` (optimistic mode here: ${fmt(sample.throughput.reportedWriteUnitsPerDelivery, 2)} reported against ` +
        `${fmt(sample.throughput.computedWriteUnitsPerDelivery, 2)} computed per delivery)`;
  return (
    `${rules}DynamoDB Local does return ConsumedCapacity (the bench adds ReturnConsumedCapacity TOTAL to every ` +
    'request), right for single-item writes but not for a transaction that writes several items of one table, ' +
    `which it reports as 2 units for the table${evidence}; its figure stays in the results file only. `
  );
}

/** How much of each system's WRU rests on the estimate for refused writes, which AWS does not fully document. */
function refusedWritesNote(handlerLevel: HandlerLevelResult): string {
  const shares = handlerLevel.systems
    .filter((system) => system.system !== 'raw-writes')
    .map(
      (system) =>
        `${system.label} ${fmt(system.estimatedRefusedWriteUnitsPerDeliveryColdMixed, 2)} of ` +
        `${fmt(system.writeUnitsPerDeliveryColdMixed, 2)}`,
    );
  return (
    `Of the WRU per delivery, this much is the estimate for refused writes: ${shares.join('; ')}. In optimistic ` +
    'mode a cold duplicate cancels the grouped transaction of its whole batch, and the bench charges every item of ' +
    'it (1 WRU each, an assumption); were cancelled transactions free, optimistic mode would cost that much less. ' +
    'Lease mode refuses a duplicate with one failed conditional UpdateItem (1 WRU, documented).'
  );
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

/** Two panels: handler-level messages/s per system (with p50 batch latency), and the pipeline's achieved rate. */
export function renderChart(results: BenchmarkResults): string {
  const width = 960;
  const height = 400;
  // Room above the tallest bar for its two labels, below the titles.
  const panelTop = 90;
  const panelHeight = 240;
  const systems = results.handlerLevel.systems;
  const maxRate = Math.max(1, ...systems.map((system) => system.messagesPerSecond));
  const scaleMax = niceCeiling(maxRate);
  const barWidth = 70;
  const leftX = 70;
  const colors: Readonly<Record<SystemName, string>> = {
    'onceflow-lease': '#2b6cb0',
    'onceflow-optimistic': '#2f855a',
    powertools: '#b7791f',
    'raw-writes': '#718096',
  };
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${leftX}" y="24" font-size="15" font-weight="bold">Handler level: messages/s (median of ${results.handlerLevel.options.repetitions})</text>`,
    `<text x="${leftX}" y="42" fill="#4a5568">batches of 10, 30% duplicates, DynamoDB Local; label: p50 / p99 batch latency</text>`,
  ];
  for (let tick = 0; tick <= 4; tick++) {
    const value = (scaleMax * tick) / 4;
    const y = panelTop + panelHeight - (panelHeight * tick) / 4;
    parts.push(
      `<line x1="${leftX}" y1="${y}" x2="${leftX + 4 * (barWidth + 30)}" y2="${y}" stroke="#e2e8f0"/>`,
      `<text x="${leftX - 8}" y="${y + 4}" text-anchor="end" fill="#4a5568">${fmtInt(value)}</text>`,
    );
  }
  systems.forEach((system, index) => {
    const x = leftX + 15 + index * (barWidth + 30);
    const barHeight = (panelHeight * system.messagesPerSecond) / scaleMax;
    const y = panelTop + panelHeight - barHeight;
    parts.push(
      `<rect x="${x}" y="${y}" width="${barWidth}" height="${barHeight}" fill="${colors[system.system]}"/>`,
      `<text x="${x + barWidth / 2}" y="${y - 20}" text-anchor="middle" font-weight="bold">${fmtInt(system.messagesPerSecond)}</text>`,
      `<text x="${x + barWidth / 2}" y="${y - 6}" text-anchor="middle" fill="#4a5568">${fmtInt(system.p50BatchMs)} / ${fmtInt(system.p99BatchMs)} ms</text>`,
      ...wrap(system.label, 16).map(
        (line, lineIndex) =>
          `<text x="${x + barWidth / 2}" y="${panelTop + panelHeight + 18 + lineIndex * 14}" text-anchor="middle">${escapeXml(line)}</text>`,
      ),
    );
  });

  const rightX = 560;
  const rightWidth = 360;
  const pipeline = results.pipeline.measurements;
  parts.push(
    `<text x="${rightX}" y="24" font-size="15" font-weight="bold">Pipeline: achieved vs offered msgs/s</text>`,
    `<rect x="${rightX}" y="${panelTop}" width="${rightWidth}" height="${panelHeight}" fill="none" stroke="#cbd5e0"/>`,
  );
  const measured = pipeline.filter(
    (m): m is typeof m & { achievedPerSecond: number } => m.achievedPerSecond !== null,
  );
  if (measured.length === 0) {
    parts.push(
      `<text x="${rightX + rightWidth / 2}" y="${panelTop + panelHeight / 2}" text-anchor="middle" font-size="14" fill="#718096">not measured yet</text>`,
      `<text x="${rightX + rightWidth / 2}" y="${panelTop + panelHeight / 2 + 18}" text-anchor="middle" fill="#718096">the local pipeline is not plugged in</text>`,
    );
  } else {
    const maxOffered = Math.max(...pipeline.map((m) => m.offeredPerSecond));
    const xOf = (value: number) => rightX + (rightWidth * value) / maxOffered;
    const yOf = (value: number) => panelTop + panelHeight - (panelHeight * value) / maxOffered;
    parts.push(
      `<line x1="${xOf(0)}" y1="${yOf(0)}" x2="${xOf(maxOffered)}" y2="${yOf(maxOffered)}" stroke="#cbd5e0" stroke-dasharray="4 4"/>`,
      `<polyline fill="none" stroke="#2f855a" stroke-width="2" points="${measured.map((m) => `${xOf(m.offeredPerSecond)},${yOf(m.achievedPerSecond)}`).join(' ')}"/>`,
      ...measured.map(
        (m) =>
          `<circle cx="${xOf(m.offeredPerSecond)}" cy="${yOf(m.achievedPerSecond)}" r="4" fill="#2f855a"/>` +
          `<text x="${xOf(m.offeredPerSecond)}" y="${yOf(m.achievedPerSecond) - 8}" text-anchor="middle">${fmtInt(m.achievedPerSecond)}</text>`,
      ),
    );
  }
  pipeline.forEach((m) => {
    const x = rightX + ((pipeline.indexOf(m) + 0.5) * rightWidth) / pipeline.length;
    parts.push(
      `<text x="${x}" y="${panelTop + panelHeight + 18}" text-anchor="middle">${m.offeredPerSecond} offered</text>`,
    );
  });
  parts.push('</svg>', '');
  return parts.join('\n');
}

function niceCeiling(value: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) {
    if (step * magnitude >= value) return step * magnitude;
  }
  return 10 * magnitude;
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && `${line} ${word}`.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(line);
  return lines;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function fmt(value: number, digits: number): string {
  if (!Number.isFinite(value)) return '—';
  return round(value, digits).toLocaleString('en-US', { maximumFractionDigits: digits });
}

function fmtInt(value: number): string {
  return fmt(value, 0);
}

function dash(value: number | null, digits: number): string {
  return value === null ? '—' : fmt(value, digits);
}
