import type { ASSUMPTIONS, CostAtShare, CostEstimate, LIMITS, PRICES_USD } from '../cost/cost-model.js';
import type { HandlerLevelResult } from '../handler-level/results.js';
import type { PipelineResult } from '../pipeline/local-pipeline.js';
import type { RuntimeOverheadResult } from '../runtime/overhead.js';
import type { TargetVerdict } from './targets.js';

export interface BenchmarkEnvironment {
  readonly node: string;
  readonly platform: string;
  readonly cpuModel: string;
  readonly cpus: number;
  readonly totalMemoryGb: number;
  /** 1-minute load averages: other work on the machine shares the cores with DynamoDB Local and the bench. */
  readonly loadAverageAtStart: number;
  readonly loadAverageAtEnd: number;
  readonly dynamoDb: string;
}

/** Every figure of one run: what the results file holds and every renderer starts from. */
export interface BenchmarkResults {
  readonly generatedAt: string;
  readonly command: string;
  readonly environment: BenchmarkEnvironment;
  readonly handlerLevel: HandlerLevelResult;
  readonly pipeline: PipelineResult;
  /** Part D: the runtime's own CPU and cold start; absent in results saved before it was measured, or skipped. */
  readonly runtime?: RuntimeOverheadResult;
  readonly costModel: {
    readonly pricesUsd: typeof PRICES_USD;
    readonly limits: typeof LIMITS;
    readonly assumptions: typeof ASSUMPTIONS;
    readonly estimates: readonly CostEstimate[];
    /** Per million deliveries at 0%, 30% and 90% duplicates; absent in results saved before it was measured. */
    readonly byDuplicateShare?: readonly CostAtShare[];
  };
  readonly targets: readonly TargetVerdict[];
}
