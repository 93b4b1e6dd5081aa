/** Runtime defaults, in one place. The CDK construct checks its own settings against these at synth time. */
export const RUNTIME_DEFAULTS = {
  /** Must exceed the function timeout plus clock skew; the construct derives it from the timeout. */
  leaseMs: 60_000,
  /** Must cover queue retention + delivery delay + lease + producer retry horizon. */
  dedupWindowSeconds: 7 * 24 * 60 * 60,
  /** Records of one batch processed at once. */
  concurrency: 10,
  /** messageIds remembered DONE per warm container, answering repeated duplicates with no request. */
  doneCacheSize: 10_000,
  mode: 'lease',
} as const;
