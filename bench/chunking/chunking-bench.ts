import { createHash } from 'node:crypto';
import { cpus } from 'node:os';
import type { ChunkPresence } from '../../lambda/core/chunking/chunk-store.js';
import {
  type ChunkingOptions,
  chunkBoundaries,
  DEFAULT_CHUNKING,
  fixedBoundaries,
} from '../../lambda/core/chunking/fastcdc.js';
import { offloadPayload } from '../../lambda/core/chunking/payload-offload.js';

/** The workload: versions of large files, each a few small edits (insertions shift every later byte) from the last. */
export interface ChunkingWorkload {
  readonly files: number;
  readonly fileBytes: number;
  readonly versionsPerFile: number;
  readonly editsPerVersion: number;
  /** Every n-th send is sent twice (a producer retry): a duplicate send. */
  readonly duplicateEvery: number;
}

export const DEFAULT_WORKLOAD: ChunkingWorkload = {
  files: 3,
  fileBytes: 8 * 1024 * 1024,
  versionsPerFile: 10,
  editsPerVersion: 3,
  duplicateEvery: 5,
};

/** One way of storing payloads, and what the workload cost it. */
export interface StrategyResult {
  readonly strategy: string;
  readonly messages: number;
  readonly logicalBytes: number;
  /** Distinct bytes the bucket ends up holding. */
  readonly storedBytes: number;
  /** logicalBytes / storedBytes. */
  readonly dedupRatio: number;
  readonly uploadedBytesPerMessage: number;
  /** Producer requests (HEAD + PUT) per message. */
  readonly putSideRequestsPerMessage: number;
  /** Consumer GETs per message. */
  readonly getRequestsPerMessage: number;
  readonly meanChunkBytes: number | undefined;
}

export interface ChunkingResults {
  readonly date: string;
  readonly machine: string;
  readonly workload: ChunkingWorkload;
  /** Boundaries only, and boundaries + SHA-256 of every chunk, in MB/s (10^6 bytes) over the whole workload. */
  readonly throughput: {
    readonly cdcMBps: number;
    readonly cdcWithSha256MBps: number;
    readonly sha256OnlyMBps: number;
  };
  readonly strategies: readonly StrategyResult[];
}

