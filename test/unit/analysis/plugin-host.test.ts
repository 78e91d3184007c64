import { describe, expect, it, vi } from 'vitest';
import { errorLogIntervalMs, PluginHost, type PluginHostOptions } from '../../../src/analysis/plugin-host.ts';
import type {
  AnalysisContext,
  AnalysisEvent,
  AnalysisFrame,
  AnalysisLogger,
  AnalysisPlugin,
  AnalysisReader,
  FrameFormat,
} from '../../../src/analysis/types.ts';

/** Lets pending promise callbacks and the drain loops run. */
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function frame(ptsMs: number, format: FrameFormat = 'gray'): AnalysisFrame {
  const width = 2;
  const height = 1;
  const data = format === 'gray' ? Buffer.from([ptsMs & 0xff, 0]) : Buffer.from([255, 255, 255, 255, 0, 0]);
  return { stream: 'cam1', ptsMs, wallClockMs: 1_700_000_000_000 + ptsMs, width, height, format, data };
}

/** A plugin recording the frames it gets; `onFrame` may be replaced. */
function recorder(
  name: string,
  onFrame: (f: AnalysisFrame, ctx: AnalysisContext) => void | Promise<void> = () => {},
  format?: FrameFormat,
): AnalysisPlugin & { frames: AnalysisFrame[]; ctx?: AnalysisContext; closed: number } {
  const plugin = {
    name,
    ...(format ? { format } : {}),
    frames: [] as AnalysisFrame[],
    ctx: undefined as AnalysisContext | undefined,
    closed: 0,
    open(ctx: AnalysisContext): AnalysisReader {
      plugin.ctx = ctx;
      return {
        onFrame: (f) => {
          plugin.frames.push(f);
          return onFrame(f, ctx);
        },
        close: () => {
          plugin.closed++;
        },
      };
    },
  };
  return plugin;
}

function makeHost(plugins: AnalysisPlugin[], extra: Partial<PluginHostOptions> = {}) {
  const events: AnalysisEvent[] = [];
  const loggers = new Map<string, { [K in keyof AnalysisLogger]: ReturnType<typeof vi.fn> }>();
  const log = vi.fn((plugin: string) => {
    let l = loggers.get(plugin);
    if (!l) {
      l = { info: vi.fn(), warn: vi.fn(), error: vi.fn() };
      loggers.set(plugin, l);
    }
    return l as unknown as AnalysisLogger;
  });
  const host = new PluginHost({
    stream: 'cam1',
    plugins,
    queueFrames: 2,
    emit: (e) => events.push(e),
    log,
    now: () => 1234,
    ...extra,
  });
  return { host, events, log, logger: (name: string) => loggers.get(name) };
}

describe('PluginHost.decoderFormat', () => {
  it.each([
    { formats: [], expected: 'gray' },
    { formats: [undefined], expected: 'gray' },
    { formats: ['gray', undefined], expected: 'gray' },
    { formats: ['gray', 'rgb24'], expected: 'rgb24' },
    { formats: ['rgb24'], expected: 'rgb24' },
  ] as const)('$formats → $expected', ({ formats, expected }) => {
    const plugins = formats.map((format, i) => recorder(`p${i}`, undefined, format));
    expect(PluginHost.decoderFormat(plugins)).toBe(expected);
  });
});

