/** Bucket i holds values from GROWTH^i to GROWTH^(i+1) ms: each within 1% of its bucket's middle. */
const GROWTH = 1.02;
/** 1,000 buckets reach past 10^8 ms (about 4 days); larger values land in the last one. */
const BUCKETS = 1_000;

/**
 * Latency percentiles in fixed memory, however many values it is given: a histogram with buckets 2% wide, so a
 * percentile is read to within about 1% of the true value. The local pipeline keeps one for its whole run.
 *
 * @example
 * const latency = new LatencyHistogram();
 * latency.add(120);
 * latency.percentile(0.99); // 120, within 1%
 */
export class LatencyHistogram {
  private readonly counts = new Float64Array(BUCKETS);
  private total = 0;

  /** How many values it was given. */
  get count(): number {
    return this.total;
  }

  add(ms: number): void {
    if (!Number.isFinite(ms)) return;
    const bucket = ms < 1 ? 0 : Math.min(BUCKETS - 1, Math.floor(Math.log(ms) / Math.log(GROWTH)));
    this.counts[bucket] = (this.counts[bucket] ?? 0) + 1;
    this.total += 1;
  }

  /** The value below which `fraction` of the values fall (nearest rank), rounded to whole ms; null when empty. */
  percentile(fraction: number): number | null {
    if (this.total === 0) return null;
    const rank = Math.min(this.total, Math.max(1, Math.ceil(fraction * this.total)));
    let seen = 0;
    for (let bucket = 0; bucket < BUCKETS; bucket++) {
      seen += this.counts[bucket] ?? 0;
      if (seen >= rank) return Math.round(GROWTH ** (bucket + 0.5));
    }
    return null;
  }
}
