export interface BackoffOptions {
  /** The first delay, ms (before jitter). */
  readonly initialMs: number;
  /** The longest delay, ms (jitter included). */
  readonly maxMs: number;
  /** Growth per failure. Default 2. */
  readonly factor?: number;
  /** Each delay is spread by up to ± this fraction, so cameras that dropped together do not retry in step. Default 0.2. */
  readonly jitter?: number;
  /** A number in [0, 1); tests pass their own. Default `Math.random`. */
  readonly random?: () => number;
}

/**
 * Exponential backoff for retrying a source: `initialMs`, then ×`factor` per consecutive failure, up to
 * `maxMs`. `reset()` after a healthy run, so a camera that ran for hours and dropped is retried at
 * once, not after the delay its last outage had reached.
 */
export class Backoff {
  private failures = 0;

  constructor(private readonly opts: BackoffOptions) {}

  /** Consecutive failures since the last reset. */
  get attempts(): number {
    return this.failures;
  }

  /** The delay before the next try, ms; counts one more failure. */
  next(): number {
    const { initialMs, maxMs, factor = 2, jitter = 0.2, random = Math.random } = this.opts;
    const base = Math.min(maxMs, initialMs * factor ** this.failures);
    this.failures++;
    const spread = base * jitter * (2 * random() - 1);
    return Math.max(0, Math.min(maxMs, Math.round(base + spread)));
  }

  reset(): void {
    this.failures = 0;
  }
}
