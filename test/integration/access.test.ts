import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { signToken } from '../../src/auth/tokens.ts';
import {
  eventually,
  ffmpeg,
  fixture,
  fixtureMimeTypes,
  rawGet,
  startServer,
  TestPublisher,
  type TestServer,
} from '../_setup.ts';

const secret = 'a-test-secret-of-some-length';
const run = promisify(execFile);

/** Publishes with `hello`; resolves to `ready`, or the close code and error of a refusal. */
async function tryPublish(
  wsUrl: string,
  path: string,
  headers: Record<string, string> = {},
  opts: { localAddress?: string; keepOpen?: WebSocket[] } = {},
): Promise<{ ready: boolean; closeCode?: number; code?: string }> {
  const ws = new WebSocket(`${wsUrl}/ingest/${path}`, { headers, localAddress: opts.localAddress });
  const messages: { type: string; code?: string }[] = [];
  ws.on('message', (d, binary) => {
    if (!binary) messages.push(JSON.parse(d.toString()));
  });
  ws.on('error', () => {});
  ws.once('open', () => ws.send(JSON.stringify({ type: 'hello', mimeType: fixtureMimeTypes.h264 })));
  return new Promise((resolve) => {
    ws.on('message', () => {
      if (messages.some((m) => m.type === 'ready')) {
        if (opts.keepOpen) opts.keepOpen.push(ws);
        else ws.close(1000);
        resolve({ ready: true });
      }
    });
    ws.once('close', (closeCode) => {
      resolve({ ready: false, closeCode, code: messages.find((m) => m.type === 'error')?.code });
    });
  });
}

describe('the safe default: a server on 0.0.0.0 with no credential refuses publishers', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startServer({
      analyzers: [],
      config: { server: { host: '0.0.0.0' }, rtmp: { enabled: false } },
    });
  });
  afterAll(async () => t?.close());

  it('refuses a publisher connecting to 127.0.0.1 with 4403 DR_ERR_PUBLISH_CLOSED and still serves pages', async () => {
    const r = await tryPublish(t.wsUrl, 'cam1');
    expect(r).toMatchObject({ ready: false, closeCode: 4403, code: 'DR_ERR_PUBLISH_CLOSED' });
    expect((await fetch(`${t.url}/capture.html`)).status).toBe(200);
  });
});

describe('publish credentials over WebSocket', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startServer({
      analyzers: [],
      config: {
        server: { host: '0.0.0.0' },
        rtmp: { enabled: false },
        auth: { secret, publishKeys: { keyed: 'the-key-of-keyed' }, maxFailuresPerMinute: 50 },
      },
    });
  });
  afterAll(async () => t?.close());

  it('accepts a signed token in ?token= and as a Bearer header, and a stream key', async () => {
    const token = await signToken(secret, { stream: 'tok-query', action: 'publish' }, 60);
    expect(await tryPublish(t.wsUrl, `tok-query?token=${token}`)).toMatchObject({ ready: true });
    const bearer = await signToken(secret, { stream: 'tok-bearer', action: 'publish' }, 60);
    expect(await tryPublish(t.wsUrl, 'tok-bearer', { authorization: `Bearer ${bearer}` })).toMatchObject({
      ready: true,
    });
    expect(await tryPublish(t.wsUrl, 'keyed?token=the-key-of-keyed')).toMatchObject({ ready: true });
    const any = await signToken(secret, { stream: '*', action: 'publish' }, 60);
    expect(await tryPublish(t.wsUrl, `other?token=${any}`)).toMatchObject({ ready: true });
  });

  it.each([
    ['no credential', async () => '', 'DR_ERR_AUTH_MISSING'],
    ['a wrong key', async () => 'not-the-key', 'DR_ERR_AUTH_INVALID'],
    ['an expired token', async () => expired(), 'DR_ERR_AUTH_INVALID'],
    [
      'a tampered token',
      async () => tamper(await signToken(secret, { stream: 'cam1', action: 'publish' }, 60)),
      'DR_ERR_AUTH_INVALID',
    ],
    [
      'a token for another stream',
      async () => signToken(secret, { stream: 'cam2', action: 'publish' }, 60),
      'DR_ERR_AUTH_INVALID',
    ],
    [
      'a play token',
      async () => signToken(secret, { stream: 'cam1', action: 'play' }, 60),
      'DR_ERR_AUTH_INVALID',
    ],
    [
      'a token of another secret',
      async () => signToken('another-secret-entirely', { stream: 'cam1', action: 'publish' }, 60),
      'DR_ERR_AUTH_INVALID',
    ],
  ])('refuses %s with 4401', async (_why, make, code) => {
    const token = await make();
    const r = await tryPublish(t.wsUrl, token ? `cam1?token=${encodeURIComponent(token)}` : 'cam1');
    expect(r).toMatchObject({ ready: false, closeCode: 4401, code });
  });

  it('refuses a page from another site (Origin) with 4403, accepts the server’s own', async () => {
    const token = await signToken(secret, { stream: 'cam1', action: 'publish' }, 60);
    const foreign = await tryPublish(t.wsUrl, `cam1?token=${token}`, { origin: 'http://evil.example' });
    await new Promise((r) => setTimeout(r, 200));
    expect(foreign).toMatchObject({ ready: false, closeCode: 4403, code: 'DR_ERR_ORIGIN_DENIED' });
    const own = await tryPublish(t.wsUrl, `cam1?token=${token}`, { origin: t.url });
    expect(own).toMatchObject({ ready: true });
  });
});

