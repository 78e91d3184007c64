/** Summary statistics of latency samples, ms. */
export interface LatencySummary {
  samples: number;
  medianMs: number;
  p95Ms: number;
  maxMs: number;
  minMs: number;
  /** Median of the last minute minus median of the first minute (after warm-up), ms: > 0 is upward drift. */
  driftMs: number;
}

export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))));
  return sorted[i] ?? Number.NaN;
}

/** @param samples `[wallClockMs, latencyMs]` in time order. */
export function summarize(samples: readonly (readonly [number, number])[]): LatencySummary {
  const values = samples.map((s) => s[1]).sort((a, b) => a - b);
  const start = samples[0]?.[0] ?? 0;
  const end = samples.at(-1)?.[0] ?? 0;
  const window = Math.min(60_000, (end - start) / 3);
  const median = (from: number, to: number) =>
    quantile(
      samples
        .filter((s) => s[0] >= from && s[0] < to)
        .map((s) => s[1])
        .sort((a, b) => a - b),
      0.5,
    );
  return {
    samples: values.length,
    medianMs: quantile(values, 0.5),
    p95Ms: quantile(values, 0.95),
    maxMs: values.at(-1) ?? Number.NaN,
    minMs: values[0] ?? Number.NaN,
    driftMs: median(end - window, end + 1) - median(start, start + window),
  };
}
