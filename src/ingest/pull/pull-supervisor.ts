import type { ParentLogger } from '../../contracts/logger.ts';
import type { DashrelayError } from '../../errors/errors.ts';
import { Backoff } from '../../util/backoff.ts';
import { PullRun, type PullRunOptions } from './pull-run.ts';

/**
 * `idle`: not pulling (an on-demand source nobody watches); `starting`: ffmpeg connects and probes;
 * `live`: the stream is on air; `retrying`: the last try failed, the next comes at `nextRetryAt`.
 */
export type PullState = 'idle' | 'starting' | 'live' | 'retrying';

/** One pulled source as `GET /api/sources` shows it (docs/sources.md). No credentials in it. */
export interface PullSourceStatus {
  readonly name: string;
  /** The URL with `user:password@` and secret query values masked as `***`. */
  readonly url: string;
  readonly onDemand: boolean;
  readonly state: PullState;
  /** Since when the source is in `state`, ISO 8601 UTC. */
  readonly since: string;
  /** Failed tries since the last healthy run. */
  readonly retries: number;
  /** When the next try starts, ISO 8601 UTC; `null` unless `retrying`. */
  readonly nextRetryAt: string | null;
  /** Why the last try ended, credentials masked; `null` before any failure. */
  readonly lastError: { readonly code: string; readonly message: string; readonly at: string } | null;
}

export interface PullSupervisorOptions
  extends Omit<PullRunOptions, 'log' | 'stallTimeoutMs' | 'shownUrl' | 'redact'> {
  readonly shownUrl: string;
  readonly redact: (text: string) => string;
  readonly onDemand: boolean;
  /** An on-demand source with no viewer request for this long (since it went live) stops, ms. */
  readonly closeAfterMs: number;
  /** ffmpeg's own timeout, ms; a run whose ffmpeg is silent twice as long is ended. */
  readonly timeoutMs: number;
  /** Longest wait between tries, ms. */
  readonly maxRetryDelayMs: number;
  /** A run live this long resets the backoff, ms. Default 10 000. */
  readonly healthyMs?: number;
  readonly log: ParentLogger;
}

/** First retry after 1 s (±20 %: within 2 s), then doubling. */
const firstRetryMs = 1000;

/**
 * Keeps one source pulled: a {@link PullRun} at a time, retried with backoff whenever it ends
 * (camera unreachable or rebooting, ffmpeg exiting, the name busy with another publisher), so the
 * stream comes back for viewers by itself. Always-on sources run from `start()`; on-demand ones from
 * the first `demand()` until `closeAfterMs` pass without one. Never throws: a bad source only logs and
 * retries.
 */
export class PullSupervisor {
  private state: PullState = 'idle';
  private sinceMs = Date.now();
  private run: PullRun | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private nextRetryAtMs: number | undefined;
  private readonly idleTimer: NodeJS.Timeout | undefined;
  private lastViewerAtMs = 0;
  private liveSinceMs: number | undefined;
  private lastError: { error: DashrelayError; atMs: number } | undefined;
  private readonly backoff: Backoff;
  private waiters: (() => void)[] = [];
  private idleStop = false;
  private closed = false;

  constructor(private readonly opts: PullSupervisorOptions) {
    this.backoff = new Backoff({ initialMs: firstRetryMs, maxMs: opts.maxRetryDelayMs });
    if (opts.onDemand) {
      this.idleTimer = setInterval(() => this.checkIdle(), Math.min(1000, opts.closeAfterMs));
      this.idleTimer.unref();
    }
  }

  get name(): string {
    return this.opts.stream;
  }

  /** Starts an always-on source (on-demand ones wait for {@link demand}). */
  start(): void {
    if (!this.opts.onDemand) this.begin();
  }

