/** Retry delays of a supervised connection (a restream target, a pulled camera, a publisher). */
export interface BackoffOptions {
  /** The first retry's delay, ms. Default 1000. */
  readonly initialMs?: number | undefined;
  /** Ceiling of the delay, ms. Default 30 000. */
  readonly maxMs?: number | undefined;
  /** Growth per failed attempt. Default 2. */
  readonly factor?: number | undefined;
  /**
   * Fraction of each delay drawn at random, 0–1 (0.2: the delay is 80–100 % of the nominal one), so
   * many clients that lost the same server do not come back in step. Default 0.2.
   */
  readonly jitter?: number | undefined;
  /** An attempt that stayed up this long resets the delay to `initialMs`, ms. Default 30 000. */
  readonly healthyAfterMs?: number | undefined;
  /** Random source in [0, 1), for tests. Default `Math.random`. */
  readonly random?: (() => number) | undefined;
}

/**
 * Exponential backoff with jitter: `next()` after each failure gives the delay before the next
 * attempt; `succeeded(upForMs)` after an attempt ends tells whether it ran long enough to start over.
 */
export class Backoff {
  private failures = 0;
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly factor: number;
  private readonly jitter: number;
  private readonly healthyAfterMs: number;
  private readonly random: () => number;

  constructor(options: BackoffOptions = {}) {
    this.initialMs = options.initialMs ?? 1000;
    this.maxMs = options.maxMs ?? 30_000;
    this.factor = options.factor ?? 2;
    this.jitter = Math.min(1, Math.max(0, options.jitter ?? 0.2));
    this.healthyAfterMs = options.healthyAfterMs ?? 30_000;
    this.random = options.random ?? Math.random;
  }

  /** Failed attempts since the last reset. */
  get attempts(): number {
    return this.failures;
  }

  /** The delay before the next attempt, ms; each call counts one more failure. */
  next(): number {
    const nominal = Math.min(this.maxMs, this.initialMs * this.factor ** this.failures);
    this.failures++;
    return Math.round(nominal * (1 - this.jitter * this.random()));
  }

  /** An attempt ended after `upForMs` ms; a healthy one resets the delays. */
  ended(upForMs: number): void {
    if (upForMs >= this.healthyAfterMs) this.reset();
  }

  reset(): void {
    this.failures = 0;
  }
}
