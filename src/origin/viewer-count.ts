/** How long a client address counts as a viewer after its last manifest or segment request, ms. */
export const viewerWindowMs = 10_000;

/**
 * Viewers per stream for `limits.maxViewersPerStream`: a viewer is a distinct client address that
 * requested the stream's MPD or a segment in the last `windowMs`. An address already counted is
 * always admitted (a viewer keeps playing); a new one only while the stream has fewer than `max`.
 * Pure: time comes from `now` (ms).
 */
export class ViewerCount {
  /** stream → address → last request, ms. */
  private readonly streams = new Map<string, Map<string, number>>();
  private lastSweepMs = Number.NEGATIVE_INFINITY;

  /**
   * @param max viewers per stream.
   * @param now the clock, ms.
   * @param windowMs how long an address counts after its last request, ms.
   */
  constructor(
    readonly max: number,
    private readonly now: () => number = Date.now,
    readonly windowMs = viewerWindowMs,
  ) {}

  /**
   * A request for `stream` from `address`: records it and returns true, or returns false (and
   * records nothing) when the address is new and the stream has `max` viewers already.
   */
  admit(stream: string, address: string): boolean {
    const nowMs = this.now();
    this.sweep(nowMs);
    let viewers = this.streams.get(stream);
    if (!viewers) {
      viewers = new Map();
      this.streams.set(stream, viewers);
    }
    const last = viewers.get(address);
    const counted = last !== undefined && last > nowMs - this.windowMs;
    // Pruned only when it decides: a request from a counted viewer stays O(1).
    if (!counted && viewers.size >= this.max && this.live(viewers, nowMs) >= this.max) return false;
    viewers.set(address, nowMs);
    return true;
  }

  /** The viewers of `stream` now. */
  count(stream: string): number {
    const viewers = this.streams.get(stream);
    return viewers ? this.live(viewers, this.now()) : 0;
  }

  /** Drops the addresses of `viewers` gone quiet; returns how many are left. */
  private live(viewers: Map<string, number>, nowMs: number): number {
    for (const [address, last] of viewers) if (last <= nowMs - this.windowMs) viewers.delete(address);
    return viewers.size;
  }

  /**
   * Every window, forgets the addresses and streams gone quiet everywhere, so names asked for once
   * (or never live) do not accumulate.
   */
  private sweep(nowMs: number): void {
    if (nowMs - this.lastSweepMs < this.windowMs) return;
    this.lastSweepMs = nowMs;
    for (const [stream, viewers] of this.streams) {
      if (this.live(viewers, nowMs) === 0) this.streams.delete(stream);
    }
  }
}
