/** CloudWatch takes at most 100 metrics per EMF document and 100 values per metric. */
const EMF_MAX_METRICS = 100;
const EMF_MAX_VALUES = 100;

/** The units the runtime's metrics use (`MetricsSink`). */
type Unit = 'Count' | 'Milliseconds';

/** One CloudWatch Embedded Metric Format document, as Powertools Metrics writes it. */
export interface EmfDocument {
  readonly _aws: {
    readonly Timestamp: number;
    readonly CloudWatchMetrics: readonly [
      {
        readonly Namespace: string;
        readonly Dimensions: readonly [readonly ['service']];
        readonly Metrics: readonly { readonly Name: string; readonly Unit: Unit }[];
      },
    ];
  };
  readonly service: string;
  readonly [metric: string]: unknown;
}

/**
 * The runtime's default metrics: CloudWatch Embedded Metric Format lines on stdout, which Lambda's log pipeline turns
 * into metrics. The documents are the ones Powertools Metrics writes for the same calls (namespace, one `service`
 * dimension, a value or an array of values per metric); a unit test holds them equal. Written here because the
 * runtime needs only counters and latencies, and Powertools Metrics was 43 KB of every consumer bundle. Pass a
 * Powertools `Metrics` as the `metrics` option for more (default dimensions, cold-start metric, high resolution).
 */
export class EmfMetrics {
  private readonly stored = new Map<string, { unit: Unit; values: number[] }>();

  constructor(
    private readonly settings: {
      readonly namespace: string;
      readonly serviceName: string;
      readonly write?: (line: string) => void;
      readonly clock?: () => number;
      /** @default as Powertools Metrics decides: POWERTOOLS_METRICS_DISABLED, else POWERTOOLS_DEV */
      readonly disabled?: boolean;
    },
  ) {}

  addMetric(name: string, unit: Unit, value: number): void {
    const metric = this.stored.get(name);
    if (metric === undefined) this.stored.set(name, { unit, values: [value] });
    else metric.values.push(value);
  }

  /** Writes what was added since the last call (nothing when nothing was, or when disabled), and forgets it. */
  publishStoredMetrics(): void {
    if (!(this.settings.disabled ?? metricsDisabled(process.env))) {
      const write = this.settings.write ?? ((line: string) => process.stdout.write(`${line}\n`));
      for (const document of this.serialize()) write(JSON.stringify(document));
    }
    this.stored.clear();
  }

  /** The documents `publishStoredMetrics` would write now, split at CloudWatch's limits. */
  serialize(): EmfDocument[] {
    const timestamp = (this.settings.clock ?? Date.now)();
    const entries: [string, Unit, number[]][] = [];
    for (const [name, { unit, values }] of this.stored) {
      for (let start = 0; start < values.length; start += EMF_MAX_VALUES) {
        entries.push([name, unit, values.slice(start, start + EMF_MAX_VALUES)]);
      }
    }
    const documents: EmfDocument[] = [];
    // A metric's values past the first hundred go to a later document, never twice into one.
    while (entries.length > 0) {
      const batch: typeof entries = [];
      const rest: typeof entries = [];
      for (const entry of entries) {
        if (batch.length < EMF_MAX_METRICS && !batch.some(([name]) => name === entry[0])) batch.push(entry);
        else rest.push(entry);
      }
      documents.push(this.document(timestamp, batch));
      entries.splice(0, entries.length, ...rest);
    }
    return documents;
  }

  private document(timestamp: number, metrics: readonly [string, Unit, number[]][]): EmfDocument {
    return {
      _aws: {
        Timestamp: timestamp,
        CloudWatchMetrics: [
          {
            Namespace: this.settings.namespace,
            Dimensions: [['service']],
            Metrics: metrics.map(([name, unit]) => ({ Name: name, Unit: unit })),
          },
        ],
      },
      service: this.settings.serviceName,
      ...Object.fromEntries(
        metrics.map(([name, , values]) => [name, values.length === 1 ? values[0] : values]),
      ),
    };
  }
}

const TRUTHY = new Set(['1', 'y', 'yes', 't', 'true', 'on']);

/** Powertools' rule: POWERTOOLS_METRICS_DISABLED when it is set, else off in POWERTOOLS_DEV mode. */
export function metricsDisabled(env: Readonly<Record<string, string | undefined>>): boolean {
  const disabled = env.POWERTOOLS_METRICS_DISABLED;
  if (disabled !== undefined) return TRUTHY.has(disabled.trim().toLowerCase());
  return TRUTHY.has((env.POWERTOOLS_DEV ?? '').trim().toLowerCase());
}
