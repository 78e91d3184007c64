import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { connect, type Server } from 'node:net';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RestreamTargetInfo } from '../../src/contracts/restream.ts';
import {
  eventually,
  ffmpeg,
  fixture,
  fixtureMimeTypes,
  freePort,
  sleep,
  startServer,
  TestPublisher,
  type TestServer,
} from '../_setup.ts';

const run = promisify(execFile);

/** An OBS-like RTMP publisher (x264 + AAC, 2 s GOP) at real time, for as long as the test needs. */
function obsLike(ffmpegPath: string, url: string): ChildProcess {
  return spawn(
    ffmpegPath,
    [
      ...['-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30'],
      ...['-re', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000'],
      ...[
        '-c:v',
        'libx264',
        '-preset',
        'veryfast',
        '-tune',
        'zerolatency',
        '-g',
        '60',
        '-pix_fmt',
        'yuv420p',
      ],
      ...['-c:a', 'aac', '-b:a', '96k', '-f', 'flv', url],
    ],
    { stdio: 'ignore' },
  );
}

async function targets(t: TestServer, stream: string): Promise<RestreamTargetInfo[]> {
  const body = (await (await fetch(`${t.url}/api/streams/${stream}/restream`)).json()) as {
    targets: RestreamTargetInfo[];
  };
  return body.targets;
}

/** Codecs of the stream's MPD on server `t`, once it is live there. */
async function liveCodecs(t: TestServer, stream: string): Promise<string[]> {
  const mpd = await eventually(
    async () => {
      const res = await fetch(`${t.url}/live/${stream}/manifest.mpd`);
      return res.ok ? res.text() : undefined;
    },
    30_000,
    `${stream} live on the second server`,
  );
  return [...mpd.matchAll(/codecs="([^"]+)"/g)].map((m) => m[1] ?? '');
}

/**
 * A growing FLV file up to its last complete tag: the 9-byte header and PreviousTagSize0, then tags of
 * an 11-byte header, `DataSize` bytes and a PreviousTagSize (Adobe FLV spec v10.1 §E.3).
 */
function completeFlv(buf: Buffer): Buffer {
  let at = 13;
  while (at + 11 <= buf.length) {
    const end = at + 11 + buf.readUIntBE(at + 1, 3) + 4;
    if (end > buf.length) break;
    at = end;
  }
  return buf.subarray(0, at);
}

/** A TLS front for a plain TCP port: an RTMPS server made of our RTMP ingest, as a CDN's would be. */
async function tlsFront(targetPort: number, dir: string): Promise<Server> {
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  await run('openssl', [
    ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1'],
    ...['-keyout', key, '-out', cert],
  ]);
  const server = createTlsServer({ key: await readFile(key), cert: await readFile(cert) }, (tls) => {
    const plain = connect(targetPort, '127.0.0.1');
    tls.pipe(plain).pipe(tls);
    tls.on('error', () => plain.destroy());
    plain.on('error', () => tls.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server as unknown as Server;
}

describe('restream: a stream pushed on to other RTMP servers', () => {
  let a: TestServer;
  let b: TestServer;
  let ffmpegPath: string;
  const children: ChildProcess[] = [];
  const servers: Server[] = [];

  beforeAll(async () => {
    ffmpegPath = (await ffmpeg()).path;
    b = await startServer({ analyzers: [] });
    a = await startServer({
      analyzers: [],
      config: {
        restream: {
          targets: [{ stream: 'studio', url: `${b.server.rtmpUrl}/studio-copy`, name: 'backup' }],
          retryInitialMs: 500,
          retryMaxMs: 2000,
        },
      },
    });
  });
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    for (const s of servers) s.close();
    await a?.close();
    await b?.close();
  });

  it('pushes an RTMP stream to a second dashrelay, which plays it (H.264 and AAC copied)', {
    timeout: 60_000,
  }, async () => {
    expect((await targets(a, 'studio'))[0]).toMatchObject({
      name: 'backup',
      state: 'waiting',
      origin: 'config',
    });
    children.push(obsLike(ffmpegPath, `${a.server.rtmpUrl}/studio`));
    const codecs = await liveCodecs(b, 'studio-copy');
    expect(codecs.some((c) => c.startsWith('avc1.'))).toBe(true);
    expect(codecs.some((c) => c.startsWith('mp4a.40.2'))).toBe(true);
    const info = await eventually(
      async () => {
        const s = (await (await fetch(`${a.url}/api/streams/studio`)).json()) as {
          restream: RestreamTargetInfo[];
        };
        const target = s.restream[0];
        return target?.state === 'live' && target.bytesPushed > 0 ? target : undefined;
      },
      15_000,
      'target live in the API',
    );
    expect(info).toMatchObject({ connects: 1, failures: 0, lastError: null });
    // The second server sees an RTMP publisher with our FLV.
    const there = (await (await fetch(`${b.url}/api/streams/studio-copy`)).json()) as Record<string, unknown>;
    expect(there).toMatchObject({ codecs: { video: 'h264', audio: 'aac' }, width: 640, height: 360 });
    // What arrived there decodes cleanly from its first byte: the push joined at a keyframe.
    await sleep(3000);
    const dir = join(b.outputDir, 'studio-copy', 'archive');
    const [flv] = await readdir(dir);
    // The file is still growing: what is complete of it, to its last whole tag.
    const copy = join(b.outputDir, 'snapshot.flv');
    await writeFile(copy, completeFlv(await readFile(join(dir, flv ?? ''))));
    const decoded = await run(ffmpegPath, ['-v', 'error', '-i', copy, '-f', 'null', '-']);
    expect(decoded.stderr.trim()).toBe('');
    const frames = await run(ffmpegPath.replace(/ffmpeg$/, 'ffprobe'), [
      ...['-v', 'error', '-select_streams', 'v:0', '-count_frames', '-show_entries', 'stream=nb_read_frames'],
      ...['-of', 'csv=p=0', copy],
    ]);
    expect(Number(frames.stdout.trim())).toBeGreaterThanOrEqual(60);
  });

  it('comes back by itself when the target server restarts', { timeout: 90_000 }, async () => {
    const rtmpPort = Number(new URL(b.server.rtmpUrl ?? '').port);
    await b.close();
    await eventually(
      async () => ((await targets(a, 'studio'))[0]?.failures ?? 0) >= 1 || undefined,
      20_000,
      'failure seen',
    );
    const failed = (await targets(a, 'studio'))[0];
    expect(failed?.state).toMatch(/retrying|connecting/);
    expect(failed?.lastError).toBeTruthy();
    // The stream itself is untouched.
    expect((await fetch(`${a.url}/live/studio/manifest.mpd`)).status).toBe(200);
    b = await startServer({ analyzers: [], config: { rtmp: { port: rtmpPort } } });
    await liveCodecs(b, 'studio-copy');
    await eventually(
      async () => (await targets(a, 'studio'))[0]?.state === 'live' || undefined,
      20_000,
      'live again',
    );
  });

  it('adds targets through the API (rtmps:// included), hides their keys, and a failing one disturbs nothing', {
    timeout: 60_000,
  }, async () => {
    const rtmpPort = Number(new URL(b.server.rtmpUrl ?? '').port);
    const front = await tlsFront(rtmpPort, b.outputDir);
    servers.push(front);
    const tlsPort = (front.address() as { port: number }).port;
    const dead = await freePort();
    const add = (url: string, name?: string) =>
      fetch(`${a.url}/api/streams/studio/restream`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ url, ...(name ? { name } : {}) }),
      });
    const secure = await add(`rtmps://127.0.0.1:${tlsPort}/live/secret-key-123`, 'tls');
    expect(secure.status).toBe(201);
    const nowhere = await add(`rtmp://127.0.0.1:${dead}/live/nowhere`);
    expect(nowhere.status).toBe(201);
    expect((await add('http://example.com/x')).status).toBe(400);
    expect((await add('file:///etc/passwd')).status).toBe(400);

    // rtmps: the second server gets the stream under the key's name, through TLS.
    await liveCodecs(b, 'secret-key-123');
    const list = await eventually(
      async () => {
        const l = await targets(a, 'studio');
        const byName = (n: string) => l.find((t) => t.name === n);
        return byName('tls')?.state === 'live' && (byName(`127.0.0.1:${dead}`)?.failures ?? 0) >= 2
          ? l
          : undefined;
      },
      30_000,
      'rtmps live, the dead target retrying',
    );
    expect(JSON.stringify(list)).not.toContain('secret-key-123');
    expect(list.find((t) => t.name === 'tls')?.url).toBe(`rtmps://127.0.0.1:${tlsPort}/live/***`);
    expect(list.find((t) => t.name === 'backup')?.state).toBe('live');

    const id = list.find((t) => t.name === `127.0.0.1:${dead}`)?.id;
    expect((await fetch(`${a.url}/api/streams/studio/restream/${id}`, { method: 'DELETE' })).status).toBe(
      204,
    );
    expect((await fetch(`${a.url}/api/streams/studio/restream/${id}`, { method: 'DELETE' })).status).toBe(
      404,
    );
    expect((await targets(a, 'studio')).length).toBe(2);
  });

  it('restreams what the packager made of a VP8 + Opus browser stream (H.264 + AAC)', {
    timeout: 60_000,
  }, async () => {
    const add = await fetch(`${a.url}/api/streams/browser/restream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: `${b.server.rtmpUrl}/browser-copy` }),
    });
    expect(add.status).toBe(201);
    const pub = new TestPublisher(a.wsUrl, 'browser');
    await pub.hello(fixtureMimeTypes['vp8-opus']);
    const sending = pub.sendPaced(await fixture('vp8-opus', 12), 8 * 1024, 25);
    const codecs = await liveCodecs(b, 'browser-copy');
    expect(codecs.some((c) => c.startsWith('avc1.'))).toBe(true);
    expect(codecs.some((c) => c.startsWith('mp4a.40.2'))).toBe(true);
    await sending;
    await pub.end();
  });

  it("takes targets from the sources file's restream list", async () => {
    const file = join(b.outputDir, 'sources.yaml');
    await writeFile(file, 'restream:\n  - stream: porch\n    url: rtmp://backup.lan/live/porch-key\n');
    const c = await startServer({ analyzers: [], config: { sources: { file } } });
    try {
      expect(await targets(c, 'porch')).toMatchObject([
        { name: 'backup.lan', url: 'rtmp://backup.lan/live/***', origin: 'config', state: 'waiting' },
      ]);
    } finally {
      await c.close();
    }
  });

  it('refuses changes from off this machine', async () => {
    const c = await startServer({ analyzers: [], config: { server: { trustProxy: true } } });
    try {
      const res = await fetch(`${c.url}/api/streams/x/restream`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': '203.0.113.7' },
        body: JSON.stringify({ url: 'rtmp://example.com/live/k' }),
      });
      expect(res.status).toBe(403);
      expect(((await res.json()) as { code: string }).code).toBe('DR_ERR_API_LOOPBACK_ONLY');
      expect((await targets(c, 'x')).length).toBe(0);
    } finally {
      await c.close();
    }
  });
});
