import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type ChunkingResults, runChunkingBench } from './chunking-bench.js';

/**
 * `npm run bench:chunking`: FastCDC throughput and dedup on versions of large files with small edits, against
 * fixed-size chunks and whole payloads. Writes bench/results/chunking-<date>.json and the README section between
 * `<!-- chunking:start -->` and `<!-- chunking:end -->`.
 */
const { values } = parseArgs({
  options: {
    'dry-run': { type: 'boolean', default: false },
    readme: { type: 'string', default: fileURLToPath(new URL('../../README.md', import.meta.url)) },
    'results-dir': { type: 'string', default: fileURLToPath(new URL('../results', import.meta.url)) },
  },
});

const startedMs = Date.now();
const results = await runChunkingBench(undefined, (line) =>
  process.stderr.write(`[bench:chunking ${Math.round((Date.now() - startedMs) / 1000)}s] ${line}\n`),
);
const section = renderChunkingSection(results);
if (values['dry-run']) {
  process.stdout.write(`${section}\n`);
} else {
  writeFileSync(
    `${values['results-dir']}/chunking-${results.date}.json`,
    `${JSON.stringify(results, null, 2)}\n`,
  );
  const readme = readFileSync(values.readme, 'utf8');
  const start = '<!-- chunking:start -->';
  const end = '<!-- chunking:end -->';
  const from = readme.indexOf(start);
  const to = readme.indexOf(end);
  if (from < 0 || to < from) throw new Error(`${values.readme} has no ${start} ... ${end} section.`);
  writeFileSync(values.readme, `${readme.slice(0, from + start.length)}\n${section}\n${readme.slice(to)}`);
  process.stderr.write(`wrote ${values.readme} and bench/results/chunking-${results.date}.json\n`);
}

export function renderChunkingSection(r: ChunkingResults): string {
  const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(2)} MiB`;
  const w = r.workload;
  const rows = r.strategies.map(
    (s) =>
      `| ${s.strategy} | ${mib(s.storedBytes)} | ${s.dedupRatio.toFixed(2)} | ${mib(s.uploadedBytesPerMessage)} | ` +
      `${s.putSideRequestsPerMessage.toFixed(1)} | ${s.getRequestsPerMessage.toFixed(1)} | ` +
      `${s.meanChunkBytes === undefined ? 'n/a' : `${Math.round(s.meanChunkBytes / 1024)} KiB`} |`,
  );
  const messages = r.strategies[0]?.messages ?? 0;
  const logical = r.strategies[0]?.logicalBytes ?? 0;
  return [
    `Measured ${r.date} with \`npm run bench:chunking\` on ${r.machine}, beside other jobs. Workload: ${w.files} files ` +
      `of ${mib(w.fileBytes)}, ${w.versionsPerFile} versions each, every version ${w.editsPerVersion} small edits ` +
      '(an insertion, a deletion, an overwrite, 1 to 512 bytes each) from the last, every ' +
      `${w.duplicateEvery}th send sent twice: ${messages} messages, ${mib(logical)} sent. Requests are counted on an ` +
      "in-memory bucket running the producer's own upload code (`offloadPayload`): a HEAD per distinct chunk of a " +
      'message and a PUT per chunk the bucket lacks; the consumer GETs every chunk.',
    '',
    `Chunking throughput (one core): FastCDC boundaries ${r.throughput.cdcMBps.toFixed(0)} MB/s; boundaries + ` +
      `SHA-256 of every chunk ${r.throughput.cdcWithSha256MBps.toFixed(0)} MB/s (SHA-256 alone: ` +
      `${r.throughput.sha256OnlyMBps.toFixed(0)} MB/s).`,
    '',
    '| storage | bytes stored | dedup ratio | uploaded per message | producer S3 requests per message | consumer GETs per message | mean chunk |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
  ].join('\n');
}
