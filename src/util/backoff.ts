/** Retry delays of a supervised connection: a publisher (`dashrelay publish`), a restream target, a pulled camera (pure: the clock and the dice are passed in). */
export interface BackoffOptions {
  /** First delay, ms. Default 1000: a server restart or a Wi-Fi blip is back within a second or two. */
  readonly initialMs?: number;
  /** Upper bound of a delay, ms. Default 30 000. */
  readonly maxMs?: number;
  /** Each failure multiplies the delay by this. Default 2. */
  readonly factor?: number;
  /**
   * Each delay is drawn from `[d × (1 − jitter), d × (1 + jitter)]` (then capped), so publishers that
   * lost the same server do not all come back on the same millisecond. Default 0.2.
   */
  readonly jitter?: number;
  /** A connection that stayed up this long, ms, counts as healthy: the next failure starts over. Default 30 000. */
  readonly healthyAfterMs?: number;
  /** `[0, 1)`; default `Math.random`. */
  readonly random?: () => number;
}

/**
 * Exponential backoff with jitter that resets after a healthy run: `next()` is the delay before the
 * next attempt, `connected(at)` and `disconnected(at)` (ms timestamps) tell it how long the last one lived.
 */
export class Backoff {
  private failures = 0;
  private connectedAt: number | undefined;
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
    this.jitter = options.jitter ?? 0.2;
    this.healthyAfterMs = options.healthyAfterMs ?? 30_000;
    this.random = options.random ?? Math.random;
  }

  /** Failed attempts since the last healthy run. */
  get attempts(): number {
    return this.failures;
  }

  /** The attempt is live (the server said `ready`) at `nowMs`. */
  connected(nowMs: number): void {
    this.connectedAt = nowMs;
  }

  /** The attempt ended at `nowMs`; a run of at least `healthyAfterMs` clears the failure count. */
  disconnected(nowMs: number): void {
    if (this.connectedAt !== undefined && nowMs - this.connectedAt >= this.healthyAfterMs) this.failures = 0;
    this.connectedAt = undefined;
  }

  /** Starts over, as after a healthy run (the caller measured it). */
  reset(): void {
    this.failures = 0;
  }

  /** The delay before the next attempt, ms; counts a failure. */
  next(): number {
    const base = Math.min(this.maxMs, this.initialMs * this.factor ** this.failures);
    this.failures++;
    const spread = 1 + this.jitter * (2 * this.random() - 1);
    return Math.round(Math.min(this.maxMs, base * spread));
  }
}