  /**
   * A viewer asked for the stream (its manifest, a segment, its API entry). An idle on-demand source
   * starts; a running one stays up for `closeAfterMs` more.
   * @returns while the stream is starting (for an on-demand source: also between its retries), a
   * promise that resolves once it is live or gives up (stopped, idle); `undefined` otherwise.
   */
  demand(): Promise<void> | undefined {
    if (this.closed) return undefined;
    this.lastViewerAtMs = Date.now();
    if (this.opts.onDemand && this.state === 'idle') {
      this.opts.log.info({ stream: this.name }, 'a viewer asked for an on-demand source: starting it');
      this.begin();
    }
    const waiting = this.state === 'starting' || (this.opts.onDemand && this.state === 'retrying');
    if (!waiting) return undefined;
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  status(): PullSourceStatus {
    const e = this.lastError;
    return {
      name: this.name,
      url: this.opts.shownUrl,
      onDemand: this.opts.onDemand,
      state: this.state,
      since: new Date(this.sinceMs).toISOString(),
      retries: this.backoff.attempts,
      nextRetryAt:
        this.state === 'retrying' && this.nextRetryAtMs !== undefined
          ? new Date(this.nextRetryAtMs).toISOString()
          : null,
      lastError: e
        ? { code: e.error.code, message: e.error.message, at: new Date(e.atMs).toISOString() }
        : null,
    };
  }

  /** Stops pulling for good (shutdown): the run's session ends. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.idleTimer);
    clearTimeout(this.retryTimer);
    await this.run?.stop();
    this.setState('idle');
  }

  private begin(): void {
    if (this.closed || this.run) return;
    clearTimeout(this.retryTimer);
    this.idleStop = false;
    this.setState('starting');
    const { log, timeoutMs } = this.opts;
    const run = new PullRun({
      ...this.opts,
      stallTimeoutMs: 2 * timeoutMs,
      log: log.child({ stream: this.name, component: 'pull' }),
    });
    this.run = run;
    run.on('live', () => {
      this.liveSinceMs = Date.now();
      this.setState('live');
      log.info({ stream: this.name, url: this.opts.shownUrl }, 'pulled source is live');
    });
    void run.done.then((outcome) => {
      this.run = undefined;
      this.liveSinceMs = undefined;
      if ((this.opts.healthyMs ?? 10_000) <= outcome.liveMs) this.backoff.reset();
      if (outcome.error) this.lastError = { error: outcome.error, atMs: Date.now() };
      if (this.closed) return;
      if (this.idleStop || (this.opts.onDemand && this.unwatched())) {
        this.setState('idle');
        return;
      }
      const delayMs = this.backoff.next();
      const why = outcome.error?.message ?? 'stopped';
      if (outcome.error?.code === 'DR_ERR_INGEST_STREAM_BUSY') {
        log.warn({ stream: this.name, retryInMs: delayMs }, `${why}: the pull retries later`);
      } else {
        log.warn({ stream: this.name, retryInMs: delayMs, code: outcome.error?.code }, why);
      }
      this.nextRetryAtMs = Date.now() + delayMs;
      this.setState('retrying');
      this.retryTimer = setTimeout(() => this.begin(), delayMs);
      this.retryTimer.unref();
    });
  }

  /** No viewer request for `closeAfterMs`, counted from when the stream went live (starting takes a while). */
  private unwatched(): boolean {
    const from = Math.max(this.lastViewerAtMs, this.liveSinceMs ?? 0);
    return Date.now() - from > this.opts.closeAfterMs;
  }

  private checkIdle(): void {
    if (this.state === 'idle' || this.closed || !this.unwatched()) return;
    this.opts.log.info(
      { stream: this.name, closeAfterMs: this.opts.closeAfterMs },
      'no viewer of the on-demand source: stopping it',
    );
    this.idleStop = true;
    clearTimeout(this.retryTimer);
    if (this.run) void this.run.stop();
    else this.setState('idle');
  }

  private setState(state: PullState): void {
    if (state !== this.state) {
      this.state = state;
      this.sinceMs = Date.now();
    }
    if (state === 'live' || state === 'idle') {
      for (const resolve of this.waiters.splice(0)) resolve();
    }
  }
}
