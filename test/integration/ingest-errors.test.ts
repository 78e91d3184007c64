import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  archiveBytes,
  eventually,
  fixture,
  fixtureMimeTypes,
  sha256,
  startServer,
  TestPublisher,
  type TestServer,
} from '../_setup.ts';

describe('ingest refuses bad input with clear errors and leaves other streams alone', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startServer({ analyzers: [] });
  });
  afterAll(async () => {
    await t?.close();
  });

  it.each([
    ['has a slash', 'a%2Fb'],
    ['is too long', 'x'.repeat(65)],
    ['has a dot', 'cam.1'],
  ])('refuses a stream name that %s with close code 4001', async (_why, name) => {
    const pub = new TestPublisher(t.wsUrl, name);
    await pub.closed;
    expect(pub.closeCode).toBe(4001);
    expect(pub.closeReason).toMatch(/Invalid stream name/);
    expect(pub.messages[0]).toMatchObject({ type: 'error', code: 'DR_ERR_INGEST_STREAM_NAME' });
  });

  it.each<[string, string | Buffer, number, string]>([
    ['text that is not JSON', 'hello?', 4000, 'DR_ERR_INGEST_BAD_MESSAGE'],
    ['a hello without mimeType', JSON.stringify({ type: 'hello' }), 4000, 'DR_ERR_INGEST_BAD_MESSAGE'],
    [
      'a QuickTime mimeType',
      JSON.stringify({ type: 'hello', mimeType: 'video/quicktime' }),
      4005,
      'DR_ERR_INGEST_UNSUPPORTED_MIME',
    ],
    ...[
      'video/webm;codecs=hev1.1.6.L93.B0',
      'video/mp4;codecs="hvc1"',
      'video/webm;codecs=theora',
      'video/webm;codecs=h264,made-up',
      'video/webm;codecs=opus',
    ].map(
      (mimeType) =>
        [
          `a hello for ${mimeType}`,
          JSON.stringify({ type: 'hello', mimeType }),
          4005,
          'DR_ERR_INGEST_UNSUPPORTED_CODEC',
        ] as [string, string, number, string],
    ),
    ['media bytes before hello', Buffer.from([0x1a, 0x45, 0xdf, 0xa3]), 4002, 'DR_ERR_INGEST_NO_HELLO'],
  ])('closes a publisher that sends %s', async (_why, payload, closeCode, code) => {
    const pub = new TestPublisher(t.wsUrl, 'bad-first-message');
    await pub.opened;
    pub.ws.send(payload);
    await pub.closed;
    expect(pub.closeCode).toBe(closeCode);
    expect(pub.messages.at(-1)).toMatchObject({ type: 'error', code });
    expect(pub.messages.at(-1)?.message).toBeTruthy();
    // Nothing was started for it.
    expect(t.server.registry.get('bad-first-message')).toBeUndefined();
  });

  it('accepts hello and the first media bytes arriving in one TCP read', async () => {
    // ws hands the server every frame of one read synchronously; pause() cannot hold the media back.
    const data = await fixture('h264');
    const pub = new TestPublisher(t.wsUrl, 'one-read');
    await pub.opened;
    const socket = (pub.ws as unknown as { _socket: import('node:net').Socket })._socket;
    socket.cork();
    pub.ws.send(JSON.stringify({ type: 'hello', mimeType: fixtureMimeTypes.h264, keyframeIntervalMs: 1000 }));
    pub.ws.send(data.subarray(0, 4096));
    pub.ws.send(data.subarray(4096, 8192));
    process.nextTick(() => socket.uncork());
    await pub.waitFor('ready');
    await pub.sendPaced(data.subarray(8192), 16 * 1024, 10);
    const session = await eventually(() => t.server.registry.get('one-read'), 5000, 'session');
    await eventually(() => (session.bytesReceived === data.length ? true : undefined), 10_000, 'all bytes');
    await pub.end();
    await eventually(() => t.server.registry.get('one-read') === undefined || undefined, 20_000, 'end');
    expect(sha256(await archiveBytes(t, 'one-read'))).toBe(sha256(data));
  });

  it('refuses non-media bytes and a second publisher while a good stream keeps publishing intact', async () => {
    const data = await fixture('h264-opus');
    const good = new TestPublisher(t.wsUrl, 'good');
    await good.hello(fixtureMimeTypes['h264-opus']);
    const sending = good.sendPaced(data, 8 * 1024, 30);

    const garbage = new TestPublisher(t.wsUrl, 'garbage');
    await garbage.hello('video/webm;codecs=vp8');
    garbage.ws.send(Buffer.from('GET / HTTP/1.1\r\n\r\nthis is not a WebM file'));
    await garbage.closed;
    expect(garbage.closeCode).toBe(4004);
    expect(garbage.messages.at(-1)).toMatchObject({ type: 'error', code: 'DR_ERR_INGEST_NOT_MEDIA' });

    const mpd = await fetch(`${t.url}/live/good/manifest.mpd`);
    expect(mpd.status).toBe(200);
    await sending;
    await good.end();
    await eventually(() => t.server.registry.get('good') === undefined || undefined, 20_000, 'session end');
    expect(sha256(await archiveBytes(t, 'good'))).toBe(sha256(data));
  });

  it('refuses a message larger than maxMessageBytes with 1009 and keeps running', async () => {
    const small = await startServer({ analyzers: [], config: { ingest: { maxMessageBytes: 64 * 1024 } } });
    try {
      const pub = new TestPublisher(small.wsUrl, 'big');
      await pub.hello(fixtureMimeTypes.h264);
      pub.ws.send(Buffer.alloc(200 * 1024, 1));
      await pub.closed;
      expect(pub.closeCode).toBe(1009);
      const again = new TestPublisher(small.wsUrl, 'big');
      await eventually(
        () => small.server.registry.get('big') === undefined || undefined,
        10_000,
        'name freed',
      );
      expect(await again.hello(fixtureMimeTypes.h264)).toMatchObject({ type: 'ready' });
      await again.end();
    } finally {
      await small.close();
    }
  });

  it('answers status messages with the bytes received', async () => {
    const data = await fixture('h264');
    const pub = new TestPublisher(t.wsUrl, 'status');
    await pub.hello(fixtureMimeTypes.h264);
    await pub.sendPaced(data.subarray(0, 64 * 1024), 16 * 1024, 10);
    const status = await eventually(
      () => pub.messages.find((m) => m.type === 'status' && m.bytesReceived === 64 * 1024),
      5000,
      'status with all bytes',
    );
    expect(status).toMatchObject({ type: 'status', bytesReceived: 64 * 1024 });
    await pub.end();
  });

  it('closes a WebSocket opened on another path without starting a session', async () => {
    const ws = new WebSocket(`${t.wsUrl}/nope/x`);
    await new Promise((resolve) => ws.on('close', resolve));
    expect(t.server.registry.list().map((e) => e.session.info.stream)).not.toContain('x');
  });
});

