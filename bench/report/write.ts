import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { renderChart } from './chart.js';
import { renderReadmeSection } from './readme-section.js';
import type { BenchmarkResults } from './results.js';

export const README_START_MARKER = '<!-- performance:start -->';
export const README_END_MARKER = '<!-- performance:end -->';

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
