import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createRelayServer } from '../../src/app/create-server.ts';
import { generateSelfSigned } from '../../src/tls/certificate.ts';
import { machineNames } from '../../src/tls/machine-names.ts';
import { ffmpeg, fixture, fixtureMimeTypes, sleep, startServer, type TestServer } from '../_setup.ts';

/** A GET over HTTPS that trusts only `ca` (the server's own certificate), as a browser that accepted it. */
function httpsGet(url: string, ca: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('HTTPS and WSS on the same port with --tls-self-signed', () => {
  let t: TestServer;
  let ca: string;
  beforeAll(async () => {
    t = await startServer({ analyzers: [], config: { server: { tlsSelfSigned: true } } });
    ca = t.server.tls?.cert ?? '';
  });
  afterAll(async () => t?.close());

  it('serves the pages over HTTPS with a certificate kept in <outputDir>/tls/', async () => {
    expect(t.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(t.server.tls).toMatchObject({
      selfSigned: true,
      created: true,
      certFile: join(t.outputDir, 'tls', 'cert.pem'),
    });
    const page = await httpsGet(`${t.url}/capture.html`, ca);
    expect(page.status).toBe(200);
    expect(page.body.toString()).toContain('<html');
  });

  it('refuses a client that does not trust the certificate (no silent downgrade)', async () => {
    await expect(fetch(`${t.url}/capture.html`)).rejects.toThrow();
  });

  it('takes a publisher over WSS and serves its MPD and segments over HTTPS, UTCTiming included', async () => {
    const data = await fixture('h264', 4);
    const ws = new WebSocket(`${t.wsUrl}/ingest/secure`, { ca });
    expect(t.wsUrl).toMatch(/^wss:/);
    const ready = new Promise<void>((resolve, reject) => {
      ws.on('message', (d, binary) => {
        if (!binary && JSON.parse(d.toString()).type === 'ready') resolve();
      });
      ws.once('close', (code) => reject(new Error(`closed ${code}`)));
      ws.once('error', reject);
    });
    await new Promise((r) => ws.once('open', r));
    ws.send(JSON.stringify({ type: 'hello', mimeType: fixtureMimeTypes.h264, keyframeIntervalMs: 1000 }));
    await ready;
    for (let off = 0; off < data.length; off += 16 * 1024) {
      ws.send(data.subarray(off, off + 16 * 1024));
      await sleep(30);
    }
    const mpd = await httpsGet(`${t.url}/live/secure/manifest.mpd`, ca);
    expect(mpd.status).toBe(200);
    const text = mpd.body.toString();
    expect(text).toMatch(/<UTCTiming[^>]+value="https:\/\/[^"]+\/time"/);
    const init = text.match(/initialization="([^"]+)"/)?.[1];
    expect(init).toBeDefined();
    const base = `${t.url}/live/secure/`;
    const initUrl = new URL((init ?? '').replace('$RepresentationID$', '0'), base).toString();
    const segment = await httpsGet(initUrl, ca);
    expect(segment.status).toBe(200);
    expect(segment.body.subarray(4, 8).toString()).toBe('ftyp');
    ws.close(1000);
  });
});

describe('HTTPS with --tls-cert and --tls-key', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dashrelay-tls-files-'));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('serves the given certificate', async () => {
    const pems = await generateSelfSigned(machineNames(), new Date(), 30);
    await writeFile(join(dir, 'cert.pem'), pems.cert);
    await writeFile(join(dir, 'key.pem'), pems.private);
    const t = await startServer({
      analyzers: [],
      config: {
        rtmp: { enabled: false },
        server: { tlsCert: join(dir, 'cert.pem'), tlsKey: join(dir, 'key.pem') },
      },
    });
    try {
      expect(t.server.tls).toMatchObject({ selfSigned: false, certFile: join(dir, 'cert.pem') });
      expect((await httpsGet(`${t.url}/time`, pems.cert)).status).toBe(200);
    } finally {
      await t.close();
    }
  });

  it('refuses to start with a key that is not the certificate’s, saying which file', async () => {
    const other = await generateSelfSigned(machineNames(), new Date(), 30);
    await writeFile(join(dir, 'other-key.pem'), other.private);
    await expect(
      createRelayServer({
        logger: false,
        ffmpeg: await ffmpeg(),
        config: {
          outputDir: dir,
          server: { port: 0, tlsCert: join(dir, 'cert.pem'), tlsKey: join(dir, 'other-key.pem') },
        },
      }),
    ).rejects.toMatchObject({ code: 'DR_ERR_TLS_SETUP', message: /other-key\.pem is not the private key/ });
  });
});
