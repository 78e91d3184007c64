/**
 * Bits per second over a sliding window, from byte counts. Pure: time is passed in (ms).
 */
export class BitrateMeter {
  private readonly samples: { atMs: number; bytes: number }[] = [];
  private windowBytes = 0;

  /** @param windowMs averaging window, ms. Default 2000. */
  constructor(private readonly windowMs = 2000) {}

  add(bytes: number, nowMs: number): void {
    this.samples.push({ atMs: nowMs, bytes });
    this.windowBytes += bytes;
    this.trim(nowMs);
  }

  /** Current rate, bits/s. */
  bitsPerSecond(nowMs: number): number {
    this.trim(nowMs);
    return Math.round((this.windowBytes * 8 * 1000) / this.windowMs);
  }

  private trim(nowMs: number): void {
    while (this.samples.length > 0 && (this.samples[0]?.atMs ?? 0) <= nowMs - this.windowMs) {
      this.windowBytes -= this.samples.shift()?.bytes ?? 0;
    }
  }
}
