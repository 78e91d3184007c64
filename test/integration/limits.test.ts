import { writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  archiveBytes,
  eventually,
  fixture,
  fixtureMimeTypes,
  pushRtmp,
  rawGet,
  sleep,
  startServer,
  TestPublisher,
  type TestServer,
} from '../_setup.ts';

describe('limits: streams, held requests, viewers and request timeouts', () => {
  let t: TestServer;
  const publishers: TestPublisher[] = [];
  beforeAll(async () => {
    t = await startServer({
      analyzers: [],
      config: {
        server: { requestTimeoutMs: 1000 },
        events: { sseHeartbeatMs: 1000 },
        limits: { maxStreams: 2, maxHeldRequests: 2, maxViewersPerStream: 1 },
      },
    });
  });
  afterAll(async () => {
    for (const p of publishers) p.ws.terminate();
    await t?.close();
  });

  it('refuses a publisher beyond maxStreams with 4429 DR_ERR_LIMIT_STREAMS on WebSocket and Rejected on RTMP', async () => {
    for (const name of ['one', 'two']) {
      const p = new TestPublisher(t.wsUrl, name);
      publishers.push(p);
      await p.hello(fixtureMimeTypes.h264);
    }
    const third = new TestPublisher(t.wsUrl, 'three');
    await third.opened;
    third.ws.send(JSON.stringify({ type: 'hello', mimeType: fixtureMimeTypes.h264 }));
    await third.closed;
    expect(third.closeCode).toBe(4429);
    expect(third.messages.find((m) => m.type === 'error')).toMatchObject({ code: 'DR_ERR_LIMIT_STREAMS' });

    const file = join(tmpdir(), `dashrelay-limits-${process.pid}.mkv`);
    await writeFile(file, await fixture('h264', 4));
    const pushed = await pushRtmp(file, `${t.server.rtmpUrl}/rtmp3`);
    expect(await pushed.exited).not.toBe(0);
    expect(pushed.stderr()).toMatch(/live streams|DR_ERR_LIMIT_STREAMS|Rejected/i);
    expect(t.server.registry.get('rtmp3')).toBeUndefined();
  });

  it('answers 429 DR_ERR_LIMIT_HELD_REQUESTS beyond maxHeldRequests, at once, and holds again once they are answered', async () => {
    // 'one' said hello and sent nothing: its MPD is held until its first Period.
    const url = `${t.url}/live/one/manifest.mpd`;
    const controllers = [new AbortController(), new AbortController()];
    const held = controllers.map((c) => fetch(url, { signal: c.signal }).catch(() => undefined));
    await sleep(300);
    const startedAt = Date.now();
    const third = await fetch(url);
    expect(third.status).toBe(429);
    expect(((await third.json()) as { code: string }).code).toBe('DR_ERR_LIMIT_HELD_REQUESTS');
    // Refused without being held (a held MPD waits seconds).
    expect(Date.now() - startedAt).toBeLessThan(1000);
    for (const c of controllers) c.abort();
    await Promise.all(held);
    // Aborted clients stop counting: a new request is held (not refused) again.
    const again = new AbortController();
    const pending = fetch(url, { signal: again.signal }).then(
      (r) => r.status,
      () => 'aborted',
    );
    await sleep(300);
    again.abort();
    expect(await pending).toBe('aborted');
  });

  it('answers a second client address 429 DR_ERR_LIMIT_VIEWERS beyond maxViewersPerStream; the first keeps watching', async () => {
    const p = publishers[1];
    if (!p) throw new Error('no publisher');
    const data = await fixture('h264', 4);
    const sending = p.sendPaced(data, 16 * 1024, 40);
    const mpd = `${t.url}/live/two/manifest.mpd`;
    expect((await rawGet(mpd, { localAddress: '127.0.0.1' })).status).toBe(200);
    const second = await rawGet(mpd, { localAddress: '127.0.0.2' });
    expect(second.status).toBe(429);
    expect(JSON.parse(second.body)).toMatchObject({ code: 'DR_ERR_LIMIT_VIEWERS' });
    expect((await rawGet(mpd, { localAddress: '127.0.0.1' })).status).toBe(200);
    await sending;
  });

  it('closes a connection that sends its headers too slowly (slowloris) with 408', async () => {
    const port = new URL(t.url).port;
    const socket = connect(Number(port), '127.0.0.1');
    let answer = '';
    socket.on('data', (d: Buffer) => {
      answer += d.toString();
    });
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.write('GET /capture.html HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    let open = true;
    void closed.then(() => {
      open = false;
    });
    const dripping = (async () => {
      for (let i = 0; i < 100 && open; i++) {
        socket.write('X');
        await sleep(100);
      }
    })();
    await Promise.race([closed, sleep(6000)]);
    expect(open).toBe(false);
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    await dripping;
  });

  it('closes a TCP connection that sends nothing at all within requestTimeoutMs', async () => {
    const socket = connect(Number(new URL(t.url).port), '127.0.0.1');
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    const outcome = await Promise.race([closed.then(() => 'closed'), sleep(6000).then(() => 'open')]);
    socket.destroy();
    expect(outcome).toBe('closed');
  });

  it('keeps an SSE event feed and a WebSocket publisher open well past requestTimeoutMs', async () => {
    const controller = new AbortController();
    const res = await fetch(`${t.url}/api/streams/one/events/live`, { signal: controller.signal });
    expect(res.status).toBe(200);
    const reader = res.body?.getReader();
    if (!reader) throw new Error('no body');
    const deadline = Date.now() + 3500;
    let chunks = 0;
    while (Date.now() < deadline) {
      const { done } = await reader.read();
      if (done) break;
      chunks++;
    }
    // Heartbeats every second kept arriving for 3.5 s, more than three times the 1 s request timeout.
    expect(chunks).toBeGreaterThanOrEqual(3);
    controller.abort();
    expect(publishers[0]?.closeCode).toBeUndefined();
    expect(t.server.registry.get('one')).toBeDefined();
  });
});

describe('limits: maxIngestBitrateBps', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startServer({ analyzers: [], config: { limits: { maxIngestBitrateBps: 1_000_000 } } });
  });
  afterAll(async () => t?.close());

  it('lets a publisher under the limit through', async () => {
    const data = await fixture('h264', 4);
    const p = new TestPublisher(t.wsUrl, 'under');
    await p.hello(fixtureMimeTypes.h264);
    // ~490 kbit/s in real time (4 s of video over ~4 s).
    await p.sendPaced(data, 8 * 1024, 60);
    await p.end();
    expect(p.closeCode).toBe(1000);
    expect(p.messages.find((m) => m.type === 'error')).toBeUndefined();
  });

  it('tells a publisher over the limit 4429 DR_ERR_LIMIT_BITRATE, disconnects it, and archives every byte it received', async () => {
    const data = await fixture('h264', 20);
    const p = new TestPublisher(t.wsUrl, 'over');
    await p.hello(fixtureMimeTypes.h264);
    // ~3.3 Mbit/s: 5 Mbit (over 1 Mbit/s averaged on 5 s) are in after ~1.6 s.
    await p.sendPaced(data, 16 * 1024, 40);
    await Promise.race([p.closed, sleep(10_000)]);
    expect(p.closeCode).toBe(4429);
    expect(p.messages.find((m) => m.type === 'error')).toMatchObject({ code: 'DR_ERR_LIMIT_BITRATE' });
    await eventually(() => t.server.registry.get('over') === undefined || undefined, 20_000, 'session end');
    const archived = await archiveBytes(t, 'over');
    expect(archived.length).toBeGreaterThan(100_000);
    expect(archived.length).toBeLessThan(data.length);
    expect(archived.equals(data.subarray(0, archived.length))).toBe(true);
  });
});
