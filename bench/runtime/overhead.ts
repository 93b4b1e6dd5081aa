import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { build } from 'esbuild';
import { LOCAL_AWS_CONFIG } from 'onceflow/testing';
import { ledgerHandler } from '../../lambda/app/ledger.js';
import { median } from '../../local/support/stats.js';
import { type Container, onceflowContainer, powertoolsContainer } from '../handler-level/containers.js';
import { buildWorkload } from '../handler-level/workload.js';

export type RuntimeSystem = 'onceflow-lease' | 'onceflow-optimistic' | 'powertools';
const RUNTIME_SYSTEMS: readonly RuntimeSystem[] = ['onceflow-lease', 'onceflow-optimistic', 'powertools'];

export interface RuntimeOverheadResult {
  readonly batches: number;
  readonly repetitions: number;
  /** Node CPU (user + system) per message, every DynamoDB request answered at once in process. */
  readonly cpuMsPerMessage: Readonly<Record<RuntimeSystem, number>>;
  readonly coldStart: {
    /** Bytes of each bundle, built with the settings ExactlyOnceConsumer bundles with. */
    readonly bundleBytes: { readonly onceflow: number; readonly powertools: number };
    /** Median milliseconds to import the bundle in a fresh Node process (its init phase). */
    readonly initMs: { readonly onceflow: number; readonly powertools: number };
    readonly starts: number;
  };
}

/**
 * A DynamoDB client whose every request is answered at once in process, after the SDK has built and signed it and
 * before it would leave the machine: the SDK's own work stays in, the network and the server are out. Every write
 * succeeds; a batch read finds nothing.
 */
function instantDynamoDb(): DynamoDBClient {
  return new DynamoDBClient({
    ...LOCAL_AWS_CONFIG,
    endpoint: 'http://127.0.0.1:9',
    requestHandler: {
      handle: async (request: { headers: Record<string, string> }) => {
        const operation = request.headers['x-amz-target']?.split('.')[1];
        const body = operation === 'BatchGetItem' ? '{"Responses":{},"UnprocessedKeys":{}}' : '{}';
        return {
          response: {
            statusCode: 200,
            headers: { 'content-type': 'application/x-amz-json-1.0' },
            body: Buffer.from(body),
          },
        };
      },
    },
  });
}

function container(system: RuntimeSystem): Container {
  const dynamoDb = instantDynamoDb();
  const documentClient = DynamoDBDocumentClient.from(dynamoDb, {
    marshallOptions: { removeUndefinedValues: true },
  });
  const tables = { accountsTableName: 'accounts', entriesTableName: 'entries' };
  if (system === 'powertools') {
    return powertoolsContainer({
      tables,
      sideEffect: undefined,
      tableName: 'idempotency',
      dynamoDb,
      documentClient,
      remainingTimeMs: 60_000,
    });
  }
  return onceflowContainer(ledgerHandler(tables), {
    tableName: 'claims',
    documentClient,
    mode: system === 'onceflow-lease' ? 'lease' : 'optimistic',
    clock: undefined,
  });
}

/** CPU per message of each runtime on the same stream of new messages, interleaved, median of the repetitions. */
async function measureCpu(batches: number, repetitions: number): Promise<Record<RuntimeSystem, number>> {
  const samples = new Map<RuntimeSystem, number[]>();
  const containers = new Map(RUNTIME_SYSTEMS.map((system) => [system, container(system)]));
  const stream = (prefix: string) =>
    buildWorkload({ uniqueMessages: batches * 10, duplicateShare: 0, idPrefix: prefix }).batches;
  for (const [system, run] of containers) for (const batch of stream(`warm-${system}`)) await run(batch);
  for (let repetition = 0; repetition < repetitions; repetition++) {
    for (let index = 0; index < RUNTIME_SYSTEMS.length; index++) {
      const system = RUNTIME_SYSTEMS[(index + repetition) % RUNTIME_SYSTEMS.length] ?? 'powertools';
      const run = containers.get(system);
      if (run === undefined) continue;
      const events = stream(`r${repetition}-${system}`);
      const started = process.cpuUsage();
      for (const batch of events) await run(batch);
      const used = process.cpuUsage(started);
      samples.set(system, [
        ...(samples.get(system) ?? []),
        (used.user + used.system) / 1000 / (batches * 10),
      ]);
    }
  }
  return {
    'onceflow-lease': median(samples.get('onceflow-lease') ?? []),
    'onceflow-optimistic': median(samples.get('onceflow-optimistic') ?? []),
    powertools: median(samples.get('powertools') ?? []),
  };
}

/** Bundles both entries as ExactlyOnceConsumer does (ESM, node22, AWS SDK included) and times their import. */
async function measureColdStart(starts: number): Promise<RuntimeOverheadResult['coldStart']> {
  const directory = await mkdtemp(join(tmpdir(), 'onceflow-cold-start-'));
  try {
    const bundle = async (name: 'onceflow' | 'powertools') => {
      const outfile = join(directory, `${name}.mjs`);
      await build({
        entryPoints: [fileURLToPath(new URL(`${name}-entry.ts`, import.meta.url))],
        outfile,
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node22',
        mainFields: ['module', 'main'],
        keepNames: true,
        logLevel: 'silent',
        banner: {
          js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
        },
      });
      return outfile;
    };
    const files = { onceflow: await bundle('onceflow'), powertools: await bundle('powertools') };
    const initMs = { onceflow: [] as number[], powertools: [] as number[] };
    for (let start = 0; start < starts; start++) {
      for (const name of start % 2 === 0
        ? (['onceflow', 'powertools'] as const)
        : (['powertools', 'onceflow'] as const)) {
        initMs[name].push(timeImport(files[name]));
      }
    }
    return {
      bundleBytes: {
        onceflow: (await stat(files.onceflow)).size,
        powertools: (await stat(files.powertools)).size,
      },
      initMs: { onceflow: median(initMs.onceflow), powertools: median(initMs.powertools) },
      starts,
    };
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

/** Milliseconds a fresh Node process takes to import the bundle (Lambda's init phase for it), timed inside it. */
function timeImport(file: string): number {
  const script = `const t = performance.now(); await import(${JSON.stringify(file)}); process.stdout.write(String(performance.now() - t));`;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: { ...process.env, AWS_REGION: 'us-east-1' },
  });
  const ms = Number(result.stdout);
  if (result.status !== 0 || !Number.isFinite(ms))
    throw new Error(`importing ${file} failed: ${result.stderr.trim()}`);
  return ms;
}

/**
 * Part D: the runtime's own cost, with DynamoDB out of the picture. CPU per message of Onceflow (both modes) and of
 * Powertools' makeIdempotent + BatchProcessor on the same stream, every request answered at once; and the cold
 * start of a minimal consumer of each, bundled the same way: bundle size and the time to import it.
 */
export async function measureRuntimeOverhead(options: {
  readonly batches: number;
  readonly repetitions: number;
  readonly starts: number;
  readonly progress: (line: string) => void;
}): Promise<RuntimeOverheadResult> {
  options.progress(
    `runtime overhead: ${options.batches} batches of 10 per system, DynamoDB answering at once`,
  );
  const cpuMsPerMessage = await measureCpu(options.batches, options.repetitions);
  options.progress(`cold start: bundling both consumers and importing each ${options.starts} times`);
  const coldStart = await measureColdStart(options.starts);
  return { batches: options.batches, repetitions: options.repetitions, cpuMsPerMessage, coldStart };
}
