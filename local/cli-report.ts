/** How `npm start` shows a run: its settings, the progress line while it runs, and the summary and verdict. */

import type { PipelineProgress, PipelineReport, PipelineSettings } from './pipeline/run.js';
import { DYNAMODB_FAULT_KINDS, type DynamoDbFaultKind } from './processes/protocol.js';

/** The progress line never passes this, so a terminal of 80 columns never wraps it. */
export const PROGRESS_COLUMNS = 79;

const FAULT_LABELS: Record<DynamoDbFaultKind, string> = {
  throttle: 'throttle',
  'server-error': '5xx',
  conflict: 'conflict',
  'lost-response': 'lost response',
};

/** The run's settings, echoed before it starts, each line under 80 columns. */
export function describeSettings(settings: PipelineSettings, logFile: string): string[] {
  const s = settings;
  const faults =
    s.crashRate === 0 && s.zombies === 0 && s.dynamoDbFaultRate === 0
      ? ['  faults:   off']
      : [
          `  faults:   kill -9 ${s.crashRate} per 1,000 messages, ${s.zombies} zombie${s.zombies === 1 ? '' : 's'}`,
          `  DynamoDB: ${percent(s.dynamoDbFaultRate)} of requests each: ${DYNAMODB_FAULT_KINDS.map((k) => FAULT_LABELS[k]).join(', ')}`,
        ];
  return [
    `Run: ${s.servers} servers, ${fmt(s.messages)} messages, ${s.mode} mode, seed ${s.seed}${s.soak ? ', soak' : ''}`,
    `  input:    ${percent(s.duplicateRate)} re-sent later, ${s.malformed} malformed`,
    ...faults,
    `  log:      ${logFile}`,
  ];
}

export function printSummary(report: PipelineReport): void {
  const c = report.counts;
  const a = report.audit;
  const faultsInjected = DYNAMODB_FAULT_KINDS.reduce((sum, kind) => sum + c.dynamoDbFaults[kind], 0);
  const sections: [string, [string, string][]][] = [
    [
      'sent by the producer',
      [
        ['unique payments', fmt(report.sent.unique)],
        ['re-sent copies', fmt(report.sent.duplicates)],
        ['malformed', fmt(report.sent.malformed)],
      ],
    ],
    [
      'reported by the servers (a process killed after its work never reports it)',
      [
        ['applied', fmt(c.processed)],
        ['duplicates dropped', fmt(c.duplicatesSuppressed)],
        ['in-flight deferrals', fmt(c.inFlightDeferrals)],
        ['retried', fmt(c.retried)],
        ['takeovers', fmt(c.takeovers)],
        ['zombie commits rejected', fmt(c.zombiesRejected)],
        ['parked', fmt(c.parked)],
        ['outbox items relayed', fmt(c.relayed)],
        ['notifications applied', fmt(c.notificationsProcessed)],
        ['notification copies dropped', fmt(c.notificationsDuplicatesSuppressed)],
        ['send-to-commit p50 / p99', `${ms(report.sendToCommitMs.p50)} / ${ms(report.sendToCommitMs.p99)}`],
      ],
    ],
    [
      'faults injected',
      [
        [
          'kill -9 (seen by npm start)',
          `${fmt(c.crashes)} (${Object.entries(c.crashesByPoint)
            .map(([point, n]) => `${point} ${n}`)
            .join(', ')})`,
        ],
        ['zombies frozen and resumed', fmt(c.zombiesResumed)],
        ['function timeouts (seen by npm start)', fmt(c.functionTimeouts)],
        [
          'DynamoDB (processes report)',
          `${fmt(faultsInjected)} (${DYNAMODB_FAULT_KINDS.map((k) => `${FAULT_LABELS[k]} ${fmt(c.dynamoDbFaults[k])}`).join(', ')})`,
        ],
      ],
    ],
    [
      'found in the tables and queues (the audit)',
      [
        ['payments applied', `${fmt(a.applied)} of ${fmt(a.uniqueMessages)}`],
        ['missing / applied and parked', `${fmt(a.missing.length)} / ${fmt(a.appliedAndParked.length)}`],
        ['valid payments parked', fmt(a.validPaymentsParked.length)],
        ['malformed parked', `${fmt(a.malformedParked)} of ${fmt(a.malformedExpected)}`],
        ['parked without a reason', fmt(a.parkedWithoutReason)],
        ['balances wrong', fmt(a.balanceMismatches.length)],
        [
          'payload hashes checked / wrong',
          `${fmt(a.payloadHashesChecked)} / ${fmt(a.payloadMismatches.length)}`,
        ],
        [
          'notifications missing / twice',
          `${fmt(a.notifications.missing.length)} / ${fmt(a.notifications.appliedTwice.length)}`,
        ],
        ['notification and relay DLQs', `${fmt(a.notificationsParked)} / ${fmt(a.relayParked)}`],
      ],
    ],
    ['the run', runRows(report)],
  ];
  const width = Math.max(...sections.flatMap(([, rows]) => rows.map(([label]) => label.length)));
  for (const [title, rows] of sections) {
    console.log('');
    console.log(`  ${title}`);
    for (const [label, value] of rows) console.log(`    ${label.padEnd(width)}  ${value}`);
  }
  console.log('');
  console.log(verdict(report));
  if (!a.ok) {
    for (const id of a.validPaymentsParked.slice(0, 5)) console.log(`  parked, yet a valid payment: ${id}`);
    for (const m of a.balanceMismatches.slice(0, 5)) {
      console.log(`  ${m.accountId}: balance ${m.balanceCents}, expected ${m.expectedCents}`);
    }
  }
  if (report.logFile !== null) console.log(`Log of the servers and the relay: ${report.logFile}`);
}

