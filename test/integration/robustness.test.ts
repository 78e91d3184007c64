import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMotionPlugin } from '../../src/analysis/motion-plugin.ts';
import type { AnalysisPlugin } from '../../src/analysis/types.ts';
import {
  archiveBytes,
  eventually,
  fixture,
  fixtureMimeTypes,
  sha256,
  sleep,
  startServer,
  TestPublisher,
  type TestServer,
} from '../_setup.ts';

describe('a failing sink never costs archived bytes or other sinks', () => {
  let t: TestServer;
  const slowCalls = new Map<string, number>();
  const throwCalls = new Map<string, number>();
  const count = (m: Map<string, number>, stream: string) => m.set(stream, (m.get(stream) ?? 0) + 1);
  const slow: AnalysisPlugin = {
    name: 'slow',
    open: () => ({
      async onFrame(frame) {
        count(slowCalls, frame.stream);
        await sleep(2000);
      },
    }),
  };
  const throwing: AnalysisPlugin = {
    name: 'throwing',
    open: () => ({
      onFrame(frame) {
        count(throwCalls, frame.stream);
        throw new Error('plugin bug');
      },
    }),
  };

  beforeAll(async () => {
    t = await startServer({ analyzers: [slow, throwing, createMotionPlugin()] });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('keeps archiving exactly when the packager ffmpeg dies, and warns the publisher', async () => {
    const data = await fixture('h264-opus', 6);
    const pub = new TestPublisher(t.wsUrl, 'killed');
    await pub.hello(fixtureMimeTypes['h264-opus']);
    const half = Math.floor(data.length / 2);
    await pub.sendPaced(data.subarray(0, half), 16 * 1024, 20);
    const ctx = await eventually(() => t.server.live('killed'), 5000, 'live context');
    await eventually(() => ctx.packager.state === 'running' || undefined, 10_000, 'packager running');
    process.kill(ctx.packager.pid ?? 0, 'SIGKILL');
    const warning = await pub.waitFor('warning');
    expect(warning).toMatchObject({ code: 'DR_ERR_PACKAGER_EXITED' });
    await pub.sendPaced(data.subarray(half), 16 * 1024, 20);
    await pub.end();
    await eventually(() => t.server.registry.get('killed') === undefined || undefined, 20_000, 'session end');
    expect(sha256(await archiveBytes(t, 'killed'))).toBe(sha256(data));
  });

  it('releases the publisher and keeps archiving when the packager dies while it is pushing back', async () => {
    // Bug: a sink that exited never drained, so the publisher stayed paused and the archive stopped growing.
    const s = await startServer({ analyzers: [], config: { ingest: { sinkHighWaterBytes: 16 * 1024 } } });
    try {
      const data = await fixture('h264', 8);
      const pub = new TestPublisher(s.wsUrl, 'stuck');
      await pub.hello(fixtureMimeTypes.h264);
      const ctx = await eventually(() => s.server.live('stuck'), 5000, 'live context');
      await pub.sendPaced(data.subarray(0, 32 * 1024), 16 * 1024, 20);
      await eventually(() => ctx.packager.state === 'running' || undefined, 10_000, 'packager running');
      const pid = ctx.packager.pid ?? 0;
      process.kill(pid, 'SIGSTOP');
      const sending = pub.sendPaced(data.subarray(32 * 1024), 16 * 1024, 5);
      await eventually(() => ctx.session.paused || undefined, 10_000, 'publisher paused by the packager');
      process.kill(pid, 'SIGKILL');
      await sending;
      await eventually(
        () => (ctx.session.bytesReceived === data.length ? true : undefined),
        10_000,
        'every byte received after the packager died',
      );
      await pub.end();
      await eventually(
        () => s.server.registry.get('stuck') === undefined || undefined,
        20_000,
        'session end',
      );
      expect(sha256(await archiveBytes(s, 'stuck'))).toBe(sha256(data));
    } finally {
      await s.close();
    }
  });

  it('packages and archives while one plugin is slow and another throws; their frames are dropped and counted', async () => {
    const data = await fixture('h264', 6);
    const pub = new TestPublisher(t.wsUrl, 'plugins');
    await pub.hello(fixtureMimeTypes.h264);
    const sending = pub.sendPaced(data, 16 * 1024, 30);
    const mpd = await fetch(`${t.url}/live/plugins/manifest.mpd`);
    expect(mpd.status).toBe(200);
    await sending;
    const ctx = t.server.live('plugins');
    await eventually(
      () => ((ctx?.analysis?.frames ?? 0) >= 20 ? true : undefined),
      15_000,
      '20 analysis frames',
    );
    const stats = Object.fromEntries((ctx?.analysis?.host.stats ?? []).map((s) => [s.plugin, s]));
    expect(stats.slow?.dropped).toBeGreaterThan(0);
    expect(slowCalls.get('plugins')).toBeLessThan(5);
    expect(stats.throwing?.errors).toBe(throwCalls.get('plugins'));
    expect(throwCalls.get('plugins')).toBeGreaterThanOrEqual(20);
    expect(stats.motion?.delivered).toBeGreaterThanOrEqual(20);
    const info = (await (await fetch(`${t.url}/api/streams/plugins`)).json()) as { packager: string };
    expect(info.packager).toBe('running');
    await pub.end();
    await eventually(
      () => t.server.registry.get('plugins') === undefined || undefined,
      20_000,
      'session end',
    );
    expect(sha256(await archiveBytes(t, 'plugins'))).toBe(sha256(data));
  });

  it('records motion events, serves them from the API and pushes them over SSE', async () => {
    const stream = 'motion';
    const events: string[] = [];
    const controller = new AbortController();
    const sse = fetch(`${t.url}/api/streams/${stream}/events/live`, { signal: controller.signal }).then(
      async (res) => {
        expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
        const reader = res.body?.getReader();
        const decoder = new TextDecoder();
        for (;;) {
          const { value, done } = (await reader?.read()) ?? { done: true, value: undefined };
          if (done) break;
          events.push(decoder.decode(value));
        }
      },
    );
    const data = await fixture('h264', 6);
    const pub = new TestPublisher(t.wsUrl, stream);
    await pub.hello(fixtureMimeTypes.h264);
    await pub.sendPaced(data, 16 * 1024, 30);
    await eventually(
      () => (events.join('').includes('event: analysis') ? true : undefined),
      15_000,
      'SSE analysis event',
    );
    expect(events.join('')).toMatch(/event: state\ndata: \{"live":true/);
    const recent = (await (await fetch(`${t.url}/api/streams/${stream}/events`)).json()) as {
      events: { type: string; plugin: string; data: { score: number } }[];
    };
    expect(recent.events.length).toBeGreaterThan(0);
    expect(recent.events[0]).toMatchObject({ type: 'motion', plugin: 'motion' });
    expect(recent.events[0]?.data.score).toBeGreaterThan(0);
    await pub.end();
    await eventually(
      () => (events.join('').includes('"live":false') ? true : undefined),
      20_000,
      'SSE end state',
    );
    controller.abort();
    await sse.catch(() => undefined);
  });
});

describe('analyzer modules (--analyzer)', () => {
  it('loads the README example plugin and delivers its events', async () => {
    const { loadAnalyzer } = await import('../../src/cli/serve.ts');
    const plugin = await loadAnalyzer('examples/brightness-plugin.mjs');
    expect(plugin.name).toBe('brightness');
    const t = await startServer({ analyzers: [plugin] });
    try {
      const pub = new TestPublisher(t.wsUrl, 'bright');
      await pub.hello(fixtureMimeTypes.h264);
      await pub.sendPaced(await fixture('h264'), 16 * 1024, 20);
      const event = await eventually(
        () => t.server.events.recent('bright').find((e) => e.type === 'brightness'),
        15_000,
        'brightness event',
      );
      expect(event).toMatchObject({ plugin: 'brightness', data: { dark: false } });
      await pub.end();
    } finally {
      await t.close();
    }
  });

  it('rejects a module without a plugin with DR_ERR_ANALYZER_LOAD', async () => {
    const { loadAnalyzer } = await import('../../src/cli/serve.ts');
    await expect(loadAnalyzer('package.json')).rejects.toMatchObject({ code: 'DR_ERR_ANALYZER_LOAD' });
    await expect(loadAnalyzer('examples/missing.mjs')).rejects.toMatchObject({
      code: 'DR_ERR_ANALYZER_LOAD',
    });
  });
});
