import { median } from '../support/stats.js';
import type { ProcessKind } from './fleet.js';

/** The soak's memory check: the last quarter's median RSS may be at most this much above the second quarter's. */
export const ALLOWED_RSS_GROWTH_PERCENT = 20;
/** Samples kept at most; when full, every other one is dropped and sampling slows down by half. */
const MAX_SAMPLES = 240;
/** Fewer samples than this say nothing about a trend. */
const MIN_SAMPLES_FOR_TREND = 8;

export interface RssSummary {
  readonly firstMb: number;
  readonly maxMb: number;
  readonly lastMb: number;
}

export interface MemoryFlatness {
  readonly secondQuarterMedianMb: number;
  readonly lastQuarterMedianMb: number;
  readonly allowedGrowthPercent: number;
  /** The last quarter's median is at most `allowedGrowthPercent` above the second quarter's. */
  readonly flat: boolean;
}

export interface MemoryReport {
  /** The largest server's RSS at each sample: first, highest and last sample. */
  readonly servers: RssSummary | null;
  readonly relay: RssSummary | null;
  /** The highest RSS any server reported. */
  readonly serverPeakMb: number;
  readonly samples: number;
  /** Null with too few samples to see a trend. The first quarter is left out: it holds the warm-up. */
  readonly flatness: MemoryFlatness | null;
}

/**
 * The processes' resident memory over a run, in bounded space: the latest report of each slot, and a timeline of
 * the largest server's RSS sampled at a steady pace (thinned out as the run gets longer).
 */
export class MemoryTimeline {
  private readonly latestBySlot = new Map<string, { kind: ProcessKind; rssMb: number }>();
  private samplesMb: number[] = [];
  private stride = 1;
  private calls = 0;
  private serverPeakMb = 0;
  private relay: { firstMb: number; maxMb: number; lastMb: number } | undefined;

  /** A process reported its RSS. */
  record(slot: string, kind: ProcessKind, rssMb: number): void {
    this.latestBySlot.set(slot, { kind, rssMb });
    if (kind === 'server') this.serverPeakMb = Math.max(this.serverPeakMb, rssMb);
    else
      this.relay = {
        firstMb: this.relay?.firstMb ?? rssMb,
        maxMb: Math.max(this.relay?.maxMb ?? 0, rssMb),
        lastMb: rssMb,
      };
  }

  /** Takes one sample of the largest server's latest RSS; call at a steady pace. */
  sample(): void {
    this.calls += 1;
    if (this.calls % this.stride !== 0) return;
    const servers = [...this.latestBySlot.values()].filter((each) => each.kind === 'server');
    if (servers.length === 0) return;
    this.samplesMb.push(Math.max(...servers.map((each) => each.rssMb)));
    if (this.samplesMb.length >= MAX_SAMPLES) {
      this.samplesMb = this.samplesMb.filter((_, index) => index % 2 === 1);
      this.stride *= 2;
    }
  }

  report(): MemoryReport {
    const samples = this.samplesMb;
    const first = samples[0];
    const last = samples[samples.length - 1];
    return {
      servers:
        first === undefined || last === undefined
          ? null
          : { firstMb: first, maxMb: Math.max(...samples), lastMb: last },
      relay: this.relay ?? null,
      serverPeakMb: this.serverPeakMb,
      samples: samples.length,
      flatness: flatness(samples),
    };
  }
}

/** Compares the last quarter of the samples with the second (the first holds the warm-up). */
export function flatness(samplesMb: readonly number[]): MemoryFlatness | null {
  if (samplesMb.length < MIN_SAMPLES_FOR_TREND) return null;
  const quarter = Math.floor(samplesMb.length / 4);
  const secondQuarterMedianMb = median(samplesMb.slice(quarter, 2 * quarter));
  const lastQuarterMedianMb = median(samplesMb.slice(samplesMb.length - quarter));
  return {
    secondQuarterMedianMb,
    lastQuarterMedianMb,
    allowedGrowthPercent: ALLOWED_RSS_GROWTH_PERCENT,
    flat: lastQuarterMedianMb <= secondQuarterMedianMb * (1 + ALLOWED_RSS_GROWTH_PERCENT / 100),
  };
}