describe('repeated failures from one address are rate-limited', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startServer({
      analyzers: [],
      config: { rtmp: { enabled: false }, auth: { secret, maxFailuresPerMinute: 3 } },
    });
  });
  afterAll(async () => t?.close());

  it('answers 4429 after maxFailuresPerMinute wrong tokens, even to a right one', async () => {
    for (let i = 0; i < 3; i++) expect((await tryPublish(t.wsUrl, 'cam1?token=a.b.c')).closeCode).toBe(4401);
    const token = await signToken(secret, { stream: 'cam1', action: 'publish' }, 60);
    expect(await tryPublish(t.wsUrl, `cam1?token=${token}`)).toMatchObject({
      closeCode: 4429,
      code: 'DR_ERR_AUTH_RATE_LIMITED',
    });
  });
});

describe('address rules and the admin API', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startServer({
      analyzers: [],
      config: {
        rtmp: { enabled: false },
        auth: { publishRules: ['allow 10.0.0.0/8', 'deny all'], adminToken: 'admin-token-for-tests-1234' },
      },
    });
  });
  afterAll(async () => t?.close());

  it('refuses a publisher whose address a deny rule matches first with 4403', async () => {
    const pub = new TestPublisher(t.wsUrl, 'cam1');
    await pub.closed;
    expect(pub.closeCode).toBe(4403);
    expect(pub.messages[0]).toMatchObject({ code: 'DR_ERR_ADDRESS_DENIED' });
  });

  it('wants the admin token for restream changes, and takes it', async () => {
    const body = JSON.stringify({ url: 'rtmp://127.0.0.1:1/live/x' });
    const headers = { 'content-type': 'application/json' };
    const without = await fetch(`${t.url}/api/streams/cam1/restream`, { method: 'POST', body, headers });
    expect(without.status).toBe(401);
    expect(await without.json()).toMatchObject({ code: 'DR_ERR_ADMIN_REQUIRED' });
    const withToken = await fetch(`${t.url}/api/streams/cam1/restream`, {
      method: 'POST',
      body,
      headers: { ...headers, authorization: 'Bearer admin-token-for-tests-1234' },
    });
    expect(withToken.status).toBe(201);
  });
});

async function expired(action: 'publish' | 'play' = 'publish'): Promise<string> {
  const { SignJWT } = await import('jose');
  const nowS = Math.floor(Date.now() / 1000);
  return new SignJWT({ act: action })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer('dashrelay')
    .setSubject('cam1')
    .setExpirationTime(nowS - 10)
    .sign(new TextEncoder().encode(secret));
}

