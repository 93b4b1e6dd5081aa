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

/** Right: the pipeline's payments/s flat out, beside its ceiling (bars, the ceiling's height the scale). */
function pipelinePanel(pipeline: PipelineResult): string[] {
  const { panelTop, panelHeight, rightX, rightWidth } = LAYOUT;
  const parts: string[] = [
    `<text x="${rightX}" y="24" font-size="15" font-weight="bold">Local pipeline: payments/s vs its ceiling</text>`,
    `<rect x="${rightX}" y="${panelTop}" width="${rightWidth}" height="${panelHeight}" fill="none" stroke="#cbd5e0"/>`,
  ];
  const { ceilingPerSecond, achievedPerSecond } = pipeline;
  if (ceilingPerSecond === null || achievedPerSecond === null) {
    parts.push(
      `<text x="${rightX + rightWidth / 2}" y="${panelTop + panelHeight / 2}" text-anchor="middle" font-size="14" fill="#718096">not measured yet</text>`,
      `<text x="${rightX + rightWidth / 2}" y="${panelTop + panelHeight / 2 + 18}" text-anchor="middle" fill="#718096">the local pipeline was skipped in this run</text>`,
    );
    return parts;
  }
  const scale = niceCeiling(Math.max(ceilingPerSecond, achievedPerSecond));
  const bars = [
    { label: 'ceiling', value: ceilingPerSecond, color: '#a0aec0' },
    { label: 'npm start', value: achievedPerSecond, color: '#2f855a' },
  ];
  const slot = rightWidth / bars.length;
  bars.forEach((bar, index) => {
    const height = (panelHeight * bar.value) / scale;
    const x = rightX + index * slot + slot * 0.25;
    const y = panelTop + panelHeight - height;
    parts.push(
      `<rect x="${x}" y="${y}" width="${slot * 0.5}" height="${height}" fill="${bar.color}"/>`,
      `<text x="${x + slot * 0.25}" y="${y - 6}" text-anchor="middle">${fmtInt(bar.value)}</text>`,
      `<text x="${x + slot * 0.25}" y="${panelTop + panelHeight + 18}" text-anchor="middle">${bar.label}</text>`,
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