/** A deterministic generator (xorshift32), so every run measures the same bytes. */
function rng(seed: number) {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

function randomBytes(lengthBytes: number, next: () => number): Buffer {
  const out = Buffer.allocUnsafe(lengthBytes);
  for (let index = 0; index < lengthBytes; index++) out[index] = (next() * 256) | 0;
  return out;
}

/** Every message of the workload in send order: each file's versions, some sent twice. */
export function workloadMessages(workload: ChunkingWorkload): Buffer[] {
  const next = rng(13);
  const messages: Buffer[] = [];
  let sends = 0;
  for (let file = 0; file < workload.files; file++) {
    let version = randomBytes(workload.fileBytes, next);
    for (let v = 0; v < workload.versionsPerFile; v++) {
      if (v > 0) {
        for (let edit = 0; edit < workload.editsPerVersion; edit++) {
          const at = Math.floor(next() * version.length);
          const kind = edit % 3;
          const size = 1 + Math.floor(next() * 512);
          if (kind === 0)
            version = Buffer.concat([version.subarray(0, at), randomBytes(size, next), version.subarray(at)]);
          else if (kind === 1)
            version = Buffer.concat([version.subarray(0, at), version.subarray(at + size)]);
          else
            version = Buffer.concat([
              version.subarray(0, at),
              randomBytes(size, next),
              version.subarray(at + size),
            ]);
        }
      }
      messages.push(version);
      if (++sends % workload.duplicateEvery === 0) messages.push(version);
    }
  }
  return messages;
}

/** A bucket in memory that counts what the producer's own code (`offloadPayload`) asks of it. */
class CountingStore {
  readonly bucket = 'bench';
  readonly objects = new Map<string, number>();
  heads = 0;
  puts = 0;
  uploadedBytes = 0;

  async presence(key: string): Promise<ChunkPresence> {
    this.heads++;
    return this.objects.has(key) ? { exists: true, lastModifiedMs: Date.now() } : { exists: false };
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    this.puts++;
    this.uploadedBytes += bytes.length;
    this.objects.set(key, bytes.length);
  }

  get storedBytes(): number {
    let sum = 0;
    for (const size of this.objects.values()) sum += size;
    return sum;
  }
}

async function contentDefined(name: string, messages: readonly Buffer[], chunking: ChunkingOptions) {
  const store = new CountingStore();
  let chunks = 0;
  for (const message of messages) {
    const { stats } = await offloadPayload(message, 'bytes', { store, chunking, concurrency: 1 });
    chunks += stats.chunks;
  }
  return summarize(name, messages, store, chunks);
}

/** Fixed-size chunks through the same content-addressed store: what CDC is compared with. */
function fixedSize(name: string, messages: readonly Buffer[], sizeBytes: number) {
  const store = new CountingStore();
  let chunks = 0;
  for (const message of messages) {
    const seen = new Set<string>();
    for (const [offset, length] of fixedBoundaries(message, sizeBytes)) {
      const chunk = message.subarray(offset, offset + length);
      const key = createHash('sha256').update(chunk).digest('hex');
      chunks++;
      if (seen.has(key)) continue;
      seen.add(key);
      store.heads++;
      if (!store.objects.has(key)) {
        store.puts++;
        store.uploadedBytes += length;
        store.objects.set(key, length);
      }
    }
  }
  return summarize(name, messages, store, chunks);
}

/** The claim-check packages: each send stored whole under a random key, one PUT and one GET per message. */
function wholePayloads(messages: readonly Buffer[]): StrategyResult {
  const logicalBytes = messages.reduce((sum, m) => sum + m.length, 0);
  return {
    strategy: 'whole payload per message (random key)',
    messages: messages.length,
    logicalBytes,
    storedBytes: logicalBytes,
    dedupRatio: 1,
    uploadedBytesPerMessage: logicalBytes / messages.length,
    putSideRequestsPerMessage: 1,
    getRequestsPerMessage: 1,
    meanChunkBytes: undefined,
  };
}

function summarize(
  strategy: string,
  messages: readonly Buffer[],
  store: CountingStore,
  chunks: number,
): StrategyResult {
  const logicalBytes = messages.reduce((sum, m) => sum + m.length, 0);
  return {
    strategy,
    messages: messages.length,
    logicalBytes,
    storedBytes: store.storedBytes,
    dedupRatio: logicalBytes / store.storedBytes,
    uploadedBytesPerMessage: store.uploadedBytes / messages.length,
    putSideRequestsPerMessage: (store.heads + store.puts) / messages.length,
    getRequestsPerMessage: chunks / messages.length,
    meanChunkBytes: logicalBytes / chunks,
  };
}

/** The best of `runs` timings of `work` over `bytes`, in MB/s. */
function throughputMBps(bytes: number, runs: number, work: () => void): number {
  let bestMs = Number.POSITIVE_INFINITY;
  for (let run = 0; run < runs; run++) {
    const startedMs = performance.now();
    work();
    bestMs = Math.min(bestMs, performance.now() - startedMs);
  }
  return bytes / 1e6 / (bestMs / 1000);
}

export const SMALL_CHUNKING: ChunkingOptions = {
  minBytes: 16 * 1024,
  avgBytes: 64 * 1024,
  maxBytes: 256 * 1024,
};

/** Runs the whole chunking bench; `progress` gets a line per step. */
export async function runChunkingBench(
  workload: ChunkingWorkload = DEFAULT_WORKLOAD,
  progress: (line: string) => void = () => undefined,
): Promise<ChunkingResults> {
  progress('building the workload');
  const messages = workloadMessages(workload);
  const distinct = [...new Set(messages)];
  const distinctBytes = distinct.reduce((sum, m) => sum + m.length, 0);
  progress('measuring throughput');
  const throughput = {
    cdcMBps: throughputMBps(distinctBytes, 3, () => {
      for (const message of distinct) for (const _ of chunkBoundaries(message, DEFAULT_CHUNKING));
    }),
    cdcWithSha256MBps: throughputMBps(distinctBytes, 3, () => {
      for (const message of distinct) {
        for (const [offset, length] of chunkBoundaries(message, DEFAULT_CHUNKING)) {
          createHash('sha256')
            .update(message.subarray(offset, offset + length))
            .digest();
        }
      }
    }),
    sha256OnlyMBps: throughputMBps(distinctBytes, 3, () => {
      for (const message of distinct) createHash('sha256').update(message).digest();
    }),
  };
  progress('storing the workload four ways');
  const strategies = [
    await contentDefined('FastCDC 64 KiB / 256 KiB / 1 MiB (default)', messages, DEFAULT_CHUNKING),
    await contentDefined('FastCDC 16 KiB / 64 KiB / 256 KiB', messages, SMALL_CHUNKING),
    fixedSize('fixed 256 KiB chunks, content-addressed', messages, 256 * 1024),
    wholePayloads(messages),
  ];
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  return {
    date: new Date().toISOString().slice(0, 10),
    machine: `${cpus().length} cores, ${cpu}, Node ${process.version}`,
    workload,
    throughput,
    strategies,
  };
}