function tamper(token: string): string {
  const [h, p, s] = token.split('.') as [string, string, string];
  const payload = JSON.parse(Buffer.from(p, 'base64url').toString());
  payload.sub = 'cam1';
  payload.exp += 3600;
  return `${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${s}`;
}

describe('play tokens', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startServer({
      analyzers: [],
      config: { rtmp: { enabled: false }, auth: { secret, playTokens: ['cam1'] } },
    });
  });
  afterAll(async () => t?.close());

  it('wants a play token for the MPD, writes it into the SegmentTemplate, and serves segments with it', async () => {
    const publishToken = await signToken(secret, { stream: 'cam1', action: 'publish' }, 60);
    const pub = new TestPublisher(t.wsUrl, `cam1?token=${publishToken}`);
    await pub.hello(fixtureMimeTypes.h264);
    const sending = pub.sendPaced(await fixture('h264'));
    const mpdUrl = `${t.url}/live/cam1/manifest.mpd`;
    const without = await fetch(mpdUrl);
    expect(without.status).toBe(401);
    expect(await without.json()).toMatchObject({ code: 'DR_ERR_AUTH_MISSING' });
    expect((await fetch(`${mpdUrl}?token=${publishToken}`)).status).toBe(401);
    const token = await signToken(secret, { stream: 'cam1', action: 'play' }, 60);
    const res = await fetch(`${mpdUrl}?token=${token}`);
    expect(res.status).toBe(200);
    const mpd = await res.text();
    const init = (/initialization="([^"]+)"/.exec(mpd)?.[1] ?? '').replace('$RepresentationID$', '0');
    expect(init).toContain(`?token=${token}`);
    expect((await fetch(`${t.url}/live/cam1/${init}`)).status).toBe(200);
    expect((await fetch(`${t.url}/live/cam1/${init.split('?')[0]}`)).status).toBe(401);
    for (const bad of [
      await expired('play'),
      tamper(await signToken(secret, { stream: 'cam2', action: 'play' }, 60)),
      await signToken(secret, { stream: 'cam2', action: 'play' }, 60),
      await signToken('another-secret-entirely', { stream: 'cam1', action: 'play' }, 60),
    ]) {
      const refused = await fetch(`${mpdUrl}?token=${bad}`);
      expect(refused.status).toBe(401);
      expect(await refused.json()).toMatchObject({ code: 'DR_ERR_AUTH_INVALID' });
    }
    // ffmpeg's DASH demuxer, given only the MPD URL with the token, fetches every segment with it.
    const played = await run((await ffmpeg()).path, [
      '-hide_banner',
      '-loglevel',
      'error',
      '-i',
      `${mpdUrl}?token=${token}`,
      '-frames:v',
      '30',
      '-f',
      'null',
      '-',
    ]);
    expect(played.stderr).not.toMatch(/401|error/i);
    await sending;
    await pub.end();
  });
});

