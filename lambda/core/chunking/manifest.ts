import { PayloadCorruptError } from '../errors.js';

/** The value of a manifest's `onceflow` key: what tells a manifest from any other payload. */
export const MANIFEST_MARKER = 'large-payload/v1';

/** One chunk of a large payload: its SHA-256 (hex, its S3 key's last part) and its length. */
export interface ManifestChunk {
  readonly sha256: string;
  readonly sizeBytes: number;
}

/**
 * What the SQS message carries as its `payload` in place of a payload above the producer's threshold: where the
 * chunks are, their order, and the hashes to check them against. `encoding` says how the bytes become the payload
 * again: `json` (the payload was a JSON value) or `bytes` (it was a `Uint8Array`).
 */
export interface PayloadManifest {
  readonly onceflow: typeof MANIFEST_MARKER;
  readonly bucket: string;
  /** Chunk keys are `${keyPrefix}${sha256}`. */
  readonly keyPrefix: string;
  readonly encoding: 'json' | 'bytes';
  readonly sizeBytes: number;
  /** SHA-256 (hex) of the whole payload's bytes. */
  readonly sha256: string;
  readonly chunks: readonly ManifestChunk[];
}

/** Where chunks live in the bucket: content-addressed, so one key always holds the same bytes. */
export const DEFAULT_CHUNK_KEY_PREFIX = 'chunks/sha256/';

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** True when a payload is a manifest (it carries the marker); `readManifest` then checks the rest. */
export function isPayloadManifest(payload: unknown): boolean {
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) return false;
  return Object.hasOwn(payload, 'onceflow') && Reflect.get(payload, 'onceflow') === MANIFEST_MARKER;
}

/** Checks a manifest's shape; throws PayloadCorruptError saying what is wrong. */
export function readManifest(payload: unknown): PayloadManifest {
  if (!isPayloadManifest(payload) || payload === null || typeof payload !== 'object') {
    throw new PayloadCorruptError(`large-payload manifest has no "onceflow": "${MANIFEST_MARKER}" marker.`);
  }
  const fields: Record<string, unknown> = { ...payload };
  const { bucket, keyPrefix, encoding, sizeBytes, sha256, chunks } = fields;
  const problem = (what: string) => new PayloadCorruptError(`large-payload manifest is invalid: ${what}.`);
  if (typeof bucket !== 'string' || bucket === '') throw problem('bucket must be a non-empty string');
  if (typeof keyPrefix !== 'string') throw problem('keyPrefix must be a string');
  if (encoding !== 'json' && encoding !== 'bytes') throw problem('encoding must be "json" or "bytes"');
  if (!isSize(sizeBytes)) throw problem('sizeBytes must be a non-negative integer');
  if (typeof sha256 !== 'string' || !SHA256_HEX.test(sha256))
    throw problem('sha256 must be 64 hex characters');
  if (!Array.isArray(chunks)) throw problem('chunks must be an array');
  const read: ManifestChunk[] = [];
  let totalBytes = 0;
  for (const [index, chunk] of chunks.entries()) {
    const entry: Record<string, unknown> = chunk !== null && typeof chunk === 'object' ? { ...chunk } : {};
    if (typeof entry.sha256 !== 'string' || !SHA256_HEX.test(entry.sha256) || !isSize(entry.sizeBytes)) {
      throw problem(`chunk ${index} must be { sha256: 64 hex characters, sizeBytes: integer }`);
    }
    read.push({ sha256: entry.sha256, sizeBytes: entry.sizeBytes });
    totalBytes += entry.sizeBytes;
  }
  if (totalBytes !== sizeBytes)
    throw problem(`its chunks add up to ${totalBytes} bytes, not sizeBytes ${sizeBytes}`);
  return { onceflow: MANIFEST_MARKER, bucket, keyPrefix, encoding, sizeBytes, sha256, chunks: read };
}

function isSize(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** A payload's bytes and how to read them back. */
export function encodePayload(payload: unknown): {
  bytes: Uint8Array;
  encoding: PayloadManifest['encoding'];
} {
  if (payload instanceof Uint8Array) return { bytes: payload, encoding: 'bytes' };
  return { bytes: Buffer.from(JSON.stringify(payload) ?? 'null', 'utf8'), encoding: 'json' };
}

/** The payload again, from the bytes a manifest describes. */
export function decodePayload(bytes: Buffer, encoding: PayloadManifest['encoding']): unknown {
  if (encoding === 'bytes') return bytes;
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new PayloadCorruptError('large payload is not the JSON its manifest says it is.', { cause: error });
  }
}
