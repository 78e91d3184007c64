import type { AnalysisFrame, AnalysisPlugin } from './types.ts';

export interface MotionPluginOptions {
  /**
   * Mean absolute difference between consecutive gray frames (0–255 scale) at or above which a
   * `motion` event is emitted. Default 8.
   */
  readonly threshold?: number;
  /** Minimum time between two events of one stream, ms. Default 1000. */
  readonly minIntervalMs?: number;
}

/** Mean absolute difference of two equal-length 8-bit buffers (0–255). */
export function meanAbsoluteDifference(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  if (n === 0) return 0;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += Math.abs((a[i] ?? 0) - (b[i] ?? 0));
  return sum / n;
}

/**
 * Built-in `motion` plugin: compares each gray frame with the previous one and emits
 * `motion` events `{ score }` (mean absolute difference, 0–255) when the score reaches the threshold.
 */
export function createMotionPlugin(options: MotionPluginOptions = {}): AnalysisPlugin {
  const threshold = options.threshold ?? 8;
  const minIntervalMs = options.minIntervalMs ?? 1000;
  return {
    name: 'motion',
    format: 'gray',
    open(ctx) {
      let previous: AnalysisFrame | undefined;
      let lastEventPtsMs = Number.NEGATIVE_INFINITY;
      return {
        onFrame(frame) {
          const prev = previous;
          previous = frame;
          if (!prev || prev.width !== frame.width || prev.height !== frame.height) return;
          const score = meanAbsoluteDifference(prev.data, frame.data);
          if (score >= threshold && frame.ptsMs - lastEventPtsMs >= minIntervalMs) {
            lastEventPtsMs = frame.ptsMs;
            ctx.emit('motion', { score: Math.round(score * 100) / 100, threshold });
          }
        },
      };
    },
  };
}