describe('address rule order, play rules and the per-address publisher limit', () => {
  let t: TestServer;
  const open: WebSocket[] = [];
  beforeAll(async () => {
    t = await startServer({
      analyzers: [],
      config: {
        rtmp: { enabled: false },
        auth: {
          publishRules: ['allow 127.0.0.2', 'deny 127.0.0.0/8', 'allow all'],
          playRules: ['deny 127.0.0.3', 'allow all'],
        },
        limits: { maxPublishersPerAddress: 2 },
      },
    });
  });
  afterAll(async () => {
    for (const ws of open) ws.terminate();
    await t?.close();
  });

  it('applies the first rule that matches: 127.0.0.2 may publish, the rest of 127/8 may not', async () => {
    expect(await tryPublish(t.wsUrl, 'order-a', {}, { localAddress: '127.0.0.1' })).toMatchObject({
      closeCode: 4403,
      code: 'DR_ERR_ADDRESS_DENIED',
    });
    expect(await tryPublish(t.wsUrl, 'order-b', {}, { localAddress: '127.0.0.2' })).toMatchObject({
      ready: true,
    });
  });

  it('refuses a third publisher from one address with 4429 DR_ERR_LIMIT_PUBLISHERS, and frees the place when one leaves', async () => {
    const from = { localAddress: '127.0.0.2', keepOpen: open };
    expect(await tryPublish(t.wsUrl, 'per-a', {}, from)).toMatchObject({ ready: true });
    expect(await tryPublish(t.wsUrl, 'per-b', {}, from)).toMatchObject({ ready: true });
    expect(await tryPublish(t.wsUrl, 'per-c', {}, from)).toMatchObject({
      closeCode: 4429,
      code: 'DR_ERR_LIMIT_PUBLISHERS',
    });
    const first = open.shift();
    first?.close(1000);
    await new Promise((r) => first?.once('close', r));
    await eventually(
      async () => (await tryPublish(t.wsUrl, 'per-c', {}, { localAddress: '127.0.0.2' })).ready || undefined,
      5000,
      'a free place',
    );
  });

  it('answers 403 DR_ERR_ADDRESS_DENIED on /live and /api to an address the play rules deny', async () => {
    for (const path of ['/live/per-b/manifest.mpd', '/api/streams']) {
      const denied = await rawGet(`${t.url}${path}`, { localAddress: '127.0.0.3' });
      expect(denied.status).toBe(403);
      expect(JSON.parse(denied.body)).toMatchObject({ code: 'DR_ERR_ADDRESS_DENIED' });
      expect((await rawGet(`${t.url}${path}`, { localAddress: '127.0.0.1' })).status).not.toBe(403);
    }
  });
});

describe("the packager's loopback upload path, visible in ps", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startServer({ analyzers: [], config: { rtmp: { enabled: false } } });
  });
  afterAll(async () => t?.close());

  it('refuses 403 a local user who PUTs to the URL in ffmpeg’s command line; the stream plays on', async () => {
    const data = await fixture('h264', 6);
    const pub = new TestPublisher(t.wsUrl, 'putcheck');
    await pub.hello(fixtureMimeTypes.h264);
    const sending = pub.sendPaced(data, 16 * 1024, 40);
    const live = await eventually(() => t.server.live('putcheck'), 5000, 'live');
    const pid = await eventually(() => live.packager.pid, 5000, 'packager pid');
    const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
    const putUrl = cmdline.find((a) => /^http:\/\/127\.0\.0\.1:\d+\/[0-9a-f]{32}\//.test(a));
    expect(putUrl).toBeDefined();
    const base = (putUrl ?? '').replace(/[^/]*$/, '');
    const forged = await fetch(`${base}init-0.m4s`, { method: 'PUT', body: 'not a segment' });
    expect(forged.status).toBe(403);
    const manifest = await fetch(`${base}manifest.mpd`, { method: 'PUT', body: '<MPD/>' });
    expect(manifest.status).toBe(403);
    await sending;
    const mpd = await fetch(`${t.url}/live/putcheck/manifest.mpd`);
    expect(mpd.status).toBe(200);
    const init = (await mpd.text()).match(/initialization="([^"]+)"/)?.[1] ?? '';
    const initBytes = Buffer.from(
      await (
        await fetch(new URL(init.replace('$RepresentationID$', '0'), `${t.url}/live/putcheck/`))
      ).arrayBuffer(),
    );
    expect(initBytes.subarray(4, 8).toString()).toBe('ftyp');
    await pub.end();
  });

  it("never writes a foreign Host header into the MPD's UTCTiming URL; this machine's names are kept", async () => {
    const pub = new TestPublisher(t.wsUrl, 'hostcheck');
    await pub.hello(fixtureMimeTypes.h264);
    await pub.sendPaced(await fixture('h264', 4), 16 * 1024, 20);
    const port = Number(new URL(t.url).port);
    const timing = async (host: string) => {
      const mpd = (await rawGet(`${t.url}/live/hostcheck/manifest.mpd`, { host })).body;
      return mpd.match(/<UTCTiming[^>]*value="([^"]+)"/)?.[1];
    };
    expect(await timing('evil.example:6666')).toBe(`${t.url}/time`);
    expect(await timing(`evil.example:${port}`)).toBe(`${t.url}/time`);
    expect(await timing(`localhost:${port}`)).toBe(`http://localhost:${port}/time`);
    await pub.end();
  });
});
