import { describe, expect, it } from 'vitest';
import {
  decodePayload,
  encodePayload,
  isPayloadManifest,
  MANIFEST_MARKER,
  readManifest,
} from '../../../../../lambda/core/chunking/manifest.js';
import { PayloadCorruptError } from '../../../../../lambda/core/errors.js';

const HEX = 'a'.repeat(64);
const valid = {
  onceflow: MANIFEST_MARKER,
  bucket: 'b',
  keyPrefix: 'chunks/sha256/',
  encoding: 'json',
  sizeBytes: 30,
  sha256: HEX,
  chunks: [
    { sha256: HEX, sizeBytes: 10 },
    { sha256: 'b'.repeat(64), sizeBytes: 20 },
  ],
};

describe('large-payload manifest', () => {
  it('is told from other payloads by its marker alone', () => {
    expect(isPayloadManifest(valid)).toBe(true);
    expect(isPayloadManifest({ ...valid, onceflow: 'something else' })).toBe(false);
    expect(isPayloadManifest({ accountId: 'a', amountCents: 1 })).toBe(false);
    expect(isPayloadManifest([valid])).toBe(false);
    expect(isPayloadManifest(null)).toBe(false);
  });

  it('reads a valid manifest as it is', () => {
    expect(readManifest(valid)).toEqual(valid);
  });

  it.each([
    [{ bucket: '' }, 'bucket must be a non-empty string'],
    [{ encoding: 'xml' }, 'encoding must be "json" or "bytes"'],
    [{ sha256: 'nothex' }, 'sha256 must be 64 hex characters'],
    [{ sizeBytes: -1 }, 'sizeBytes must be a non-negative integer'],
    [{ chunks: [{ sha256: HEX }] }, 'chunk 0 must be { sha256: 64 hex characters, sizeBytes: integer }'],
    [{ sizeBytes: 31 }, 'its chunks add up to 30 bytes, not sizeBytes 31'],
  ])('refuses %j as corrupt, saying what is wrong', (change, what) => {
    expect(() => readManifest({ ...valid, ...change })).toThrow(
      new PayloadCorruptError(`large-payload manifest is invalid: ${what}.`),
    );
  });

  it('round-trips JSON and bytes through their encoding', () => {
    const json = { a: [1, 'two', null] };
    const encoded = encodePayload(json);
    expect(encoded.encoding).toBe('json');
    expect(decodePayload(Buffer.from(encoded.bytes), 'json')).toEqual(json);
    const bytes = Buffer.from([0, 1, 255]);
    expect(encodePayload(bytes)).toEqual({ bytes, encoding: 'bytes' });
    expect(decodePayload(bytes, 'bytes')).toEqual(bytes);
  });

  it('parks bytes that are not the JSON they claim to be', () => {
    expect(() => decodePayload(Buffer.from('{not json'), 'json')).toThrow(PayloadCorruptError);
  });
});
