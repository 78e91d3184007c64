import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../_browser.ts';
import { tracksOf } from '../_mp4.ts';
import { eventually, ffmpeg, freePort, sleep, startServer, type TestServer } from '../_setup.ts';

const run = promisify(execFile);
/** Debian's Python, which has `gi` (python3-gi); a pyenv or venv python on PATH usually has not. */
const python =
  process.env.DASHRELAY_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
const serverScript = new URL('../fixtures/rtsp-server.py', import.meta.url).pathname;
// Seed 003's password: an "@" inside it, so the userinfo ends at the last "@" before the host.
const user = 'admin';
const password = 'Yijian@2018!';

/** GStreamer's RTSP server on `port` (test/fixtures/rtsp-server.py), once it says "ready". */
async function startRtspServer(port: number): Promise<ChildProcess> {
  const child = spawn(python, [serverScript, String(port), user, password], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`RTSP server did not start: ${stderr}`)), 15_000);
    child.stdout?.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`RTSP server exited (${code}): ${stderr}`));
    });
  });
  return child;
}

async function kill(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

/**
 * The last Period's newest video segment that should be complete by now (ISO/IEC 23009-1 §5.3.9.5.3:
 * segment N of a SegmentTemplate@duration is available from availabilityStartTime + Period@start +
 * (N - startNumber + 1) × duration), as the session path and file name a player would ask for.
 */
function edgeSegment(mpd: string): { path: string; segment: string } | undefined {
  const ast = /availabilityStartTime="([^"]+)"/.exec(mpd)?.[1];
  const period = mpd.slice(mpd.lastIndexOf('<Period '));
  const start = /<Period [^>]*start="PT(?:(\d+)H)?(?:(\d+)M)?(?:([\d.]+)S)?"/.exec(period);
  const template =
    /<SegmentTemplate timescale="(\d+)" duration="(\d+)" startNumber="(\d+)"[^>]*media="([0-9a-f]{8})\//.exec(
      period,
    );
  if (!ast || !start || !template) return undefined;
  const startS = Number(start[1] ?? 0) * 3600 + Number(start[2] ?? 0) * 60 + Number(start[3] ?? 0);
  const durationS = Number(template[2]) / Number(template[1]);
  const elapsedS = (Date.now() - Date.parse(ast)) / 1000 - startS;
  const n = Number(template[3]) + Math.floor(elapsedS / durationS) - 1;
  if (n < Number(template[3])) return undefined;
  return { path: template[4] ?? '', segment: `seg-0-${String(n).padStart(5, '0')}.m4s` };
}

interface SourceStatus {
  name: string;
  url: string;
  state: string;
  retries: number;
  lastError: { code: string; message: string } | null;
}