function runRows(report: PipelineReport): [string, string][] {
  const m = report.memory;
  const rows: [string, string][] = [
    [
      'elapsed',
      `${(report.elapsedMs / 1000).toFixed(1)} s (processing ${(report.processingMs / 1000).toFixed(1)} s)`,
    ],
    ['throughput', `${fmt(Math.round(report.messagesPerSecond))} msgs/s through both stages`],
  ];
  if (m.servers !== null) {
    rows.push([
      'server RSS first / max / last',
      `${mb(m.servers.firstMb)} / ${mb(m.servers.maxMb)} / ${mb(m.servers.lastMb)} MB`,
    ]);
  }
  if (m.relay !== null) {
    rows.push([
      'relay RSS first / max / last',
      `${mb(m.relay.firstMb)} / ${mb(m.relay.maxMb)} / ${mb(m.relay.lastMb)} MB`,
    ]);
  }
  if (report.options.soak) {
    const f = m.flatness;
    rows.push([
      'memory flat (soak)',
      f === null
        ? 'not judged: too few samples'
        : `${f.flat ? 'yes' : 'NO'}: last-quarter median ${mb(f.lastQuarterMedianMb)} MB, second-quarter ${mb(f.secondQuarterMedianMb)} MB (at most +${f.allowedGrowthPercent}%)`,
    ]);
  }
  return rows;
}

function verdict(report: PipelineReport): string {
  const a = report.audit;
  if (!a.ok) {
    return (
      `AUDIT FAILED: missing ${a.missing.length}, unexpected ${a.unexpected.length}, applied and parked ${a.appliedAndParked.length}, ` +
      `valid payments parked ${a.validPaymentsParked.length}, parked without a reason ${a.parkedWithoutReason}, ` +
      `balance mismatches ${a.balanceMismatches.length}, payload hashes wrong ${a.payloadMismatches.length}, malformed parked ${a.malformedParked}/${a.malformedExpected}, ` +
      `notifications missing ${a.notifications.missing.length}, applied twice ${a.notifications.appliedTwice.length}, ` +
      `unexpected ${a.notifications.unexpected.length}, notification and relay DLQs ${a.notificationsParked}/${a.relayParked}.`
    );
  }
  const passed =
    `AUDIT PASSED: ${fmt(a.applied)} unique payments applied exactly once and none parked, ` +
    `${fmt(a.malformedParked)} malformed parked with a reason, every balance matches, ` +
    'every payment produced exactly one notification.';
  if (report.memoryFlat === false)
    return `${passed}\nMEMORY CHECK FAILED: server RSS grew (see "memory flat" above).`;
  return passed;
}

/**
 * The progress line: the bar and what the servers report, then as many other counts as fit in `columns`.
 * Every count on it comes from the processes' reports, which the line says; the audit at the end reads the tables.
 */
export function progressText(p: PipelineProgress, columns = PROGRESS_COLUMNS): string {
  const fraction = p.expectedProcessed === 0 ? 1 : Math.min(1, p.processed / p.expectedProcessed);
  const width = 10;
  const filled = Math.round(fraction * width);
  const rate = p.elapsedMs > 0 ? Math.round((p.processed / p.elapsedMs) * 1000) : 0;
  const faults = DYNAMODB_FAULT_KINDS.reduce((sum, kind) => sum + p.dynamoDbFaults[kind], 0);
  let line =
    `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% ` +
    `servers report ${fmt(p.processed)}/${fmt(p.expectedProcessed)} applied`;
  const optional = [
    `${fmt(rate)}/s`,
    `kills ${fmt(p.crashes)}`,
    `faults ${fmt(faults)}`,
    p.sent < p.toSend ? `sent ${fmt(p.sent)}/${fmt(p.toSend)}` : `dup ${fmt(p.duplicatesSuppressed)}`,
    `zombies ${fmt(p.zombiesRejected)}`,
  ];
  for (const part of optional) {
    if (line.length + 3 + part.length > columns) break;
    line += ` · ${part}`;
  }
  return line.slice(0, columns);
}

/** A single redrawn line on a terminal; a plain line every few seconds otherwise (CI logs). */
export class ProgressLine {
  private readonly tty = process.stderr.isTTY === true;
  private lastPlainMs = 0;

  update(p: PipelineProgress): void {
    const line = progressText(p, Math.min(PROGRESS_COLUMNS, (process.stderr.columns ?? 80) - 1));
    if (this.tty) {
      process.stderr.write(`\r\x1b[2K${line}`);
    } else if (Date.now() - this.lastPlainMs > 3_000) {
      this.lastPlainMs = Date.now();
      process.stderr.write(`${line}\n`);
    }
  }

  done(): void {
    if (this.tty) process.stderr.write('\n');
  }
}

function percent(fraction: number): string {
  return `${Number((fraction * 100).toFixed(2))}%`;
}

function ms(value: number | null): string {
  return value === null ? '-' : `${fmt(value)} ms`;
}

function mb(value: number): string {
  return value.toFixed(0);
}

function fmt(n: number): string {
  return n.toLocaleString('en-US');
}
