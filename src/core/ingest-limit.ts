import { BitrateMeter } from '../util/bitrate-meter.ts';

/** The window `limits.maxIngestBitrateBps` is averaged over, ms (docs/errors.md `DR_ERR_LIMIT_BITRATE`). */
export const ingestLimitWindowMs = 5000;

/**
 * Watches one session's ingest against `limits.maxIngestBitrateBps`: the bytes received in the last
 * `windowMs` (default 5 s), as bits/s, must stay at or below `maxBps`. A 5 s window lets a keyframe
 * or a backlog released after backpressure through; only a sustained rate trips it. Pure: time is
 * passed in (ms). Trips once.
 */
export class IngestBitrateLimit {
  private readonly meter: BitrateMeter;
  private tripped = false;

  /**
   * @param maxBps the limit, bits/s.
   * @param windowMs the averaging window, ms.
   */
  constructor(
    readonly maxBps: number,
    readonly windowMs = ingestLimitWindowMs,
  ) {
    this.meter = new BitrateMeter(windowMs);
  }

  /**
   * Counts `bytes` received at `nowMs` (ms).
   * @returns the window's average, bits/s, the first time it is above `maxBps`; `undefined` otherwise
   * (also every time after it tripped).
   */
  add(bytes: number, nowMs: number): number | undefined {
    if (this.tripped) return undefined;
    this.meter.add(bytes, nowMs);
    const bps = this.meter.bitsPerSecond(nowMs);
    if (bps <= this.maxBps) return undefined;
    this.tripped = true;
    return bps;
  }
}
