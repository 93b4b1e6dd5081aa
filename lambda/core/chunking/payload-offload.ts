import { createHash } from 'node:crypto';
import pLimit from 'p-limit';
import type { S3ChunkStore } from './chunk-store.js';
import { type ChunkingOptions, chunkBoundaries, DEFAULT_CHUNKING } from './fastcdc.js';
import {
  DEFAULT_CHUNK_KEY_PREFIX,
  MANIFEST_MARKER,
  type ManifestChunk,
  type PayloadManifest,
} from './manifest.js';

/** How one payload went to S3: what the bench and the producer's counters add up. */
export interface OffloadStats {
  readonly chunks: number;
  /** Chunks put this time (absent, or old enough to need their lifetime renewed). */
  readonly chunksUploaded: number;
  readonly bytesUploaded: number;
  /** HEAD + PUT requests. */
  readonly s3Requests: number;
}

export interface OffloadOptions {
  /** Where chunks go: S3 (`S3ChunkStore`), or a counting store in the bench. */
  readonly store: Pick<S3ChunkStore, 'bucket' | 'presence' | 'put'>;
  readonly keyPrefix?: string;
  readonly chunking?: ChunkingOptions;
  /** Chunk uploads (and existence checks) in flight at once. @default 8 */
  readonly concurrency?: number;
  /**
   * An existing chunk older than this is put again, which restarts its lifecycle clock: a message sent now must
   * find every chunk for the whole lifetime the bucket promises after the send. @default 7 days
   */
  readonly chunkReuseMaxAgeMs?: number;
  /** Epoch milliseconds. @default Date.now */
  readonly clock?: () => number;
  readonly abortSignal?: AbortSignal;
}

/** Seven days: the margin the construct adds to the bucket's expiration (`LARGE_PAYLOAD_DEFAULTS`). */
export const DEFAULT_CHUNK_REUSE_MAX_AGE_MS = 7 * 24 * 60 * 60 * 1000;

/**
 * Cuts `bytes` with FastCDC, uploads the chunks the bucket does not already hold, and returns the manifest that
 * lists them in order. A chunk listed twice in one payload is checked and uploaded once.
 */
export async function offloadPayload(
  bytes: Uint8Array,
  encoding: PayloadManifest['encoding'],
  options: OffloadOptions,
): Promise<{ manifest: PayloadManifest; stats: OffloadStats }> {
  const { store } = options;
  const keyPrefix = options.keyPrefix ?? DEFAULT_CHUNK_KEY_PREFIX;
  const clock = options.clock ?? Date.now;
  const maxAgeMs = options.chunkReuseMaxAgeMs ?? DEFAULT_CHUNK_REUSE_MAX_AGE_MS;
  const chunks: ManifestChunk[] = [];
  const distinct = new Map<string, Uint8Array>();
  for (const [offset, length] of chunkBoundaries(bytes, options.chunking ?? DEFAULT_CHUNKING)) {
    const chunk = bytes.subarray(offset, offset + length);
    const sha256 = createHash('sha256').update(chunk).digest('hex');
    chunks.push({ sha256, sizeBytes: length });
    if (!distinct.has(sha256)) distinct.set(sha256, chunk);
  }
  const limit = pLimit(options.concurrency ?? 8);
  let chunksUploaded = 0;
  let bytesUploaded = 0;
  let s3Requests = 0;
  await Promise.all(
    [...distinct].map(([sha256, chunk]) =>
      limit(async () => {
        const key = `${keyPrefix}${sha256}`;
        const presence = await store.presence(key, options.abortSignal);
        s3Requests++;
        const fresh = presence.exists && clock() - presence.lastModifiedMs <= maxAgeMs;
        if (fresh) return;
        await store.put(key, chunk, {
          overwrite: presence.exists,
          ...(options.abortSignal === undefined ? {} : { abortSignal: options.abortSignal }),
        });
        s3Requests++;
        chunksUploaded++;
        bytesUploaded += chunk.length;
      }),
    ),
  );
  const manifest: PayloadManifest = {
    onceflow: MANIFEST_MARKER,
    bucket: store.bucket,
    keyPrefix,
    encoding,
    sizeBytes: bytes.length,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    chunks,
  };
  return { manifest, stats: { chunks: chunks.length, chunksUploaded, bytesUploaded, s3Requests } };
}
