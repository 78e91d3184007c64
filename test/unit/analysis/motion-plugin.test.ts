import { describe, expect, it, vi } from 'vitest';
import { createMotionPlugin, meanAbsoluteDifference } from '../../../src/analysis/motion-plugin.ts';
import type { AnalysisContext, AnalysisFrame } from '../../../src/analysis/types.ts';

function grayFrame(ptsMs: number, value: number, width = 4, height = 2): AnalysisFrame {
  return {
    stream: 'cam1',
    ptsMs,
    wallClockMs: 0,
    width,
    height,
    format: 'gray',
    data: Buffer.alloc(width * height, value),
  };
}

function open(options: Parameters<typeof createMotionPlugin>[0] = {}) {
  const emit = vi.fn<AnalysisContext['emit']>();
  const ctx: AnalysisContext = {
    stream: 'cam1',
    emit,
    log: { info: vi.fn(), warn: vi.fn(), error: vi.fn() },
  };
  const reader = createMotionPlugin(options).open(ctx);
  const feed = (...frames: AnalysisFrame[]): void => {
    for (const f of frames) void reader.onFrame(f);
  };
  return { emit, feed };
}

describe('meanAbsoluteDifference', () => {
  it.each([
    { a: [0, 0, 0, 0], b: [0, 0, 0, 0], expected: 0 },
    { a: [0, 0, 0, 0], b: [255, 255, 255, 255], expected: 255 },
    { a: [10, 20, 30, 40], b: [20, 10, 30, 40], expected: 5 },
    { a: [100], b: [0], expected: 100 },
    { a: [], b: [], expected: 0 },
  ])('$a vs $b → $expected', ({ a, b, expected }) => {
    expect(meanAbsoluteDifference(Buffer.from(a), Buffer.from(b))).toBe(expected);
  });

  it('is symmetric', () => {
    const a = Buffer.from([1, 50, 200, 7]);
    const b = Buffer.from([9, 0, 255, 3]);
    expect(meanAbsoluteDifference(a, b)).toBe(meanAbsoluteDifference(b, a));
  });

  it('compares only the common length', () => {
    expect(meanAbsoluteDifference(Buffer.from([10, 10]), Buffer.from([0, 0, 255, 255]))).toBe(10);
  });
});

describe('createMotionPlugin', () => {
  it('is a gray plugin named motion', () => {
    const plugin = createMotionPlugin();
    expect(plugin.name).toBe('motion');
    expect(plugin.format).toBe('gray');
  });

  it('emits nothing for the first frame', () => {
    const { emit, feed } = open({ threshold: 1 });
    feed(grayFrame(0, 255));
    expect(emit).not.toHaveBeenCalled();
  });

  it('emits motion with score and threshold when the difference reaches the threshold', () => {
    const { emit, feed } = open({ threshold: 8 });
    feed(grayFrame(0, 0), grayFrame(200, 8));
    expect(emit).toHaveBeenCalledTimes(1);
    expect(emit).toHaveBeenCalledWith('motion', { score: 8, threshold: 8 });
  });

  it('emits nothing below the threshold', () => {
    const { emit, feed } = open({ threshold: 8 });
    feed(grayFrame(0, 0), grayFrame(200, 7), grayFrame(400, 14), grayFrame(600, 21));
    expect(emit).not.toHaveBeenCalled();
  });

  it('rounds the score to two decimals', () => {
    const { emit, feed } = open({ threshold: 1 });
    const a = grayFrame(0, 0, 3, 1);
    const b = { ...grayFrame(200, 0, 3, 1), data: Buffer.from([10, 0, 0]) };
    feed(a, b);
    expect(emit).toHaveBeenCalledWith('motion', { score: 3.33, threshold: 1 });
  });

  it('uses threshold 8 and 1000 ms by default', () => {
    const { emit, feed } = open();
    feed(grayFrame(0, 0), grayFrame(200, 7), grayFrame(400, 15), grayFrame(1300, 0), grayFrame(1400, 8));
    expect(emit.mock.calls.map((c) => c[1])).toEqual([
      { score: 8, threshold: 8 },
      { score: 8, threshold: 8 },
    ]);
  });

  it('emits at most once per minIntervalMs of frame time', () => {
    const { emit, feed } = open({ threshold: 5, minIntervalMs: 1000 });
    // alternating black/white frames: every frame after the first is motion
    const frames = [0, 200, 400, 600, 800, 1000, 1200, 1400, 2200].map((pts, i) =>
      grayFrame(pts, i % 2 === 0 ? 0 : 255),
    );
    feed(...frames);
    // events at 200, then the first frame ≥ 1200, then ≥ 2200
    expect(emit).toHaveBeenCalledTimes(3);
  });

  it('paces by frame pts, not by wall clock', () => {
    vi.useFakeTimers();
    try {
      const { emit, feed } = open({ threshold: 5, minIntervalMs: 1000 });
      feed(grayFrame(0, 0), grayFrame(100, 255));
      vi.advanceTimersByTime(5000);
      feed(grayFrame(200, 0));
      expect(emit).toHaveBeenCalledTimes(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('emits nothing when the frame size changes, and compares from the new size on', () => {
    const { emit, feed } = open({ threshold: 5, minIntervalMs: 0 });
    feed(grayFrame(0, 0, 4, 2), grayFrame(200, 255, 8, 4));
    expect(emit).not.toHaveBeenCalled();
    feed(grayFrame(400, 0, 8, 4));
    expect(emit).toHaveBeenCalledTimes(1);
  });

  it('keeps separate state per opened stream', () => {
    const plugin = createMotionPlugin({ threshold: 5 });
    const emitA = vi.fn();
    const emitB = vi.fn();
    const log = { info: vi.fn(), warn: vi.fn(), error: vi.fn() };
    const a = plugin.open({ stream: 'a', emit: emitA, log });
    const b = plugin.open({ stream: 'b', emit: emitB, log });
    void a.onFrame(grayFrame(0, 0));
    void b.onFrame(grayFrame(0, 255));
    void a.onFrame(grayFrame(200, 0));
    expect(emitA).not.toHaveBeenCalled();
    expect(emitB).not.toHaveBeenCalled();
  });
});