describe('an unwritable output directory', () => {
  it('refuses the publisher with a clear error instead of losing bytes, and frees the name', async () => {
    const { writeFile } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const blocker = join(tmpdir(), `dashrelay-not-a-dir-${process.pid}`);
    await writeFile(blocker, 'a file where the output directory should be');
    const t = await startServer({ analyzers: [], config: { outputDir: blocker } });
    try {
      const pub = new TestPublisher(t.wsUrl, 'nodisk');
      await pub.opened;
      pub.ws.send(JSON.stringify({ type: 'hello', mimeType: fixtureMimeTypes.h264 }));
      await pub.closed;
      expect(pub.closeCode).toBe(4501);
      expect(pub.messages.at(-1)).toMatchObject({ type: 'error', code: 'DR_ERR_OUTPUT_DIR' });
      expect(pub.messages.at(-1)?.message).toMatch(/Cannot write to the output directory .*nodisk/);
      expect(t.server.registry.get('nodisk')).toBeUndefined();
    } finally {
      await t.server.close();
    }
  });
});

describe('a WebM header split across messages', () => {
  it('is accepted when the first message is a single byte, as Chrome sends it', async () => {
    const t = await startServer({ analyzers: [] });
    try {
      const data = await fixture('h264');
      const pub = new TestPublisher(t.wsUrl, 'split');
      await pub.hello(fixtureMimeTypes.h264);
      pub.ws.send(data.subarray(0, 1));
      pub.ws.send(data.subarray(1, 3));
      await pub.sendPaced(data.subarray(3), 16 * 1024, 10);
      await eventually(
        () => pub.messages.find((m) => m.type === 'status' && m.bytesReceived === data.length),
        5000,
        'all bytes received',
      );
      await pub.end();
      await eventually(
        () => t.server.registry.get('split') === undefined || undefined,
        20_000,
        'session end',
      );
      expect(sha256(await archiveBytes(t, 'split'))).toBe(sha256(data));
    } finally {
      await t.close();
    }
  });
});

/** The pids of this process's children (every thread's), from /proc. */
async function childPids(): Promise<number[]> {
  const tasks = await readdir(`/proc/${process.pid}/task`);
  const lists = await Promise.all(
    tasks.map((tid) => readFile(`/proc/${process.pid}/task/${tid}/children`, 'utf8').catch(() => '')),
  );
  return lists.flatMap((l) => l.trim().split(/\s+/).filter(Boolean).map(Number));
}

