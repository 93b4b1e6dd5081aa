import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  type ChunkingOptions,
  checkChunkingOptions,
  chunkBoundaries,
  fixedBoundaries,
  GEAR,
} from '../../../../../lambda/core/chunking/fastcdc.js';

const SMALL: ChunkingOptions = { minBytes: 2 * 1024, avgBytes: 8 * 1024, maxBytes: 32 * 1024 };

/** Deterministic pseudo-random bytes (SHA-256 in counter mode), so a failure reproduces. */
function randomBytes(lengthBytes: number, seed: string): Uint8Array {
  const out = new Uint8Array(lengthBytes);
  for (let block = 0; block * 32 < lengthBytes; block++) {
    const digest = createHash('sha256').update(`${seed}:${block}`).digest();
    out.set(digest.subarray(0, Math.min(32, lengthBytes - block * 32)), block * 32);
  }
  return out;
}

function chunks(data: Uint8Array, options: ChunkingOptions): string[] {
  return [...chunkBoundaries(data, options)].map(([offset, length]) =>
    createHash('sha256')
      .update(data.subarray(offset, offset + length))
      .digest('hex'),
  );
}

describe('FastCDC chunking', () => {
  it('keeps its Gear table fixed, so chunk keys never change between versions', () => {
    expect(GEAR).toHaveLength(256);
    expect([GEAR[0], GEAR[255]]).toEqual([
      createHash('sha256').update('onceflow-fastcdc-gear-0').digest().readUInt32BE(0),
      createHash('sha256').update('onceflow-fastcdc-gear-255').digest().readUInt32BE(0),
    ]);
  });

  it('cuts the same bytes the same way every time', () => {
    const data = randomBytes(1024 * 1024, 'determinism');
    expect([...chunkBoundaries(data, SMALL)]).toEqual([...chunkBoundaries(data, SMALL)]);
  });

  it('covers the data in order, every chunk within [min, max] but the last', () => {
    const data = randomBytes(2 * 1024 * 1024, 'bounds');
    const cuts = [...chunkBoundaries(data, SMALL)];
    let next = 0;
    for (const [index, [offset, length]] of cuts.entries()) {
      expect(offset).toBe(next);
      next += length;
      expect(length).toBeLessThanOrEqual(SMALL.maxBytes);
      if (index < cuts.length - 1) expect(length).toBeGreaterThanOrEqual(SMALL.minBytes);
    }
    expect(next).toBe(data.length);
  });

  it('gathers chunk sizes around the average on random data (normalized chunking)', () => {
    const data = randomBytes(8 * 1024 * 1024, 'average');
    const lengths = [...chunkBoundaries(data, SMALL)].map(([, length]) => length);
    const mean = data.length / lengths.length;
    // The paper's normalized chunking (NC 2) lands the mean near the target; 8 KiB +- 25 %.
    expect(mean).toBeGreaterThan(SMALL.avgBytes * 0.75);
    expect(mean).toBeLessThan(SMALL.avgBytes * 1.25);
    // Few chunks hit the hard maximum: the boundary is chosen by content, not forced.
    expect(lengths.filter((length) => length === SMALL.maxBytes).length / lengths.length).toBeLessThan(0.01);
  });

  it('cuts data of constant bytes at the maximum size (no content boundary exists)', () => {
    const data = new Uint8Array(100 * 1024).fill(7);
    const lengths = [...chunkBoundaries(data, SMALL)].map(([, length]) => length);
    expect(lengths.slice(0, -1).every((length) => length === SMALL.maxBytes)).toBe(true);
  });

  it('gives data shorter than the minimum as one chunk, and empty data as none', () => {
    expect([...chunkBoundaries(new Uint8Array(100), SMALL)]).toEqual([[0, 100]]);
    expect([...chunkBoundaries(new Uint8Array(0), SMALL)]).toEqual([]);
  });

  it.each([
    [
      'an insertion',
      (d: Uint8Array) => concat(d.subarray(0, 300_000), randomBytes(37, 'ins'), d.subarray(300_000)),
    ],
    ['a deletion', (d: Uint8Array) => concat(d.subarray(0, 300_000), d.subarray(300_123))],
    [
      'an overwrite',
      (d: Uint8Array) => concat(d.subarray(0, 300_000), randomBytes(50, 'ow'), d.subarray(300_050)),
    ],
  ])('re-cuts only the chunks around %s: the boundaries after it come back', (_, edit) => {
    const original = randomBytes(2 * 1024 * 1024, 'resync');
    const before = chunks(original, SMALL);
    const after = chunks(edit(original), SMALL);
    const known = new Set(before);
    const changed = after.filter((hash) => !known.has(hash));
    // One edit inside one chunk changes that chunk and, at most, the next (a boundary in the edit may move).
    expect(changed.length).toBeGreaterThanOrEqual(1);
    expect(changed.length).toBeLessThanOrEqual(2);
    expect(after.length - changed.length).toBeGreaterThan(before.length - 4);
  });

  it('loses every later chunk to an insertion when cut at fixed sizes (what CDC avoids)', () => {
    const original = randomBytes(1024 * 1024, 'fixed');
    const edited = concat(original.subarray(0, 100_000), new Uint8Array([1]), original.subarray(100_000));
    const hashes = (d: Uint8Array) =>
      [...fixedBoundaries(d, 8192)].map(([o, l]) =>
        createHash('sha256')
          .update(d.subarray(o, o + l))
          .digest('hex'),
      );
    const known = new Set(hashes(original));
    const reused = hashes(edited).filter((hash) => known.has(hash)).length;
    expect(reused).toBe(Math.floor(100_000 / 8192));
  });

  it.each([
    [{ minBytes: 10, avgBytes: 1024, maxBytes: 4096 }, 'chunking minBytes must be an integer >= 64; got 10.'],
    [
      { minBytes: 4096, avgBytes: 1024, maxBytes: 8192 },
      'chunking needs minBytes <= avgBytes <= maxBytes; got 4096, 1024, 8192.',
    ],
    [
      { minBytes: 512, avgBytes: 1000, maxBytes: 8192 },
      'chunking avgBytes must be a power of two; got 1000.',
    ],
  ])('refuses bad bounds %j with one clear line', (options, message) => {
    expect(() => checkChunkingOptions(options)).toThrow(new RangeError(message));
  });
});

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