describe('RTSP pull from a real RTSP server (GStreamer gst-rtsp-server, H.264, 2 s GOP)', () => {
  let t: TestServer;
  let port: number;
  let rtsp: ChildProcess | undefined;
  const logLines: string[] = [];

  const sources = async (): Promise<SourceStatus[]> =>
    ((await (await fetch(`${t.url}/api/sources`)).json()) as { sources: SourceStatus[] }).sources;
  const sourceState = async (name: string) => (await sources()).find((s) => s.name === name);
  const manifestOk = async (stream: string) =>
    (await fetch(`${t.url}/live/${stream}/manifest.mpd`).catch(() => undefined))?.ok || undefined;

  /** The first video Representation's codecs, segment duration (s) and session path of a stream's MPD. */
  async function playable(stream: string) {
    const mpd = await (await fetch(`${t.url}/live/${stream}/manifest.mpd`)).text();
    const m =
      /<Representation id="0"[^>]*codecs="([^"]+)"[\s\S]*?<SegmentTemplate timescale="(\d+)" duration="(\d+)"[^>]*media="([0-9a-f]{8})\//.exec(
        mpd,
      );
    expect(m, mpd).not.toBeNull();
    const [, codecs = '', timescale = '1', duration = '0', path = ''] = m ?? [];
    const get = async (name: string) =>
      Buffer.from(await (await fetch(`${t.url}/live/${stream}/${path}/${name}`)).arrayBuffer());
    const init = await get('init-0.m4s');
    const segment = await get('seg-0-00002.m4s');
    return { mpd, codecs, segmentS: Number(duration) / Number(timescale), tracks: tracksOf(init, segment) };
  }

  beforeAll(async () => {
    const check = await run(python, [serverScript, '--check']).catch((err: { stdout?: string }) => err);
    if (!('stdout' in check) || !String(check.stdout).includes('ok')) {
      throw new Error(
        `the RTSP test server cannot run (${String(check.stdout ?? check)}): apt-get install python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly`,
      );
    }
    port = await freePort();
    rtsp = await startRtspServer(port);
    const url = `rtsp://${user}:${password}@127.0.0.1:${port}/cam`;
    const { mkdtemp } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const dir = await mkdtemp(join(tmpdir(), 'dashrelay-rtsp-'));
    const file = join(dir, 'cameras.yaml');
    await writeFile(
      file,
      [
        'sources:',
        '  - name: cam',
        `    url: "${url}"`,
        '  - name: lazy',
        `    url: "${url}"`,
        '    onDemand: true',
        '    closeAfterSeconds: 3',
        '  - name: lazyapi',
        `    url: "${url}"`,
        '    onDemand: true',
        '    closeAfterSeconds: 3',
        '  - name: gone',
        `    url: "rtsp://127.0.0.1:${await freePort()}/cam"`,
        '',
      ].join('\n'),
    );
    t = await startServer({
      // Everything the server logs, down to ffmpeg's own lines, to check no credential is in it.
      logger: { level: 'debug', stream: { write: (line: string) => void logLines.push(line) } },
      config: { sources: { file }, ingest: {} },
    });
  });

  afterAll(async () => {
    await t?.close();
    await kill(rtsp);
  });

  it('pulls an always-on camera: the MPD plays with its H.264 copied and its GOP kept, the archive grows', {
    timeout: 60_000,
  }, async () => {
    await eventually(() => manifestOk('cam'), 30_000, 'the MPD of cam');
    const { codecs, segmentS, tracks, mpd } = await playable('cam');
    // Copied, not re-encoded: the camera's Constrained Baseline (x264 here would make High).
    expect(codecs).toMatch(/^avc1\.42/);
    expect(segmentS).toBeCloseTo(2, 1);
    expect(tracks[0]?.codec).toBe(codecs);
    expect(tracks[0]?.nb_samples).toBeGreaterThanOrEqual(55);
    expect((mpd.match(/<AdaptationSet/g) ?? []).length).toBe(1);

    const info = (await (await fetch(`${t.url}/api/streams/cam`)).json()) as Record<string, unknown>;
    expect(info).toMatchObject({
      name: 'cam',
      codecs: { video: 'h264', audio: 'none' },
      width: 320,
      height: 240,
    });
    expect(await sourceState('cam')).toMatchObject({
      state: 'live',
      url: `rtsp://***@127.0.0.1:${port}/cam`,
    });

    const dir = join(t.outputDir, 'cam', 'archive');
    const [name = ''] = await readdir(dir);
    expect(name).toMatch(/\.mkv$/);
    const before = (await stat(join(dir, name))).size;
    await sleep(2000);
    expect((await stat(join(dir, name))).size).toBeGreaterThan(before);
    // The archive is the camera's stream remuxed: H.264 as sent, 320×240.
    const probe = await run((await ffmpeg()).path.replace(/ffmpeg$/, 'ffprobe'), [
      '-v',
      'error',
      '-show_entries',
      'stream=codec_name,profile,width,height',
      '-of',
      'csv=p=0',
      join(dir, name),
    ]);
    expect(probe.stdout.trim()).toBe('h264,Constrained Baseline,320,240');
  });

  it('starts an on-demand camera when its manifest is asked for, and stops it once nobody asks', {
    timeout: 60_000,
  }, async () => {
    expect(await sourceState('lazy')).toMatchObject({ state: 'idle' });
    expect(t.server.registry.get('lazy')).toBeUndefined();
    // One request, held while the camera connects and its first Period is measured.
    const res = await fetch(`${t.url}/live/lazy/manifest.mpd`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('<Period');
    expect(await sourceState('lazy')).toMatchObject({ state: 'live' });
    const { codecs } = await playable('lazy');
    expect(codecs).toMatch(/^avc1\.42/);
    // No more requests: closeAfterSeconds (3 s) later the pull stops and the name is free.
    const stoppedAt = Date.now();
    await eventually(() => t.server.registry.get('lazy') === undefined || undefined, 15_000, 'lazy stopped');
    expect(Date.now() - stoppedAt).toBeGreaterThan(1500);
    await eventually(async () => (await sourceState('lazy'))?.state === 'idle' || undefined, 5000, 'idle');
  });

  it('starts an on-demand camera from the API, as the viewer page polls it, and keeps it while polled', {
    timeout: 60_000,
  }, async () => {
    // The viewer page asks GET /api/streams/:stream every 2 s, then fetches the manifest once it is live.
    expect((await fetch(`${t.url}/api/streams/lazyapi`)).status).toBe(404);
    const live = await eventually(
      async () => {
        const r = await fetch(`${t.url}/api/streams/lazyapi`);
        const body = r.ok ? ((await r.json()) as { packager: string }) : undefined;
        if (body?.packager !== 'running') await sleep(1000);
        return body?.packager === 'running' ? body : undefined;
      },
      30_000,
      'lazyapi live',
    );
    expect(live).toBeDefined();
    await eventually(() => manifestOk('lazyapi'), 20_000, 'the MPD of lazyapi');
    // Polled for longer than closeAfterSeconds: it stays up.
    for (let i = 0; i < 5; i++) {
      await fetch(`${t.url}/api/streams/lazyapi`);
      await sleep(1000);
    }
    expect(await sourceState('lazyapi')).toMatchObject({ state: 'live' });
    await eventually(() => t.server.registry.get('lazyapi') === undefined || undefined, 15_000, 'stopped');
  });

  it('comes back by itself when the camera dies mid-stream and returns on the same port', {
    timeout: 90_000,
  }, async () => {
    await eventually(() => manifestOk('cam'), 30_000, 'cam live');
    const firstSession = t.server.registry.get('cam')?.info.sessionId;
    expect(firstSession).toBeDefined();
    await kill(rtsp);
    await eventually(() => t.server.registry.get('cam') === undefined || undefined, 30_000, 'cam ended');
    const down = await sourceState('cam');
    expect(down?.state).toMatch(/retrying|starting/);
    expect(down?.lastError?.code).toBe('DR_ERR_PULL_FAILED');
    await sleep(2000);
    rtsp = await startRtspServer(port);
    await eventually(
      async () => {
        const s = t.server.registry.get('cam');
        return s && s.info.sessionId !== firstSession && (await sourceState('cam'))?.state === 'live'
          ? true
          : undefined;
      },
      40_000,
      'cam back',
    );
    // The MPD goes on (the same Period continued, or a new one), and its live edge plays from the new session.
    await eventually(
      async () => {
        const mpd = await (await fetch(`${t.url}/live/cam/manifest.mpd`)).text();
        const edge = edgeSegment(mpd);
        if (!edge) return undefined;
        const get = async (name: string) => {
          const r = await fetch(`${t.url}/live/cam/${edge.path}/${name}`);
          return r.ok ? Buffer.from(await r.arrayBuffer()) : undefined;
        };
        const [init, seg] = [await get('init-0.m4s'), await get(edge.segment)];
        return init && seg && tracksOf(init, seg)[0]?.codec.startsWith('avc1.42') ? true : undefined;
      },
      30_000,
      'the live edge playing again',
    );
  });

  it('tells a viewer of a camera that does not answer what the server is doing', {
    timeout: 60_000,
  }, async () => {
    await eventually(
      async () => ((await sourceState('gone'))?.retries ?? 0) >= 1 || undefined,
      20_000,
      'retrying',
    );
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(`${t.url}/viewer.html?stream=gone`);
      await page.waitForFunction(
        () => document.getElementById('overlay-title')?.textContent?.includes('Connecting to camera gone'),
        undefined,
        { timeout: 10_000 },
      );
      expect(await page.textContent('#overlay-text')).toContain('the server keeps trying by itself');
      await page.screenshot({ path: join(tmpdir(), 'dashrelay-viewer-camera-gone.png') });
    } finally {
      await browser.close();
    }
  });

  it('never logs nor shows the credentials', async () => {
    const api = JSON.stringify(await sources()) + (await (await fetch(`${t.url}/api/streams`)).text());
    expect(api).not.toContain(password);
    expect(api).not.toContain('Yijian');
    expect(logLines.length).toBeGreaterThan(10);
    // The failures of the restart test are in the log, ffmpeg's lines with them, masked.
    expect(logLines.some((l) => l.includes('DR_ERR_PULL_FAILED'))).toBe(true);
    expect(logLines.filter((l) => l.includes('Yijian'))).toEqual([]);
  });
});
