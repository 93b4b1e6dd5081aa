import { createHash } from 'node:crypto';

/**
 * FastCDC content-defined chunking (Xia et al., "FastCDC: a Fast and Efficient Content-Defined Chunking Approach
 * for Data Deduplication", USENIX ATC 2016): a Gear rolling hash, cut-point skipping below the minimum size, and
 * normalized chunking (a harder mask before the average size, an easier one after it), so chunk sizes gather
 * around the average.
 *
 * Differences from the paper, both on purpose: the fingerprint is 32 bits, not 64, so the loop stays in integer
 * arithmetic in JavaScript; and the masks test the fingerprint's top bits, each of which depends on the last 32
 * bytes (the paper pads its masks with zeros for the same reason: a wider window than the low bits give). The
 * Gear table and the masks are fixed: chunk boundaries, and so chunk keys, never change between versions.
 */

/** Chunk size bounds in bytes. `minBytes <= avgBytes <= maxBytes`; `avgBytes` a power of two. */
export interface ChunkingOptions {
  readonly minBytes: number;
  readonly avgBytes: number;
  readonly maxBytes: number;
  /** Normalization level (the paper's NC): bits added before the average and removed after it. @default 2 */
  readonly normalization?: number;
}

/** 256 KiB average: large enough that S3 request costs stay low, small enough that an edit re-uploads little. */
export const DEFAULT_CHUNKING: ChunkingOptions = {
  minBytes: 64 * 1024,
  avgBytes: 256 * 1024,
  maxBytes: 1024 * 1024,
  normalization: 2,
};

/** Gear table: 256 fixed pseudo-random 32-bit values, from SHA-256 so anyone can recompute them. */
export const GEAR: Uint32Array = (() => {
  const table = new Uint32Array(256);
  for (let index = 0; index < 256; index++) {
    table[index] = createHash('sha256').update(`onceflow-fastcdc-gear-${index}`).digest().readUInt32BE(0);
  }
  return table;
})();

/** A mask of `bits` one-bits at the top of a 32-bit word. */
function topMask(bits: number): number {
  const clamped = Math.max(1, Math.min(31, bits));
  return ~((1 << (32 - clamped)) - 1) >>> 0;
}

/** Checks the options; throws a RangeError that says which bound is wrong. */
export function checkChunkingOptions(options: ChunkingOptions): void {
  const { minBytes, avgBytes, maxBytes } = options;
  for (const [name, value] of Object.entries({ minBytes, avgBytes, maxBytes })) {
    if (!Number.isSafeInteger(value) || value < 64) {
      throw new RangeError(`chunking ${name} must be an integer >= 64; got ${value}.`);
    }
  }
  if (!(minBytes <= avgBytes && avgBytes <= maxBytes)) {
    throw new RangeError(
      `chunking needs minBytes <= avgBytes <= maxBytes; got ${minBytes}, ${avgBytes}, ${maxBytes}.`,
    );
  }
  if (2 ** Math.round(Math.log2(avgBytes)) !== avgBytes) {
    throw new RangeError(`chunking avgBytes must be a power of two; got ${avgBytes}.`);
  }
}

/**
 * Where the first chunk of `data` ends (its length): FastCDC's cut point. Always in `[min(minBytes, n), maxBytes]`
 * unless the data is shorter.
 */
export function cutPoint(data: Uint8Array, start: number, end: number, options: ChunkingOptions): number {
  const { minBytes, avgBytes, maxBytes } = options;
  const level = options.normalization ?? 2;
  const length = end - start;
  if (length <= minBytes) return length;
  const limit = Math.min(length, maxBytes);
  const normal = Math.min(limit, avgBytes);
  const bits = Math.round(Math.log2(avgBytes));
  const maskS = topMask(bits + level);
  const maskL = topMask(bits - level);
  let hash = 0;
  let index = minBytes;
  for (; index < normal; index++) {
    hash = ((hash << 1) + (GEAR[data[start + index] ?? 0] ?? 0)) | 0;
    if ((hash & maskS) === 0) return index + 1;
  }
  for (; index < limit; index++) {
    hash = ((hash << 1) + (GEAR[data[start + index] ?? 0] ?? 0)) | 0;
    if ((hash & maskL) === 0) return index + 1;
  }
  return limit;
}

/**
 * Cuts `data` into content-defined chunks; yields `[offset, length]` pairs that cover it in order. The same bytes
 * always give the same cuts, and an insertion changes only the chunks around it: the boundaries after it come back.
 *
 * @example
 * for (const [offsetBytes, lengthBytes] of chunkBoundaries(bytes)) upload(bytes.subarray(offsetBytes, offsetBytes + lengthBytes));
 */
export function* chunkBoundaries(
  data: Uint8Array,
  options: ChunkingOptions = DEFAULT_CHUNKING,
): Generator<readonly [offsetBytes: number, lengthBytes: number]> {
  checkChunkingOptions(options);
  let offset = 0;
  while (offset < data.length) {
    const length = cutPoint(data, offset, data.length, options);
    yield [offset, length];
    offset += length;
  }
}

/** Fixed-size cuts, for comparison in the bench: an insertion shifts every later boundary. */
export function* fixedBoundaries(
  data: Uint8Array,
  sizeBytes: number,
): Generator<readonly [offsetBytes: number, lengthBytes: number]> {
  for (let offset = 0; offset < data.length; offset += sizeBytes) {
    yield [offset, Math.min(sizeBytes, data.length - offset)];
  }
}
