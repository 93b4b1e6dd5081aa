import type { S3Client } from '@aws-sdk/client-s3';
import { S3ChunkStore } from './chunk-store.js';
import type { ChunkingOptions } from './fastcdc.js';
import { encodePayload, type PayloadManifest } from './manifest.js';
import { offloadPayload } from './payload-offload.js';

/**
 * 960 KiB. SQS takes 1 MiB per message (attributes included) and bills every 64 KiB: a body of 15 billing units
 * costs about what one chunk costs in S3 (a HEAD, a PUT and a GET) plus the manifest's one unit, so smaller bodies
 * are cheaper inline; the 64 KiB left under the limit keeps room for message attributes.
 */
export const DEFAULT_LARGE_PAYLOAD_THRESHOLD_BYTES = 1024 * 1024 - 64 * 1024;

/** Where and how a producer stores large payloads. */
export interface LargePayloadWriteOptions {
  readonly s3: S3Client;
  /** The payload bucket (`ExactlyOnceConsumer` `payloadBucket`). */
  readonly bucket: string;
  /** Wire bodies longer than this (in UTF-8 bytes) are sent as a manifest. @default 983_040 (960 KiB) */
  readonly thresholdBytes?: number;
  /** FastCDC sizes. @default 64 KiB min, 256 KiB average, 1 MiB max */
  readonly chunking?: ChunkingOptions;
  /** @default 'chunks/sha256/' */
  readonly keyPrefix?: string;
  /** Chunk checks and uploads in flight at once, per message. @default 8 */
  readonly concurrency?: number;
  /**
   * A chunk already stored longer ago than this is put again, restarting its lifecycle clock. Keep it at most the
   * margin between the bucket's expiration and the lifetime a message needs (the construct checks this).
   * @default 7 days
   */
  readonly chunkReuseMaxAgeMs?: number;
  /** Epoch milliseconds. @default Date.now */
  readonly clock?: () => number;
}

/** Running totals of a producer's large payloads. */
export interface LargePayloadStats {
  payloads: number;
  payloadBytes: number;
  chunks: number;
  chunksUploaded: number;
  bytesUploaded: number;
  s3Requests: number;
}

/** Sends payloads above a threshold to S3 as deduplicated chunks; the producer sends the manifest instead. */
export class LargePayloadWriter {
  readonly stats: LargePayloadStats = {
    payloads: 0,
    payloadBytes: 0,
    chunks: 0,
    chunksUploaded: 0,
    bytesUploaded: 0,
    s3Requests: 0,
  };
  private readonly store: S3ChunkStore;
  private readonly thresholdBytes: number;

  constructor(private readonly options: LargePayloadWriteOptions) {
    this.store = new S3ChunkStore(options.s3, options.bucket);
    this.thresholdBytes = options.thresholdBytes ?? DEFAULT_LARGE_PAYLOAD_THRESHOLD_BYTES;
  }

  /** Bytes always go through S3; JSON when its wire body is above the threshold. */
  wants(payload: unknown, wireBody: string): boolean {
    return payload instanceof Uint8Array || Buffer.byteLength(wireBody, 'utf8') > this.thresholdBytes;
  }

  async offload(payload: unknown): Promise<PayloadManifest> {
    const { bytes, encoding } = encodePayload(payload);
    const { manifest, stats } = await offloadPayload(bytes, encoding, { ...this.options, store: this.store });
    const manifestBytes = Buffer.byteLength(JSON.stringify(manifest), 'utf8');
    if (manifestBytes > this.thresholdBytes) {
      throw new RangeError(
        `A payload of ${bytes.length} bytes needs a manifest of ${manifestBytes} bytes (${manifest.chunks.length} chunks), over the ${this.thresholdBytes}-byte threshold: raise largePayloads.chunking.avgBytes.`,
      );
    }
    this.stats.payloads++;
    this.stats.payloadBytes += bytes.length;
    this.stats.chunks += stats.chunks;
    this.stats.chunksUploaded += stats.chunksUploaded;
    this.stats.bytesUploaded += stats.bytesUploaded;
    this.stats.s3Requests += stats.s3Requests;
    return manifest;
  }
}
