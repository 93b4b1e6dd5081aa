/** How `npm start` shows a run: the progress line while it runs, and the summary and audit verdict at the end. */
import type { PipelineProgress, PipelineReport } from './pipeline/run.js';

export function printSummary(report: PipelineReport): void {
  const c = report.counts;
  const rows: [string, string][] = [
    ['unique messages sent', fmt(report.sent.unique)],
    ['re-sent duplicates', fmt(report.sent.duplicates)],
    ['malformed sent', fmt(report.sent.malformed)],
    ['processed (applied)', fmt(c.processed)],
    ['duplicates suppressed', fmt(c.duplicatesSuppressed)],
    ['in-flight deferrals', fmt(c.inFlightDeferrals)],
    ['takeovers', fmt(c.takeovers)],
    ['zombie commits rejected', fmt(c.zombiesRejected)],
    ['parked in the DLQ', fmt(c.parked)],
    ['outbox items relayed', fmt(c.relayed)],
    ['notifications applied', fmt(c.notificationsProcessed)],
    ['notification copies dropped', fmt(c.notificationsDuplicatesSuppressed)],
    [
      'servers killed (-9)',
      `${fmt(c.crashes)} (${Object.entries(c.crashesByPoint)
        .map(([point, n]) => `${point} ${n}`)
        .join(', ')})`,
    ],
    [
      'elapsed',
      `${(report.elapsedMs / 1000).toFixed(1)} s (processing ${(report.processingMs / 1000).toFixed(1)} s)`,
    ],
    ['throughput', `${fmt(Math.round(report.messagesPerSecond))} msgs/s through both stages`],
    [
      'send-to-commit p50 / p99',
      `${report.sendToCommitMs.p50 ?? '-'} ms / ${report.sendToCommitMs.p99 ?? '-'} ms`,
    ],
    ['server peak RSS', `${report.serverPeakRssMb.toFixed(0)} MB`],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  console.log('');
  for (const [label, value] of rows) console.log(`  ${label.padEnd(width)}  ${value}`);
  const a = report.audit;
  console.log('');
  console.log(
    a.ok
      ? `AUDIT PASSED: ${fmt(a.applied)} unique messages applied exactly once, ${fmt(a.malformedParked)} malformed parked with a reason, every balance matches, every payment produced exactly one notification.`
      : `AUDIT FAILED: missing ${a.missing.length}, unexpected ${a.unexpected.length}, applied and parked ${a.appliedAndParked.length}, ` +
          `balance mismatches ${a.balanceMismatches.length}, malformed parked ${a.malformedParked}/${a.malformedExpected}, ` +
          `notifications missing ${a.notifications.missing.length}, applied twice ${a.notifications.appliedTwice.length}, unexpected ${a.notifications.unexpected.length}.`,
  );
  if (!a.ok) {
    for (const m of a.balanceMismatches.slice(0, 5)) {
      console.log(`  ${m.accountId}: balance ${m.balanceCents}, expected ${m.expectedCents}`);
    }
  }
  console.log(`Server logs: ${report.logFile}`);
}

/** A single redrawn line on a terminal; a plain line every few seconds otherwise (CI logs). */
export class ProgressLine {
  private readonly tty = process.stderr.isTTY === true;
  private lastPlainMs = 0;

  update(p: PipelineProgress): void {
    const fraction = p.expectedProcessed === 0 ? 1 : Math.min(1, p.processed / p.expectedProcessed);
    const width = 24;
    const filled = Math.round(fraction * width);
    const rate = p.elapsedMs > 0 ? Math.round((p.processed / p.elapsedMs) * 1000) : 0;
    const line =
      `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% ` +
      `${fmt(p.processed)}/${fmt(p.expectedProcessed)} · ${fmt(rate)} msg/s · sent ${fmt(p.sent)}/${fmt(p.toSend)} · ` +
      `dup ${fmt(p.duplicatesSuppressed)} · takeovers ${p.takeovers} · zombies ${p.zombiesRejected} · ` +
      `parked ${p.parked} · kills ${p.crashes}`;
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

function fmt(n: number): string {
  return n.toLocaleString('en-US');
}
