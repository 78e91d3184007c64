import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  eventually,
  fixture,
  fixtureMimeTypes,
  startServer,
  TestPublisher,
  type TestServer,
} from '../_setup.ts';

/**
 * No HTTP route reads a file outside what it serves (the pages under static/, dash.js, the live
 * streams' segments from memory), and odd names and paths get a clean 4xx: never a 500, never a
 * crash, never a file's contents. Requests are written on a raw socket, byte for byte, because fetch
 * (WHATWG URL) would collapse `..` and re-encode what is being tried here.
 */

const secret = 'a-test-secret-of-some-length';
const packageRoot = join(import.meta.dirname, '..', '..');

interface RawResponse {
  status: number;
  head: string;
  body: Buffer;
}

/** One request on its own connection, the request target exactly as given. */
function raw(
  port: number,
  method: string,
  target: string | Buffer,
  body = '',
  headers = '',
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer in 5 s to ${method} ${String(target).slice(0, 120)}`));
    }, 5000);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      const all = Buffer.concat(chunks);
      const split = all.indexOf('\r\n\r\n');
      const head = all.subarray(0, split < 0 ? all.length : split).toString('latin1');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
      resolve({ status, head, body: split < 0 ? Buffer.alloc(0) : all.subarray(split + 4) });
    });
    const bodyHeaders = body
      ? `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n`
      : '';
    socket.write(
      Buffer.concat([
        Buffer.from(`${method} `),
        Buffer.isBuffer(target) ? target : Buffer.from(target, 'latin1'),
        Buffer.from(
          ` HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${headers}${bodyHeaders}Connection: close\r\n\r\n${body}`,
        ),
      ]),
    );
  });
}

/** What must never come back: lines of files outside what the server serves. */
const secrets: { what: string; marker: Buffer }[] = [];

/**
 * The hostile pieces, each as it goes on the wire. `%ARCHIVE…%` become the live session's archive file
 * (under the config's outputDir): absolute, with `/` as `%2f`, relative to outputDir, relative to `/`.
 */
const pieces: [label: string, piece: string][] = [
  ['..', '..'],
  ['../../package.json', '../../package.json'],
  ['%2e%2e', '%2e%2e'],
  ['%2e%2e%2f…package.json', '%2e%2e%2f%2e%2e%2fpackage.json'],
  ['%2e%2e/…package.json', '%2e%2e/%2e%2e/package.json'],
  ['..%2f…package.json', '..%2f..%2fpackage.json'],
  ['%2f', '%2f'],
  ['%2fetc%2fpasswd', '%2fetc%2fpasswd'],
  ['//etc/passwd', '/etc/passwd'],
  ['../ ×8 etc/passwd', `${'../'.repeat(8)}etc/passwd`],
  ['..%2f ×8 etc%2fpasswd', `${'..%2f'.repeat(8)}etc%2fpasswd`],
  ['%00', '%00'],
  ['name%00', 'cam%00'],
  ['..%00/package.json', '..%00/package.json'],
  ['%252e%252e (double encoding)', '%252e%252e%252f%252e%252epackage.json'],
  ['%252e%252e%252f…package.json', '%252e%252e%252f%252e%252e%252fpackage.json'],
  ['backslashes ..\\', '..\\..\\package.json'],
  ['%5c backslashes', '..%5c..%5cpackage.json'],
  ['a 10 kB name', 'x'.repeat(10 * 1024)],
  ['a 10 kB path', `${'a/'.repeat(5 * 1024)}b`],
  ['unicode, encoded', '%C3%A9t%C3%A9-%F0%9F%8E%A5'],
  ['unicode, raw UTF-8 bytes', Buffer.from('été-🎥').toString('latin1')],
  ['broken UTF-8', '%C3%28%E0%A4'],
  ['a bad escape', '%zz%'],
  ['the archive (absolute)', '%ARCHIVE%'],
  ['the archive (%2f-encoded)', '%ARCHIVE_ENCODED%'],
  ['the archive (relative to outputDir)', '%ARCHIVE_REL%'],
  ['the archive (climbing there)', `${'..%2f'.repeat(12)}%ARCHIVE_ENCODED_REL_ROOT%`],
  ['the default outputDir', '../output/.gitkeep'],
  ['empty', ''],
  ['a trailing slash', 'manifest.mpd/'],
  ['a ;-suffix', 'capture.html;.json'],
  ['a query of ..', '?..%2f..%2fpackage.json'],
];

describe('HTTP paths: nothing outside what a route serves, a clean 4xx for odd names', () => {
  let t: TestServer;
  let port: number;
  let pub: TestPublisher;
  let sending: Promise<void>;
  /** The archive file, relative to outputDir (`cam/archive/<time>.mkv`). */
  let archiveRel: string;
  let archiveAbs: string;
  /** A session path of the live stream's MPD (`/live/cam/<path>/<segment>`). */
  let sessionPath: string;
  let initName: string;
  /** What `/` (also `/%2f`, `*`) answers: a page, which anyone may load. */
  const publicPages: Buffer[] = [];

  const expand = (piece: string): string =>
    piece
      .replace('%ARCHIVE_ENCODED_REL_ROOT%', archiveAbs.slice(1).replaceAll('/', '%2f'))
      .replace('%ARCHIVE_ENCODED%', archiveAbs.replaceAll('/', '%2f'))
      .replace('%ARCHIVE_REL%', archiveRel)
      .replace('%ARCHIVE%', archiveAbs);

  beforeAll(async () => {
    t = await startServer({
      analyzers: [],
      config: {
        rtmp: { enabled: false },
        // Refused credentials are the point here: no rate limit in the way.
        auth: { secret, playTokens: ['guarded'], anonymousPublish: true, maxFailuresPerMinute: 10_000 },
      },
    });
    port = Number(new URL(t.url).port);
    pub = new TestPublisher(t.wsUrl, 'cam');
    const ready = await pub.hello(fixtureMimeTypes.h264);
    archiveRel = String(ready.archive);
    archiveAbs = join(t.outputDir, archiveRel);
    // Kept open once sent: the stream stays live (its MPD served) for the whole file.
    sending = pub.sendPaced(await fixture('h264'), 16 * 1024, 20);
    const mpd = await (await fetch(`${t.url}/live/cam/manifest.mpd`)).text();
    const init = /initialization="([^"/]+)\/([^"]+)"/.exec(mpd);
    if (!init?.[1] || !init[2]) throw new Error(`no SegmentTemplate@initialization in ${mpd}`);
    sessionPath = init[1];
    initName = init[2].replace('$RepresentationID$', '0');
    // The session path is a real one: pieces put after it reach the session's segment lookup.
    await eventually(async () => (await fetch(`${t.url}/live/cam/${sessionPath}/${initName}`)).ok);
    const archiveHead = await eventually(async () => {
      const bytes = await readFile(archiveAbs);
      return bytes.length >= 64 ? bytes.subarray(0, 64) : undefined;
    });
    publicPages.push(await readFile(join(packageRoot, 'static', 'index.html')));
    const pkg = await readFile(join(packageRoot, 'package.json'), 'utf8');
    const pkgLine = pkg.split('\n').find((l) => l.includes('"name"'));
    secrets.push(
      { what: 'package.json', marker: Buffer.from(pkgLine?.trim() ?? '"name": "dashrelay"') },
      { what: 'package.json', marker: Buffer.from('"devDependencies"') },
      { what: '/etc/passwd', marker: Buffer.from('root:') },
      { what: 'static/tsconfig.json', marker: Buffer.from('"compilerOptions"') },
      { what: 'static/globals.d.ts', marker: Buffer.from("import type * as Dash from 'dashjs'") },
      { what: 'the archive', marker: archiveHead },
    );
  });

  afterAll(async () => {
    await pub?.end();
    await sending;
    await t?.close();
  });

  /** A 4xx, or (where a page may answer) one of the pages; never a file from elsewhere. */
  const expectClean = (res: RawResponse, allowed: readonly number[], what: string, pageOk = false): void => {
    if (pageOk && res.status === 200) {
      // A HEAD answer has no body: its length must be a page's.
      const length = Number(/\r\ncontent-length: (\d+)/i.exec(res.head)?.[1]);
      const isPage = what.startsWith('HEAD ')
        ? res.body.length === 0 && publicPages.some((p) => p.length === length)
        : publicPages.some((p) => p.equals(res.body));
      expect(isPage, `${what}: 200 with something not a page`).toBe(true);
      return;
    }
    expect(
      allowed,
      `${what}: status ${res.status}\n${res.head}\n${res.body.toString().slice(0, 300)}`,
    ).toContain(res.status);
    for (const { what: file, marker } of secrets) {
      expect(res.body.includes(marker), `${what}: the body holds ${file}`).toBe(false);
    }
  };

  interface Route {
    readonly method: string;
    /** `X` is replaced by the piece, `SESSION` by the live stream's session path. */
    readonly path: string;
    /** A stream here needs a play token: 401 is a right answer too. */
    readonly auth?: boolean;
    /** The static pages: `/`, `/%2f`, `/?…` answer with index.html, which is public. */
    readonly pages?: boolean;
    readonly body?: string;
  }
  const routes: [name: string, route: Route][] = [
    ['pages', { method: 'GET', path: '/X', pages: true }],
    ['pages, HEAD', { method: 'HEAD', path: '/X', pages: true }],
    ['pages in a folder', { method: 'GET', path: '/capture/X', pages: true }],
    ['dash.js', { method: 'GET', path: '/vendor/X' }],
    ['beside dash.js', { method: 'GET', path: '/vendor/dash.all.min.js/X' }],
    ['the stream name of an MPD', { method: 'GET', path: '/live/X/manifest.mpd' }],
    ['a live stream’s file', { method: 'GET', path: '/live/cam/X' }],
    ['a session path', { method: 'GET', path: '/live/cam/X/init-0.m4s' }],
    ['a segment name', { method: 'GET', path: '/live/cam/SESSION/X' }],
    ['a segment name, HEAD', { method: 'HEAD', path: '/live/cam/SESSION/X' }],
    ['a stream needing a play token', { method: 'GET', path: '/live/guarded/X', auth: true }],
    ['its segments', { method: 'GET', path: '/live/guarded/SESSION/X', auth: true }],
    ['GET /api/streams/:stream', { method: 'GET', path: '/api/streams/X' }],
    ['GET /api/streams/:stream/events', { method: 'GET', path: '/api/streams/X/events' }],
    ['GET /api/streams/:stream/events/live', { method: 'GET', path: '/api/streams/X/events/live' }],
    ['GET /api/streams/:stream/restream', { method: 'GET', path: '/api/streams/X/restream' }],
    [
      'POST /api/streams/:stream/restream',
      { method: 'POST', path: '/api/streams/X/restream', body: '{"url":"rtmp://127.0.0.1:9/live/x"}' },
    ],
    ['DELETE …/restream/:id, the stream', { method: 'DELETE', path: '/api/streams/X/restream/abc' }],
    ['DELETE …/restream/:id, the id', { method: 'DELETE', path: '/api/streams/cam/restream/X' }],
    ['the WebSocket ingest, as plain HTTP', { method: 'GET', path: '/ingest/X' }],
  ];

  describe.each(routes)('%s', (_name, route) => {
    // 414: fastify's answer to a path parameter over its 100 characters (find-my-way maxParamLength).
    const allowed = [400, 403, 404, 414, ...(route.auth ? [401] : [])];
    it.each(pieces)('%s', async (label, piece) => {
      const target = route.path.replace('SESSION', sessionPath).replace('X', expand(piece));
      const res = await raw(port, route.method, target, route.body);
      expectClean(res, allowed, `${route.method} ${target.slice(0, 200)} (${label})`, route.pages);
    });
  });

  it.each([
    ['the pages’ tsconfig.json', '/tsconfig.json'],
    ['globals.d.ts', '/globals.d.ts'],
    ['tsconfig.json, %2e-encoded', '/tsconfig%2ejson'],
    ['tsconfig.json, double-encoded', '/tsconfig%252ejson'],
    ['globals.d.ts, double-encoded', '/globals.d%252ets'],
    ['tsconfig.json, %00 after', '/tsconfig.json%00'],
    ['tsconfig.json, from a folder', '/capture/..%2ftsconfig.json'],
    ['tsconfig.json, ./', '/./tsconfig.json'],
    ['tsconfig.json, trailing /', '/tsconfig.json/'],
    ['package.json at the root', '/package.json'],
    ['a source file', '/src/index.ts'],
    ['a raw NUL byte', '/capture.html\0.json'],
    ['a space', '/capture .html'],
    ['an absolute-form target', 'http://127.0.0.1/../package.json'],
    ['an asterisk', '*'],
  ])('refuses %s', async (_label, target) => {
    const res = await raw(port, 'GET', target);
    expectClean(res, [400, 403, 404], target, true);
  });

  it.each([
    ['a 10 kB token', `?token=${'x'.repeat(10 * 1024)}`, ''],
    ['a NUL token', '?token=%00', ''],
    ['a token with a bad escape', '?token=%zz%E0%A4', ''],
    ['a path as the token', '?token=..%2f..%2fpackage.json', ''],
    ['two tokens', '?token=a&token=b&token[]=c', ''],
    ['a 10 kB Bearer', '', `Authorization: Bearer ${'y'.repeat(10 * 1024)}\r\n`],
    ['a path as the Bearer', '', 'Authorization: Bearer ../../package.json\r\n'],
    ['an empty Bearer', '', 'Authorization: Bearer\r\n'],
  ])('a stream needing a play token refuses %s with 401', async (_label, query, headers) => {
    for (const path of ['/live/guarded/manifest.mpd', `/live/guarded/${sessionPath}/init-0.m4s`]) {
      const res = await raw(port, 'GET', `${path}${query}`, '', headers);
      expectClean(res, [401], `${path}${query.slice(0, 40)}`);
    }
    // The API from loopback (the admin): the same credential is no reason for a 5xx.
    const api = await raw(port, 'GET', `/api/streams/guarded/events${query}`, '', headers);
    expectClean(api, [200, 401], `/api/streams/guarded/events${query.slice(0, 40)}`);
  });

  it('answers an unknown path with the catalogue 404, never echoing a long path or its query', async () => {
    for (const target of [
      `/nothing/${'x'.repeat(10_000)}`,
      '/missing.html?token=secret-value',
      '/api/nothing',
    ]) {
      const res = await raw(port, 'GET', target);
      expect(res.status, target.slice(0, 40)).toBe(404);
      const body = JSON.parse(res.body.toString()) as { code: string; message: string };
      expect(body.code).toBe('DR_ERR_ROUTE_NOT_FOUND');
      expect(body.message.length).toBeLessThan(300);
      expect(body.message).not.toContain('secret-value');
    }
  });

  it('still serves the pages and the live stream afterwards', async () => {
    for (const page of ['/capture.html', '/viewer.html', '/', '/vendor/dash.all.min.js']) {
      expect((await fetch(`${t.url}${page}`)).status, page).toBe(200);
    }
    const res = await raw(port, 'GET', '/live/cam/manifest.mpd');
    expect(res.status).toBe(200);
    expect(res.body.toString()).toContain('<MPD');
    const init = await fetch(`${t.url}/live/cam/${sessionPath}/${initName}`);
    expect(init.status).toBe(200);
    expect(t.server.live('cam')).toBeDefined();
  });
});
