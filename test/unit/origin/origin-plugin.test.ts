import { EventEmitter } from 'node:events';
import { request } from 'node:http';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ManifestView, SegmentKind } from '../../../src/contracts/segments.ts';
import type { LiveFile } from '../../../src/live/live-file.ts';
import type { ResolvedSegment } from '../../../src/live/presentation.ts';
import { SegmentStore } from '../../../src/live/segment-store.ts';
import { createDeliveryCounters, type DeliveryCounters } from '../../../src/origin/deliver-file.ts';
import {
  type OriginPluginOptions,
  type OriginPresentation,
  originPlugin,
} from '../../../src/origin/origin-plugin.ts';
import { ffmpegDashNaming } from '../../../src/packager/ffmpeg/file-names.ts';
import { sleep } from '../../_setup.ts';

interface Response {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** node:http rather than fetch, so a test can send the Host header a viewer behind a name would. */
function send(base: string, path: string, init: { method?: string; host?: string } = {}): Promise<Response> {
  return new Promise((resolve, reject) => {
    const headers = init.host ? { Host: init.host } : {};
    request(`${base}${path}`, { method: init.method ?? 'GET', headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
        }),
      );
      res.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
}

/**
 * A presentation double over a real SegmentStore served under the session path `s1`: renders `mpd`
 * (with the view's timing URL), records the views, announces segments at `announced`.
 */
class FakePresentation extends EventEmitter<{ period: []; continued: [] }> implements OriginPresentation {
  mpd: string | undefined;
  ended = false;
  /** Set while the session's publisher may return (republishGraceMs). */
  awaitingUntilMs: number | undefined;
  /** What a returning publisher makes of a name: another store's segment, with a tfdt shift. */
  continuedAs: ((name: string) => ResolvedSegment | undefined) | undefined;
  announced: ((segment: SegmentKind) => number | undefined) | undefined;
  readonly views: ManifestView[] = [];
  constructor(readonly store: SegmentStore) {
    super();
  }
  /** A new MPD, as when a Period is added. */
  publish(mpd: string): void {
    this.mpd = mpd;
    this.emit('period');
  }
  render(view: ManifestView): string | undefined {
    if (this.mpd === undefined) return undefined;
    this.views.push(view);
    return `${this.mpd}|timing=${view.timingUrl}`;
  }
  resolve(path: string, name: string): ResolvedSegment | undefined {
    const kind = this.store.classify(name);
    if (path !== 's1' || !kind) return undefined;
    if (this.continuedAs) return this.continuedAs(name);
    const announcedAtMs = this.announced?.(kind);
    const { ended, awaitingUntilMs } = this;
    return { store: this.store, kind, ended, announcedAtMs, decodeTimeOffsetTicks: 0, awaitingUntilMs };
  }
}

function write(store: SegmentStore, name: string, body: string): LiveFile {
  const file = store.begin(name);
  if (!file) throw new Error(`${name} is not an ffmpeg segment name`);
  file.append(Buffer.from(body));
  file.finish();
  return file;
}

const holdSegmentMs = 150;
const holdStartMs = 300;

describe('originPlugin (real HTTP, real SegmentStore, fake manifest)', () => {
  let app: FastifyInstance | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  async function start(opts: Partial<OriginPluginOptions> = {}) {
    const store = new SegmentStore('cam', { naming: ffmpegDashNaming });
    const presentation = new FakePresentation(store);
    const counters: DeliveryCounters = createDeliveryCounters();
    const lookup = vi.fn((stream: string) => (stream === 'cam' ? { presentation, counters } : undefined));
    app = Fastify({ logger: false });
    await app.register(originPlugin, {
      lookup: { presentation: lookup },
      holdSegmentMs,
      holdStartMs,
      maxViewerBufferBytes: 1024 * 1024,
      ...opts,
    });
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    return { base, store, presentation, counters, lookup };
  }

  /** Awaits `pending` and returns how long it took, ms. */
  async function timed<T>(pending: Promise<T>): Promise<{ value: T; ms: number }> {
    const t0 = performance.now();
    const value = await pending;
    return { value, ms: performance.now() - t0 };
  }

  describe('manifest', () => {
    it('renders the published manifest for the viewer, with /time on the host it asked', async () => {
      const { base, presentation } = await start();
      presentation.publish('<MPD/>');
      const res = await send(base, '/live/cam/manifest.mpd', { host: 'relay.example:8080' });
      expect(res.status).toBe(200);
      expect(res.body).toBe('<MPD/>|timing=http://relay.example:8080/time');
      expect(presentation.views).toEqual([{ timingUrl: 'http://relay.example:8080/time' }]);
      expect(res.headers['content-type']).toMatch(/^application\/dash\+xml/);
      expect(res.headers['cache-control']).toBe('no-cache');
      expect(res.headers['access-control-allow-origin']).toBe('*');
      expect(res.headers['timing-allow-origin']).toBe('*');
    });

    it('serves the newest manifest, rendered per request', async () => {
      const { base, presentation } = await start();
      presentation.publish('v1');
      presentation.publish('v2');
      expect((await send(base, '/live/cam/manifest.mpd', { host: 'a' })).body).toBe(
        'v2|timing=http://a/time',
      );
      expect((await send(base, '/live/cam/manifest.mpd', { host: 'b' })).body).toBe(
        'v2|timing=http://b/time',
      );
      expect(presentation.views).toHaveLength(2);
    });

    it('holds a request made before the first Period until there is one', async () => {
      const { base, presentation } = await start({ holdStartMs: 5000 });
      const held = timed(send(base, '/live/cam/manifest.mpd'));
      await sleep(100);
      expect(presentation.listenerCount('period')).toBe(1);
      presentation.publish('late');
      const { value: res, ms } = await held;
      expect(res.status).toBe(200);
      expect(res.body).toMatch(/^late\|timing=http:\/\/127\.0\.0\.1:\d+\/time$/);
      expect(ms).toBeLessThan(2000);
      expect(presentation.listenerCount('period')).toBe(0);
    });

    it('answers 404 DR_ERR_SEGMENT_NOT_FOUND when none is published within holdStartMs', async () => {
      const { base, presentation } = await start();
      const { value: res, ms } = await timed(send(base, '/live/cam/manifest.mpd'));
      expect(ms).toBeGreaterThanOrEqual(holdStartMs - 20);
      expect(res.status).toBe(404);
      expect(JSON.parse(res.body)).toEqual({
        code: 'DR_ERR_SEGMENT_NOT_FOUND',
        message: expect.stringContaining('manifest.mpd'),
      });
      expect(res.headers['access-control-allow-origin']).toBe('*');
      expect(presentation.listenerCount('period')).toBe(0);
    });
  });

  describe('streams', () => {
    it.each([
      ['a stream that is not live', '/live/other/manifest.mpd', 'other'],
      ['a stream that is not live, asked for a segment', '/live/other/s1/seg-0-00001.m4s', 'other'],
    ])('answers 404 DR_ERR_STREAM_NOT_FOUND to %s', async (_why, path, asked) => {
      const { base, lookup } = await start();
      const res = await send(base, path);
      expect(res.status).toBe(404);
      expect(res.headers['access-control-allow-origin']).toBe('*');
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(JSON.parse(res.body)).toEqual({
        code: 'DR_ERR_STREAM_NOT_FOUND',
        message: expect.stringContaining(asked),
      });
      expect(lookup).toHaveBeenCalledWith(asked);
    });

    it('never looks up an invalid stream name', async () => {
      const { base, lookup } = await start();
      const res = await send(base, `/live/${'x'.repeat(65)}/manifest.mpd`);
      expect(res.status).toBe(404);
      expect(JSON.parse(res.body).code).toBe('DR_ERR_STREAM_NOT_FOUND');
      expect(lookup).not.toHaveBeenCalled();
    });
  });

  describe('segments', () => {
    it('serves a complete segment whole, immutable, counted on the stream counters', async () => {
      const { base, store, counters } = await start();
      write(store, 'seg-0-00001.m4s', 'media-bytes');
      const res = await send(base, '/live/cam/s1/seg-0-00001.m4s');
      expect(res.status).toBe(200);
      expect(res.body).toBe('media-bytes');
      expect(res.headers['content-length']).toBe('11');
      expect(res.headers['content-type']).toBe('video/mp4');
      expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      expect(res.headers['access-control-allow-origin']).toBe('*');
      expect(counters.bytesServed).toBe(11);
    });

    it('answers 404 at once to a name the packager never writes', async () => {
      const { base, store } = await start({ holdStartMs: 5000, holdSegmentMs: 5000 });
      const { value: res, ms } = await timed(send(base, '/live/cam/s1/segment.mp4'));
      expect(res.status).toBe(404);
      expect(JSON.parse(res.body)).toEqual({
        code: 'DR_ERR_SEGMENT_NOT_FOUND',
        message: expect.stringContaining('segment.mp4'),
      });
      expect(ms).toBeLessThan(1000);
      expect(store.listenerCount('started')).toBe(0);
    });

    it('answers 404 to a segment whose upload broke', async () => {
      const { base, store } = await start();
      store.begin('seg-0-00001.m4s')?.abort();
      const res = await send(base, '/live/cam/s1/seg-0-00001.m4s');
      expect(res.status).toBe(404);
      expect(JSON.parse(res.body).code).toBe('DR_ERR_SEGMENT_NOT_FOUND');
    });

    it('holds an init request until the packager starts it, on a stream long running', async () => {
      const { base, store } = await start({ holdStartMs: 5000 });
      for (let n = 1; n <= 10; n++) write(store, `seg-1-${String(n).padStart(5, '0')}.m4s`, 'x');
      const held = send(base, '/live/cam/s1/init-1.m4s');
      await sleep(100);
      write(store, 'init-1.m4s', 'moov');
      const res = await held;
      expect(res.status).toBe(200);
      expect(res.body).toBe('moov');
      expect(store.listenerCount('started')).toBe(0);
    });

    it('holds the first segments of a stream that has none yet for holdStartMs', async () => {
      const { base, store } = await start();
      const held = send(base, '/live/cam/s1/seg-0-00003.m4s');
      await sleep(holdSegmentMs + 50);
      write(store, 'seg-0-00003.m4s', 'three');
      expect((await held).body).toBe('three');
    });

    it('does not hold a segment past the first three of a stream that has none yet', async () => {
      const { base } = await start({ holdStartMs: 5000, holdSegmentMs: 5000 });
      const { value: res, ms } = await timed(send(base, '/live/cam/s1/seg-0-00004.m4s'));
      expect(res.status).toBe(404);
      expect(ms).toBeLessThan(1000);
    });

    it('holds the next segment until it starts and streams it while it is written', async () => {
      const { base, store, counters } = await start({ holdSegmentMs: 5000 });
      write(store, 'seg-0-00005.m4s', 'five');
      const held = send(base, '/live/cam/s1/seg-0-00006.m4s');
      await sleep(100);
      const file = store.begin('seg-0-00006.m4s');
      file?.append(Buffer.from('six-a|'));
      await sleep(50);
      expect(counters.openResponses).toBe(1);
      file?.append(Buffer.from('six-b'));
      file?.finish();
      const res = await held;
      expect(res.status).toBe(200);
      expect(res.headers['transfer-encoding']).toBe('chunked');
      expect(res.body).toBe('six-a|six-b');
      expect(counters.openResponses).toBe(0);
    });

    it('ignores other files starting while it holds a request', async () => {
      const { base, store } = await start({ holdSegmentMs: 5000 });
      write(store, 'seg-0-00005.m4s', 'five');
      const held = send(base, '/live/cam/s1/seg-0-00007.m4s');
      await sleep(50);
      write(store, 'seg-1-00006.m4s', 'other representation');
      write(store, 'seg-0-00006.m4s', 'six');
      await sleep(50);
      expect(store.listenerCount('started')).toBe(1);
      write(store, 'seg-0-00007.m4s', 'seven');
      expect((await held).body).toBe('seven');
    });

    it('answers 404 after holdSegmentMs when the next segment does not start, and stops listening', async () => {
      const { base, store } = await start({ holdStartMs: 5000 });
      write(store, 'seg-0-00005.m4s', 'five');
      const { value: res, ms } = await timed(send(base, '/live/cam/s1/seg-0-00006.m4s'));
      expect(res.status).toBe(404);
      expect(JSON.parse(res.body).code).toBe('DR_ERR_SEGMENT_NOT_FOUND');
      expect(res.headers['access-control-allow-origin']).toBe('*');
      expect(ms).toBeGreaterThanOrEqual(holdSegmentMs - 20);
      expect(ms).toBeLessThan(holdStartMs);
      expect(store.listenerCount('started')).toBe(0);
    });

    it.each([
      ['more than two ahead of the newest', 'seg-0-00008.m4s'],
      ['older than the newest and gone', 'seg-0-00004.m4s'],
    ])('answers 404 at once to a segment %s', async (_why, name) => {
      const { base, store } = await start({ holdStartMs: 5000, holdSegmentMs: 5000 });
      write(store, 'seg-0-00005.m4s', 'five');
      const { value: res, ms } = await timed(send(base, `/live/cam/s1/${name}`));
      expect(res.status).toBe(404);
      expect(ms).toBeLessThan(1000);
    });

    it('holds a segment further ahead while the MPD already announced it (a publisher behind real time)', async () => {
      const { base, store, presentation } = await start({ holdStartMs: 5000, holdSegmentMs: 200 });
      write(store, 'seg-0-00005.m4s', 'five');
      presentation.announced = () => Date.now() - 2000;
      const held = timed(send(base, '/live/cam/s1/seg-0-00009.m4s'));
      await sleep(500);
      write(store, 'seg-0-00009.m4s', 'nine');
      const { value: res } = await held;
      expect(res.body).toBe('nine');
    });

    it('answers 404 at once for a segment past the newest of a session that ended', async () => {
      const { base, store, presentation } = await start({ holdStartMs: 5000, holdSegmentMs: 5000 });
      write(store, 'seg-0-00005.m4s', 'five');
      presentation.ended = true;
      const { value: res, ms } = await timed(send(base, '/live/cam/s1/seg-0-00006.m4s'));
      expect(res.status).toBe(404);
      expect(ms).toBeLessThan(1000);
      expect((await send(base, '/live/cam/s1/seg-0-00005.m4s')).body).toBe('five');
    });

    it('holds the slot after an ended session while its publisher may return, and answers it from the return', async () => {
      const { base, store, presentation } = await start({ holdStartMs: 100, holdSegmentMs: 100 });
      write(store, 'seg-0-00005.m4s', 'five');
      presentation.awaitingUntilMs = Date.now() + 5000;
      // Longer than any per-segment hold: VLC ends the stream at a 404 there.
      const held = timed(send(base, '/live/cam/s1/seg-0-00006.m4s'));
      await sleep(400);
      // The returning publisher continues the Period: slot 6 is now its store's segment 1.
      const returned = new SegmentStore('cam', { naming: ffmpegDashNaming });
      write(returned, 'seg-0-00001.m4s', 'one of the returning publisher');
      presentation.continuedAs = () => ({
        store: returned,
        kind: { kind: 'media', representation: 0, number: 1 },
        ended: false,
        announcedAtMs: undefined,
        decodeTimeOffsetTicks: 0,
      });
      presentation.emit('continued');
      const { value: res, ms } = await held;
      expect(res.status).toBe(200);
      expect(res.body).toBe('one of the returning publisher');
      expect(ms).toBeGreaterThanOrEqual(350);
      expect(presentation.listenerCount('continued')).toBe(0);
    });

    it('answers 404 to a session path the presentation does not list', async () => {
      const { base, store } = await start();
      write(store, 'seg-0-00001.m4s', 'one');
      const res = await send(base, '/live/cam/s2/seg-0-00001.m4s');
      expect(res.status).toBe(404);
      expect(JSON.parse(res.body).code).toBe('DR_ERR_SEGMENT_NOT_FOUND');
    });

    it('judges "next" per representation', async () => {
      const { base, store } = await start({ holdStartMs: 5000, holdSegmentMs: 5000 });
      write(store, 'seg-0-00050.m4s', 'video');
      // Representation 1 has no segment yet: 51 is far past its start, so it is not waited for.
      const { value: res, ms } = await timed(send(base, '/live/cam/s1/seg-1-00051.m4s'));
      expect(res.status).toBe(404);
      expect(ms).toBeLessThan(1000);
    });
  });

  describe('/time and preflight', () => {
    it('serves /time as ISO 8601 UTC, never cached, readable cross-origin', async () => {
      const { base } = await start();
      const before = Date.now();
      const res = await send(base, '/time');
      const after = Date.now();
      expect(res.status).toBe(200);
      expect(res.body).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      const t = Date.parse(res.body);
      expect(t).toBeGreaterThanOrEqual(before);
      expect(t).toBeLessThanOrEqual(after);
      expect(res.headers['content-type']).toMatch(/^text\/plain/);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers['access-control-allow-origin']).toBe('*');
      expect(res.headers['timing-allow-origin']).toBe('*');
    });

    it('answers a CORS preflight for live files with 204', async () => {
      const { base, lookup } = await start();
      const res = await send(base, '/live/cam/s1/seg-0-00001.m4s', { method: 'OPTIONS' });
      expect(res.status).toBe(204);
      expect(res.body).toBe('');
      expect(res.headers['access-control-allow-origin']).toBe('*');
      expect(res.headers['access-control-allow-methods']).toBe('GET, HEAD, OPTIONS');
      expect(res.headers['access-control-allow-headers']).toBe('*');
      expect(lookup).not.toHaveBeenCalled();
    });
  });
});
