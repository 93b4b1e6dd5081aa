import { describe, expect, it } from 'vitest';
import { DuplicateShare, READ_BREAK_EVEN_DUPLICATE_SHARE } from '../../../../lambda/sqs/duplicate-share.js';

/** Batches of ten deliveries, `fraction` of them already DONE, spread evenly over the stream. */
function observeBatches(share: DuplicateShare, batches: number, fraction: number): void {
  for (let delivery = 0; delivery < batches * 10; delivery++) {
    share.observe(Math.floor((delivery + 1) * fraction) > Math.floor(delivery * fraction));
  }
}

describe('DuplicateShare', () => {
  it('starts at 0: a fresh container does not read', () => {
    const share = new DuplicateShare();
    expect(share.value).toBe(0);
    expect(share.favoursRead()).toBe(false);
  });

  it('sets the break-even where half a read unit per message equals the write unit each duplicate saves', () => {
    const readUsdPerMessage = 0.5 * 0.125; // $ per million RRU
    const refusedClaimUsd = 1 * 0.625; // $ per million WRU
    expect(READ_BREAK_EVEN_DUPLICATE_SHARE).toBeCloseTo(readUsdPerMessage / refusedClaimUsd);
  });

  it.each([
    [0.3, 3, true],
    [0.9, 1, true],
    [0.08, 100, false],
    [0.01, 100, false],
  ])('with %s duplicates, after %s batches, favours the read: %s', (fraction, batches, reads) => {
    const share = new DuplicateShare();
    observeBatches(share, batches, fraction);
    expect(share.favoursRead()).toBe(reads);
  });

  it('settles near the stream share, and leaves it once the duplicates stop', () => {
    const share = new DuplicateShare();
    observeBatches(share, 50, 0.3);
    expect(share.value).toBeCloseTo(0.3, 1);
    observeBatches(share, 10, 0);
    expect(share.favoursRead()).toBe(false);
  });

  it('reads for a few batches after one batch of duplicates in a quiet stream, not for good', () => {
    const share = new DuplicateShare();
    observeBatches(share, 20, 0);
    observeBatches(share, 1, 1);
    expect(share.favoursRead()).toBe(true);
    observeBatches(share, 4, 0);
    expect(share.favoursRead()).toBe(false);
  });
});
