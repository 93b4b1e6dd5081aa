import type { HandlerLevelResult } from '../handler-level/results.js';
import type { SystemName } from '../handler-level/systems.js';
import type { PipelineResult } from '../pipeline/local-pipeline.js';
import { fmtInt } from './format.js';
import type { BenchmarkResults } from './results.js';

/** The canvas and its two panels, in SVG units. */
const LAYOUT = {
  width: 960,
  height: 400,
  // Room above the tallest bar for its two labels, below the titles.
  panelTop: 90,
  panelHeight: 240,
  barWidth: 70,
  leftX: 70,
  rightX: 560,
  rightWidth: 360,
} as const;

const COLORS: Readonly<Record<SystemName, string>> = {
  'onceflow-lease': '#2b6cb0',
  'onceflow-optimistic': '#2f855a',
  powertools: '#b7791f',
  'raw-writes': '#718096',
};

/** Two panels: handler-level messages/s per system (with p50 batch latency), and the pipeline's achieved rate. */
export function renderChart(results: BenchmarkResults): string {
  const { width, height } = LAYOUT;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    ...handlerLevelPanel(results.handlerLevel),
    ...pipelinePanel(results.pipeline),
    '</svg>',
    '',
  ].join('\n');
}

/** Left: one bar per system on a round scale, its rate and batch latencies above it, its name below. */
function handlerLevelPanel(handlerLevel: HandlerLevelResult): string[] {
  const { panelTop, panelHeight, barWidth, leftX } = LAYOUT;
  const systems = handlerLevel.systems;
  const scaleMax = niceCeiling(Math.max(1, ...systems.map((system) => system.messagesPerSecond)));
  const parts: string[] = [
    `<text x="${leftX}" y="24" font-size="15" font-weight="bold">Handler level: messages/s (median of ${handlerLevel.options.repetitions})</text>`,
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
      `<rect x="${x}" y="${y}" width="${barWidth}" height="${barHeight}" fill="${COLORS[system.system]}"/>`,
      `<text x="${x + barWidth / 2}" y="${y - 20}" text-anchor="middle" font-weight="bold">${fmtInt(system.messagesPerSecond)}</text>`,
      `<text x="${x + barWidth / 2}" y="${y - 6}" text-anchor="middle" fill="#4a5568">${fmtInt(system.p50BatchMs)} / ${fmtInt(system.p99BatchMs)} ms</text>`,
      ...wrap(system.label, 16).map(
        (line, lineIndex) =>
          `<text x="${x + barWidth / 2}" y="${panelTop + panelHeight + 18 + lineIndex * 14}" text-anchor="middle">${escapeXml(line)}</text>`,
      ),
    );
  });
  return parts;
}

/** Right: achieved against offered rate, the diagonal where the two are equal, the offered loads below. */
function pipelinePanel(pipeline: PipelineResult): string[] {
  const { panelTop, panelHeight, rightX, rightWidth } = LAYOUT;
  const measurements = pipeline.measurements;
  const parts: string[] = [
    `<text x="${rightX}" y="24" font-size="15" font-weight="bold">Pipeline: achieved vs offered msgs/s</text>`,
    `<rect x="${rightX}" y="${panelTop}" width="${rightWidth}" height="${panelHeight}" fill="none" stroke="#cbd5e0"/>`,
  ];
  const measured = measurements.filter(
    (m): m is typeof m & { achievedPerSecond: number } => m.achievedPerSecond !== null,
  );
  if (measured.length === 0) {
    parts.push(
      `<text x="${rightX + rightWidth / 2}" y="${panelTop + panelHeight / 2}" text-anchor="middle" font-size="14" fill="#718096">not measured yet</text>`,
      `<text x="${rightX + rightWidth / 2}" y="${panelTop + panelHeight / 2 + 18}" text-anchor="middle" fill="#718096">the local pipeline was skipped in this run</text>`,
    );
  } else {
    const maxOffered = Math.max(...measurements.map((m) => m.offeredPerSecond));
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
  measurements.forEach((m, index) => {
    const x = rightX + ((index + 0.5) * rightWidth) / measurements.length;
    parts.push(
      `<text x="${x}" y="${panelTop + panelHeight + 18}" text-anchor="middle">${m.offeredPerSecond} offered</text>`,
    );
  });
  return parts;
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