describe('PluginHost', () => {
  it('opens every plugin with the stream name', () => {
    const a = recorder('a');
    const b = recorder('b');
    makeHost([a, b]);
    expect(a.ctx?.stream).toBe('cam1');
    expect(b.ctx?.stream).toBe('cam1');
  });

  it('delivers dispatched frames in order to every plugin', async () => {
    const a = recorder('a');
    const b = recorder('b');
    const { host } = makeHost([a, b]);
    for (const pts of [0, 200, 400]) {
      host.dispatch(frame(pts));
      await flush();
    }
    expect(a.frames.map((f) => f.ptsMs)).toEqual([0, 200, 400]);
    expect(b.frames.map((f) => f.ptsMs)).toEqual([0, 200, 400]);
    expect(host.stats).toEqual([
      { plugin: 'a', delivered: 3, dropped: 0, errors: 0 },
      { plugin: 'b', delivered: 3, dropped: 0, errors: 0 },
    ]);
  });

  it('drops the oldest waiting frames for a slow plugin only', async () => {
    const pending: (() => void)[] = [];
    const slow = recorder(
      'slow',
      () =>
        new Promise<void>((resolve) => {
          pending.push(resolve);
        }),
    );
    const fast = recorder('fast');
    const { host } = makeHost([slow, fast], { queueFrames: 2 });

    for (const pts of [0, 1, 2, 3, 4]) {
      host.dispatch(frame(pts));
      await flush();
    }
    // slow is still on frame 0; its queue held 2 frames, so 1 and 2 were pushed out by 3 and 4
    expect(slow.frames.map((f) => f.ptsMs)).toEqual([0]);
    expect(host.stats[0]).toMatchObject({ plugin: 'slow', delivered: 0, dropped: 2 });
    expect(fast.frames.map((f) => f.ptsMs)).toEqual([0, 1, 2, 3, 4]);
    expect(host.stats[1]).toMatchObject({ plugin: 'fast', delivered: 5, dropped: 0 });

    pending.shift()?.();
    await flush();
    expect(slow.frames.map((f) => f.ptsMs)).toEqual([0, 3]);
    pending.shift()?.();
    await flush();
    pending.shift()?.();
    await flush();
    expect(slow.frames.map((f) => f.ptsMs)).toEqual([0, 3, 4]);
    expect(host.stats[0]).toMatchObject({ delivered: 3, dropped: 2, errors: 0 });
  });

  it.each([
    [
      'throws',
      () => {
        throw new Error('boom');
      },
    ],
    ['rejects', () => Promise.reject(new Error('boom'))],
  ])('counts and logs errors of a plugin that %s, and keeps feeding it', async (_what, fail) => {
    let calls = 0;
    const bad = recorder('bad', () => {
      calls++;
      if (calls <= 2) return fail();
    });
    const good = recorder('good');
    const { host, log, logger } = makeHost([bad, good]);
    for (const pts of [0, 1, 2]) {
      host.dispatch(frame(pts));
      await flush();
    }
    expect(bad.frames.map((f) => f.ptsMs)).toEqual([0, 1, 2]);
    expect(good.frames.map((f) => f.ptsMs)).toEqual([0, 1, 2]);
    expect(host.stats[0]).toEqual({ plugin: 'bad', delivered: 1, dropped: 0, errors: 2 });
    expect(log).toHaveBeenCalledWith('bad');
    // one log line for the first error; the next is only after 100 more
    expect(logger('bad')?.error).toHaveBeenCalledTimes(1);
    expect(logger('bad')?.error).toHaveBeenCalledWith(
      expect.stringContaining('onFrame: boom (1 errors so far) [DR_ERR_ANALYSIS_PLUGIN]'),
    );
    expect(logger('good')?.error).not.toHaveBeenCalled();
  });

  it('logs a constantly failing plugin once per errorLogIntervalMs, with the count so far', async () => {
    const bad = recorder('bad', () => {
      throw 'not an Error';
    });
    let nowMs = 1_000_000;
    const { host, logger } = makeHost([bad], { now: () => nowMs });
    for (let i = 0; i < 100; i++) {
      host.dispatch(frame(i));
      await flush();
    }
    expect(host.stats[0]?.errors).toBe(100);
    expect(logger('bad')?.error).toHaveBeenCalledTimes(1);
    nowMs += errorLogIntervalMs;
    host.dispatch(frame(100));
    await flush();
    expect(logger('bad')?.error).toHaveBeenCalledTimes(2);
    expect(logger('bad')?.error).toHaveBeenLastCalledWith(
      expect.stringContaining('onFrame: not an Error (101 errors so far)'),
    );
  });

  it('disables and logs a plugin whose open throws', async () => {
    const onFrame = vi.fn();
    const broken: AnalysisPlugin = {
      name: 'broken',
      open() {
        throw new Error('no model file');
      },
    };
    const spy: AnalysisPlugin = { name: 'spy', open: () => ({ onFrame }) };
    const { host, logger } = makeHost([broken, spy]);
    expect(logger('broken')?.error).toHaveBeenCalledWith(expect.stringContaining('open failed'));
    expect(logger('broken')?.error).toHaveBeenCalledWith(expect.stringContaining('no model file'));
    host.dispatch(frame(0));
    await flush();
    expect(onFrame).toHaveBeenCalledTimes(1);
    expect(host.stats[0]).toEqual({ plugin: 'broken', delivered: 0, dropped: 0, errors: 1 });
  });

  it('builds events with stream, plugin, type, the current frame pts and the injected clock', async () => {
    const p = recorder('motion', (_f, ctx) => ctx.emit('motion', { score: 12.5 }));
    const { host, events } = makeHost([p]);
    host.dispatch(frame(400));
    await flush();
    host.dispatch(frame(600));
    await flush();
    expect(events).toEqual([
      {
        stream: 'cam1',
        plugin: 'motion',
        type: 'motion',
        ptsMs: 400,
        wallClockMs: 1234,
        data: { score: 12.5 },
      },
      {
        stream: 'cam1',
        plugin: 'motion',
        type: 'motion',
        ptsMs: 600,
        wallClockMs: 1234,
        data: { score: 12.5 },
      },
    ]);
  });

  it('uses the ptsMs given to emit, and omits data when none is given', async () => {
    const p = recorder('p', (_f, ctx) => ctx.emit('tick', undefined, 99));
    const { host, events } = makeHost([p]);
    host.dispatch(frame(400));
    await flush();
    expect(events).toEqual([{ stream: 'cam1', plugin: 'p', type: 'tick', ptsMs: 99, wallClockMs: 1234 }]);
    expect('data' in (events[0] ?? {})).toBe(false);
  });

  it('keeps the frame pts for an event emitted after an await inside onFrame', async () => {
    const p = recorder('p', async (_f, ctx) => {
      await Promise.resolve();
      ctx.emit('late');
    });
    const { host, events } = makeHost([p]);
    host.dispatch(frame(800));
    await flush();
    expect(events[0]?.ptsMs).toBe(800);
  });

  it('emits with pts 0 outside of a frame', () => {
    const p = recorder('p');
    const { events } = makeHost([p]);
    p.ctx?.emit('hello');
    expect(events[0]).toMatchObject({ plugin: 'p', type: 'hello', ptsMs: 0 });
  });

  it('uses Date.now when no clock is injected', async () => {
    vi.useFakeTimers({ now: 5_000, toFake: ['Date'] });
    try {
      const p = recorder('p', (_f, ctx) => ctx.emit('x'));
      const { host, events } = makeHost([p], { now: undefined });
      host.dispatch(frame(0));
      await flush();
      expect(events[0]?.wallClockMs).toBe(5_000);
    } finally {
      vi.useRealTimers();
    }
  });

  it('converts rgb24 frames to gray for gray plugins and passes them as is to rgb24 plugins', async () => {
    const grayA = recorder('grayA', undefined, 'gray');
    const grayDefault = recorder('grayDefault');
    const rgb = recorder('rgb', undefined, 'rgb24');
    const { host } = makeHost([grayA, grayDefault, rgb]);
    const f = frame(100, 'rgb24');
    host.dispatch(f);
    await flush();

    expect(rgb.frames[0]).toBe(f);
    const g = grayA.frames[0];
    expect(g).toMatchObject({ stream: 'cam1', ptsMs: 100, width: 2, height: 1, format: 'gray' });
    expect([...(g?.data ?? [])]).toEqual([255, 76]);
    // converted once, shared by the gray plugins
    expect(grayDefault.frames[0]).toBe(g);
  });

  it('passes gray frames unchanged', async () => {
    const p = recorder('p');
    const { host } = makeHost([p]);
    const f = frame(0, 'gray');
    host.dispatch(f);
    await flush();
    expect(p.frames[0]).toBe(f);
  });

  it('close() closes the readers and stops dispatching', async () => {
    const p = recorder('p');
    const { host } = makeHost([p]);
    await host.close();
    await host.close();
    expect(p.closed).toBe(1);
    host.dispatch(frame(0));
    await flush();
    expect(p.frames).toEqual([]);
  });

  it('close() logs a reader whose close throws and still closes the others', async () => {
    const other = recorder('other');
    const bad: AnalysisPlugin = {
      name: 'bad',
      open: () => ({
        onFrame() {},
        close() {
          throw new Error('stuck');
        },
      }),
    };
    const { host, logger } = makeHost([bad, other]);
    await expect(host.close()).resolves.toBeUndefined();
    expect(logger('bad')?.error).toHaveBeenCalledWith(expect.stringContaining('close failed: stuck'));
    expect(other.closed).toBe(1);
  });
});