describe('a publisher that says hello and sends nothing', () => {
  it('costs no ffmpeg, and is closed with 4008 DR_ERR_INGEST_IDLE after ingest.idleTimeoutMs, freeing its name', async () => {
    const t = await startServer({ config: { ingest: { idleTimeoutMs: 1500 }, rtmp: { enabled: false } } });
    try {
      const before = await childPids();
      const quiet = Array.from({ length: 4 }, (_, i) => new TestPublisher(t.wsUrl, `quiet${i}`));
      await Promise.all(quiet.map((p) => p.hello(fixtureMimeTypes.h264)));
      expect(t.server.registry.get('quiet0')).toBeDefined();
      expect(t.server.live('quiet0')?.packager.pid).toBeUndefined();
      expect((await childPids()).filter((pid) => !before.includes(pid))).toEqual([]);
      await Promise.all(quiet.map((p) => p.closed));
      for (const p of quiet) {
        expect(p.closeCode).toBe(4008);
        expect(p.messages.at(-1)).toMatchObject({ code: 'DR_ERR_INGEST_IDLE' });
      }
      await eventually(() => t.server.registry.get('quiet0') === undefined || undefined, 5000, 'name freed');
      // A real publisher under the same name gets its packager at its first bytes.
      const real = new TestPublisher(t.wsUrl, 'quiet0');
      await real.hello(fixtureMimeTypes.h264);
      await real.sendPaced(await fixture('h264', 2), 16 * 1024, 20);
      await eventually(() => t.server.live('quiet0')?.packager.pid, 5000, 'packager started');
      await real.end();
    } finally {
      await t.close();
    }
  });
});

describe('a second publisher under a live name', () => {
  it('takes it over at once: the first is told 4010 DR_ERR_INGEST_TAKEN_OVER, its archive complete, and the stream plays on', async () => {
    const t = await startServer({ analyzers: [], config: { rtmp: { enabled: false } } });
    try {
      const data = await fixture('h264', 4);
      const first = new TestPublisher(t.wsUrl, 'cam');
      await first.hello(fixtureMimeTypes.h264);
      const half = Math.floor(data.length / 2);
      await first.sendPaced(data.subarray(0, half), 16 * 1024, 20);
      const firstId = t.server.registry.get('cam')?.info.sessionId;
      const second = new TestPublisher(t.wsUrl, 'cam');
      await second.hello(fixtureMimeTypes.h264);
      await first.closed;
      expect(first.closeCode).toBe(4010);
      expect(first.messages.find((m) => m.type === 'error')).toMatchObject({
        code: 'DR_ERR_INGEST_TAKEN_OVER',
      });
      expect(t.server.registry.get('cam')?.info.sessionId).not.toBe(firstId);
      await second.sendPaced(data, 16 * 1024, 20);
      const mpd = await fetch(`${t.url}/live/cam/manifest.mpd`);
      expect(mpd.status).toBe(200);
      await second.end();
      await eventually(() => t.server.registry.get('cam') === undefined || undefined, 20_000, 'ended');
      // Two archives: the first publisher's bytes exactly, then the second's; nothing overwritten.
      const dir = join(t.outputDir, 'cam', 'archive');
      const files = (await readdir(dir)).sort();
      expect(files).toHaveLength(2);
      const hashes = await Promise.all(files.map(async (f) => sha256(await readFile(join(dir, f)))));
      expect(hashes).toEqual([sha256(data.subarray(0, half)), sha256(data)]);
    } finally {
      await t.close();
    }
  });
});

describe('many connections that never say hello', () => {
  it('from one address: four wait for hello and are closed 4002 after helloTimeoutMs, the rest refused 4429 at once; a publisher elsewhere streams on', async () => {
    const t = await startServer({
      analyzers: [],
      config: { ingest: { helloTimeoutMs: 1000 }, rtmp: { enabled: false } },
    });
    try {
      const mute = Array.from(
        { length: 300 },
        (_, i) => new WebSocket(`${t.wsUrl}/ingest/mute${i}`, { localAddress: '127.0.0.2' }),
      );
      const closes = mute.map(
        (ws) =>
          new Promise<number>((resolve) => {
            ws.on('error', () => {});
            ws.once('close', (code) => resolve(code));
          }),
      );
      const data = await fixture('h264', 4);
      const real = new TestPublisher(t.wsUrl, 'real');
      await real.hello(fixtureMimeTypes.h264);
      await real.sendPaced(data, 16 * 1024, 20);
      const codes = await Promise.all(closes);
      expect(codes.filter((c) => c === 4002)).toHaveLength(4); // limits.maxPublishersPerAddress
      expect(codes.filter((c) => c === 4429)).toHaveLength(296);
      expect((await fetch(`${t.url}/live/real/manifest.mpd`)).status).toBe(200);
      await real.end();
      await eventually(() => t.server.registry.get('real') === undefined || undefined, 20_000, 'ended');
      expect(sha256(await archiveBytes(t, 'real'))).toBe(sha256(data));
    } finally {
      await t.close();
    }
  });
});
