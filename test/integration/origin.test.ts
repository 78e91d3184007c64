import { EventEmitter } from 'node:events';
import { request } from 'node:http';
import { connect } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SegmentStore } from '../../src/live/segment-store.ts';
import { createDeliveryCounters, type DeliveryCounters } from '../../src/origin/deliver-file.ts';
import { type OriginPresentation, originPlugin } from '../../src/origin/origin-plugin.ts';
import { ffmpegDashNaming } from '../../src/packager/ffmpeg/file-names.ts';
import { PutReceiver } from '../../src/packager/ffmpeg/put-receiver.ts';
import { eventually, fixture, fixtureMimeTypes, sleep, startServer, TestPublisher } from '../_setup.ts';
import { startUpload } from '../_upload.ts';

/** Reads a response, reporting each piece as it arrives. */
function get(url: string, onData?: (chunk: Buffer) => void) {
  return new Promise<{
    status: number;
    headers: Record<string, string | string[] | undefined>;
    body: Buffer;
  }>((resolve, reject) => {
    request(url, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => {
        chunks.push(c);
        onData?.(c);
      });
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
      res.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
}

describe('origin: in-memory live delivery of the packager output', () => {
  let app: FastifyInstance;
  let receiver: PutReceiver;
  let store: SegmentStore;
  let counters: DeliveryCounters;
  let base: string;
  let put: string;

  beforeEach(async () => {
    receiver = new PutReceiver();
    await receiver.start();
    store = new SegmentStore('cam', { naming: ffmpegDashNaming });
    counters = createDeliveryCounters();
    // What the ffmpeg packager registers: segments and the MPD into the store.
    const registered = receiver.register({
      begin: (name) => store.begin(name),
      remove: (name) => store.remove(name),
      manifest: (raw) => store.publishManifest({ raw, adaptationSets: [] }),
    });
    // The uploads come from this test process, standing in for the packager's ffmpeg.
    receiver.setOwner(registered.path, process.pid);
    put = registered.baseUrl;
    // The session's segments under the path `s1`; its MPD is what the packager uploaded, with the timing URL.
    const presentation: OriginPresentation = Object.assign(new EventEmitter(), {
      render: (view: { timingUrl: string }) =>
        store.manifest && `${store.manifest.raw.toString()}<!--${view.timingUrl}-->`,
      resolve: (path: string, name: string) => {
        const kind = store.classify(name);
        return path === 's1' && kind
          ? { store, kind, ended: false, announcedAtMs: undefined, decodeTimeOffsetTicks: 0 }
          : undefined;
      },
    });
    app = Fastify({ forceCloseConnections: true });
    await app.register(originPlugin, {
      lookup: { presentation: (s) => (s === 'cam' ? { presentation, counters } : undefined) },
      holdSegmentMs: 400,
      holdStartMs: 400,
      maxViewerBufferBytes: 1024 * 1024,
    });
    base = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterEach(async () => {
    await app.close();
    await receiver.close();
  });

  it('streams a CMAF chunk to a waiting viewer before the segment is complete', async () => {
    const upload = startUpload(`${put}seg-0-00001.m4s`);
    await upload.write('first-chunk|');
    await eventually(() => store.get('seg-0-00001.m4s'), 2000, 'segment started');
    let firstSeen = '';
    const viewing = get(`${base}/live/cam/s1/seg-0-00001.m4s`, (c) => {
      firstSeen ||= c.toString();
    });
    await eventually(() => firstSeen || undefined, 2000, 'first chunk at the viewer');
    expect(firstSeen).toBe('first-chunk|');
    expect(store.get('seg-0-00001.m4s')?.complete).toBe(false);
    await upload.write('second-chunk');
    expect(await upload.end()).toBe(204);
    const res = await viewing;
    expect(res.status).toBe(200);
    expect(res.headers['transfer-encoding']).toBe('chunked');
    expect(res.body.toString()).toBe('first-chunk|second-chunk');
    expect(res.headers['cache-control']).toMatch(/immutable/);
    expect(res.headers['access-control-allow-origin']).toBe('*');

    const again = await get(`${base}/live/cam/s1/seg-0-00001.m4s`);
    expect(again.headers['content-length']).toBe(String('first-chunk|second-chunk'.length));
  });

  it('holds a request for the next segment until the packager starts it', async () => {
    const upload1 = startUpload(`${put}seg-0-00001.m4s`);
    await upload1.write('one');
    await upload1.end();
    const held = get(`${base}/live/cam/s1/seg-0-00002.m4s`);
    await sleep(100);
    const upload2 = startUpload(`${put}seg-0-00002.m4s`);
    await upload2.write('two');
    await upload2.end();
    const res = await held;
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe('two');
  });

  it('answers 404 when a held segment does not start in time, or fell out of the window', async () => {
    for (const n of [1, 2, 3]) {
      const u = startUpload(`${put}seg-0-0000${n}.m4s`);
      await u.write(`s${n}`);
      await u.end();
    }
    const del = await new Promise<number>((resolve) =>
      request(`${put}seg-0-00001.m4s`, { method: 'DELETE' }, (res) => resolve(res.statusCode ?? 0)).end(),
    );
    expect(del).toBe(204);
    const gone = await get(`${base}/live/cam/s1/seg-0-00001.m4s`);
    expect(gone.status).toBe(404);
    expect(JSON.parse(gone.body.toString())).toMatchObject({ code: 'DR_ERR_SEGMENT_NOT_FOUND' });
    const timedOut = await get(`${base}/live/cam/s1/seg-0-00004.m4s`);
    expect(timedOut.status).toBe(404);
    const farFuture = await get(`${base}/live/cam/s1/seg-0-00099.m4s`);
    expect(farFuture.status).toBe(404);
  });

  it.each([
    ['a name outside the packager files', '/live/cam/s1/secret.txt'],
    ['a path traversal', '/live/cam/s1/..%2F..%2Fetc%2Fpasswd'],
    ['a path traversal in the session path', '/live/cam/..%2F..%2F/etc%2Fpasswd'],
    ['a stream that is not live', '/live/other/manifest.mpd'],
    ['an invalid stream name', '/live/a.b/manifest.mpd'],
  ])('answers 404 to %s', async (_why, path) => {
    const res = await get(`${base}${path}`);
    expect(res.status).toBe(404);
    expect(JSON.parse(res.body.toString()).code).toMatch(/^DR_ERR_/);
  });

  it('serves the manifest whole, no-cache, rendered for this server', async () => {
    const mpd = '<MPD type="dynamic"></MPD>';
    const u = startUpload(`${put}manifest.mpd`);
    await u.write(mpd.slice(0, 20));
    await u.write(mpd.slice(20));
    await u.end();
    const res = await get(`${base}/live/cam/manifest.mpd`);
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-cache');
    expect(res.headers['content-type']).toMatch(/application\/dash\+xml/);
    expect(res.body.toString()).toBe(`${mpd}<!--${base}/time-->`);
  });

  it('serves /time as ISO 8601 UTC', async () => {
    const res = await get(`${base}/time`);
    expect(res.status).toBe(200);
    const text = res.body.toString();
    expect(text).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(Math.abs(Date.parse(text) - Date.now())).toBeLessThan(5000);
  });

  it('refuses writes with a wrong secret', async () => {
    const status = await startUpload(`${put.replace(/\/[0-9a-f]{32}\//, '/deadbeef/')}seg-0-00001.m4s`).end();
    expect(status).toBe(403);
    expect(store.get('seg-0-00001.m4s')).toBeUndefined();
  });

  it('cuts off a viewer that stops reading without delaying another viewer', async () => {
    const upload = startUpload(`${put}seg-0-00001.m4s`);
    await upload.write('x');
    await eventually(() => store.get('seg-0-00001.m4s'), 2000, 'segment started');
    // A raw client that sends the request and never reads the response.
    const stalled = connect(Number(new URL(base).port), '127.0.0.1');
    stalled.write(`GET /live/cam/s1/seg-0-00001.m4s HTTP/1.1\r\nHost: x\r\n\r\n`);
    stalled.pause();
    const stalledClosed = new Promise<void>((resolve) => stalled.on('close', () => resolve()));
    stalled.on('error', () => {});
    await eventually(() => counters.openResponses === 1 || undefined, 2000, 'stalled viewer attached');
    const healthy = get(`${base}/live/cam/s1/seg-0-00001.m4s`);
    const piece = Buffer.alloc(64 * 1024, 7);
    // 20 MiB at about 12 MB/s, like a very high-bitrate live segment: far past the 1 MiB bound.
    for (let i = 0; i < 320; i++) {
      await upload.write(piece);
      await sleep(5);
    }
    await upload.end();
    const res = await healthy;
    expect(res.body.length).toBe(1 + 320 * piece.length);
    await eventually(() => counters.viewersCutOff === 1 || undefined, 5000, 'stalled viewer cut off');
    stalled.resume();
    await stalledClosed;
  });
});

describe('origin behind an HTTPS reverse proxy', () => {
  it.each([
    [true, 'https://relay.example/time'],
    [false, undefined],
  ])('with trustProxy %s, the MPD UTCTiming follows X-Forwarded-Proto/Host: %s', async (trustProxy, want) => {
    const t = await startServer({ analyzers: [], config: { server: { trustProxy } } });
    try {
      const pub = new TestPublisher(t.wsUrl, 'proxied');
      await pub.hello(fixtureMimeTypes.h264);
      const sending = pub.sendPaced(await fixture('h264'), 16 * 1024, 20);
      const res = await fetch(`${t.url}/live/proxied/manifest.mpd`, {
        headers: { 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'relay.example' },
      });
      const mpd = await res.text();
      const timing = /<UTCTiming\b[^>]*\svalue="([^"]*)"/.exec(mpd)?.[1];
      expect(timing).toBe(want ?? `${t.url}/time`);
      await sending;
      await pub.end();
    } finally {
      await t.close();
    }
  });
});
