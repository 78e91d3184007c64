import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnalysisFrame, AnalysisPlugin } from '../../src/analysis/types.ts';
import { tracksOf } from '../_mp4.ts';
import { eventually, ffmpeg, sleep, startServer, type TestServer } from '../_setup.ts';

const run = promisify(execFile);

/** An RTMP publisher: ffmpeg with `args` (inputs and encoding) pushing FLV to `url`. */
function push(
  ffmpegPath: string,
  args: readonly string[],
  url: string,
): ChildProcess & { stderrText: string } {
  const child = spawn(ffmpegPath, ['-hide_banner', '-loglevel', 'error', ...args, '-f', 'flv', url], {
    stdio: ['ignore', 'ignore', 'pipe'],
  }) as ChildProcess & { stderrText: string };
  child.stderrText = '';
  child.stderr?.on('data', (d: Buffer) => {
    child.stderrText += d.toString();
  });
  return child;
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** A camera's H.264 (Baseline, no B-frames, a keyframe every 2 s at 30 fps), as the Pi's /dev/video0 gives it. */
async function cameraH264(ffmpegPath: string): Promise<string> {
  const file = join(tmpdir(), 'dashrelay-fixtures', 'camera-800x600-gop60.h264');
  await run(ffmpegPath, [
    '-hide_banner',
    '-loglevel',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    'testsrc2=size=800x600:rate=30',
    '-t',
    '12',
    '-c:v',
    'libx264',
    '-profile:v',
    'baseline',
    '-g',
    '60',
    '-keyint_min',
    '60',
    '-sc_threshold',
    '0',
    '-b:v',
    '250k',
    '-f',
    'h264',
    file,
  ]).catch(async (err: Error) => {
    await run('mkdir', ['-p', join(tmpdir(), 'dashrelay-fixtures')]);
    throw err;
  });
  return file;
}

const testsrc = ['-re', '-f', 'lavfi', '-i', 'testsrc2=size=800x600:rate=30'];

/** Seed 002 and OBS, with lavfi standing in for /dev/video0 and libx264 for h264_omx. */
const publishers: { name: string; args: (camera: string) => string[]; audio: boolean; profile: RegExp }[] = [
  {
    name: "seed 002 option 1: the Pi camera's H.264 stream-copied (-c:v copy -an)",
    args: (camera) => [
      '-re',
      '-f',
      'h264',
      '-framerate',
      '30',
      '-i',
      camera,
      '-c:v',
      'copy',
      '-an',
      '-strict',
      'experimental',
    ],
    audio: false,
    // Baseline: the camera's own stream, not a re-encode (which would be High).
    profile: /^avc1\.42/,
  },
  {
    name: 'seed 002 option 2: x264 at 256 kbit/s, GOP 60 (-an)',
    args: () => [
      ...testsrc,
      '-framerate',
      '30',
      '-c:v',
      'libx264',
      '-preset',
      'medium',
      '-b:v',
      '256k',
      '-maxrate',
      '256k',
      '-bufsize',
      '2048k',
      '-g',
      '60',
      '-an',
      '-strict',
      'experimental',
    ],
    audio: false,
    profile: /^avc1\.64/,
  },
  {
    name: "OBS's default RTMP output: x264 veryfast CBR, 2 s keyframes, AAC 160k 48 kHz",
    args: () => [
      ...testsrc,
      '-re',
      '-f',
      'lavfi',
      '-i',
      'sine=frequency=440:sample_rate=48000',
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-b:v',
      '2500k',
      '-maxrate',
      '2500k',
      '-bufsize',
      '5000k',
      '-g',
      '60',
      '-pix_fmt',
      'yuv420p',
      '-c:a',
      'aac',
      '-b:a',
      '160k',
      '-ar',
      '48000',
      '-ac',
      '2',
    ],
    audio: true,
    profile: /^avc1\.64/,
  },
];

describe('RTMP ingest with real ffmpeg publishers', () => {
  let t: TestServer;
  let ffmpegPath: string;
  let camera: string;
  const frames: AnalysisFrame[] = [];
  const recorder: AnalysisPlugin = {
    name: 'recorder',
    open: () => ({ onFrame: (f) => void frames.push(f) }),
  };
  const children: ChildProcess[] = [];
  const start = (args: readonly string[], url: string) => {
    const child = push(ffmpegPath, args, url);
    children.push(child);
    return child;
  };

  beforeAll(async () => {
    ffmpegPath = (await ffmpeg()).path;
    camera = await cameraH264(ffmpegPath);
    t = await startServer({ analyzers: [recorder], config: { rtmp: { idleTimeoutMs: 2000 } } });
  });
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await t?.close();
  });

  const rtmp = (stream: string) => `${t.server.rtmpUrl}/${stream}`;

  it('listens where the server says', () => {
    expect(t.server.rtmpUrl).toMatch(/^rtmp:\/\/127\.0\.0\.1:\d+\/live$/);
  });

  publishers.forEach((p, i) => {
    it(`${p.name}: plays over DASH with the source's GOP, archives the FLV, feeds analysis`, {
      timeout: 60_000,
    }, async () => {
      const stream = `rtmp${i}`;
      const child = start(p.args(camera), rtmp(stream));
      await eventually(() => t.server.registry.get(stream) || undefined, 15_000, 'session');
      const mpdRes = await fetch(`${t.url}/live/${stream}/manifest.mpd`);
      expect(mpdRes.status).toBe(200);
      const mpd = await mpdRes.text();
      const video =
        /<Representation id="0"[^>]*codecs="([^"]+)"[\s\S]*?<SegmentTemplate timescale="(\d+)" duration="(\d+)"[^>]*media="([0-9a-f]{8})\//.exec(
          mpd,
        );
      expect(video, mpd).not.toBeNull();
      const [, codecs = '', timescale = '1', duration = '0', path = ''] = video ?? [];
      // H.264 is copied, never re-encoded: the profile is the publisher's.
      expect(codecs).toMatch(p.profile);
      // Segments follow the publisher's 2 s GOP, and the template says so (no drift).
      expect(Number(duration) / Number(timescale)).toBeCloseTo(2, 1);
      expect((mpd.match(/<AdaptationSet/g) ?? []).length).toBe(p.audio ? 2 : 1);
      expect((mpd.match(/<Period /g) ?? []).length).toBe(1);

      const init = Buffer.from(
        await (await fetch(`${t.url}/live/${stream}/${path}/init-0.m4s`)).arrayBuffer(),
      );
      const seg = Buffer.from(
        await (await fetch(`${t.url}/live/${stream}/${path}/seg-0-00002.m4s`)).arrayBuffer(),
      );
      expect(tracksOf(init, seg)[0]?.codec).toBe(codecs);
      if (p.audio) {
        const aInit = Buffer.from(
          await (await fetch(`${t.url}/live/${stream}/${path}/init-1.m4s`)).arrayBuffer(),
        );
        const aSeg = Buffer.from(
          await (await fetch(`${t.url}/live/${stream}/${path}/seg-1-00002.m4s`)).arrayBuffer(),
        );
        expect(tracksOf(aInit, aSeg)[0]?.codec).toMatch(/^mp4a\.40\.2/);
        // AAC is copied too: the publisher's 48 kHz stereo (as its AudioSpecificConfig says).
        const file = join(t.outputDir, `${stream}-audio-init.mp4`);
        await writeFile(file, aInit);
        const probe = await run(ffmpegPath.replace(/ffmpeg$/, 'ffprobe'), [
          '-v',
          'error',
          '-show_entries',
          'stream=sample_rate,channels',
          '-of',
          'csv=p=0',
          file,
        ]);
        expect(probe.stdout.trim()).toBe('48000,2');
      }
      const api = (await (await fetch(`${t.url}/api/streams/${stream}`)).json()) as Record<string, unknown>;
      expect(api).toMatchObject({
        name: stream,
        packager: 'running',
        codecs: { video: 'h264', audio: p.audio ? 'aac' : 'none' },
        // From the publisher's onMetaData.
        width: 800,
        height: 600,
      });
      await eventually(
        () => frames.filter((f) => f.stream === stream).length >= 5 || undefined,
        20_000,
        'analysis frames',
      );

      child.kill('SIGINT');
      await exited(child);
      await eventually(() => t.server.registry.get(stream) === undefined || undefined, 20_000, 'session end');
      const dir = join(t.outputDir, stream, 'archive');
      const [name = ''] = await readdir(dir);
      expect(name).toMatch(/\.flv$/);
      const archive = await readFile(join(dir, name));
      expect(archive.subarray(0, 3).toString('latin1')).toBe('FLV');
      // The archive decodes from start to end.
      const probe = await run(ffmpegPath, ['-v', 'error', '-i', join(dir, name), '-f', 'null', '-']);
      expect(probe.stderr).toBe('');
    });
  });

  it('takes two publishers at once, and a SIGKILLed one frees its name', { timeout: 60_000 }, async () => {
    const a = start(publishers[1]?.args(camera) ?? [], rtmp('two-a'));
    const b = start(publishers[1]?.args(camera) ?? [], rtmp('two-b'));
    for (const s of ['two-a', 'two-b']) {
      // A 2 s GOP: the first Period is announced once two segments were measured.
      await eventually(
        async () => (await fetch(`${t.url}/live/${s}/manifest.mpd`)).ok || undefined,
        20_000,
        s,
      );
    }
    expect(t.server.registry.get('two-a')).toBeDefined();
    a.kill('SIGKILL');
    await eventually(() => t.server.registry.get('two-a') === undefined || undefined, 10_000, 'name freed');
    expect(t.server.registry.get('two-b')).toBeDefined();
    const again = start(publishers[1]?.args(camera) ?? [], rtmp('two-a'));
    await eventually(() => t.server.registry.get('two-a') !== undefined || undefined, 15_000, 'republished');
    b.kill('SIGKILL');
    again.kill('SIGKILL');
  });

  it('frees the name of a publisher that goes silent without closing (idleTimeoutMs)', {
    timeout: 30_000,
  }, async () => {
    const child = start(publishers[1]?.args(camera) ?? [], rtmp('silent'));
    await eventually(() => t.server.live('silent') || undefined, 15_000, 'live');
    child.kill('SIGSTOP'); // the TCP connection stays open, nothing more comes
    await eventually(() => t.server.registry.get('silent') === undefined || undefined, 10_000, 'name freed');
    child.kill('SIGKILL');
  });

  it('lets a second publisher take a live name over (OBS reconnecting), and refuses a bad name and another application, saying why', {
    timeout: 40_000,
  }, async () => {
    const first = start(publishers[1]?.args(camera) ?? [], rtmp('busy'));
    await eventually(() => t.server.registry.get('busy') || undefined, 15_000, 'live');
    const firstId = t.server.registry.get('busy')?.info.sessionId;
    const again = start(publishers[1]?.args(camera) ?? [], rtmp('busy'));
    expect(await exited(first)).not.toBe(0);
    expect(first.stderrText).toMatch(/took over|Rejected|error/i);
    await eventually(
      () => {
        const id = t.server.registry.get('busy')?.info.sessionId;
        return id !== undefined && id !== firstId ? id : undefined;
      },
      15_000,
      'the second publisher live',
    );
    again.kill('SIGKILL');
    const cases: [string, RegExp][] = [
      [rtmp('bad.name'), /Invalid stream name/],
      [`${t.server.rtmpUrl?.replace(/\/live$/, '/other')}/cam`, /application "other" is not served/],
    ];
    for (const [url, message] of cases) {
      const child = start(['-t', '3', ...(publishers[1]?.args(camera) ?? [])], url);
      expect(await exited(child)).not.toBe(0);
      expect(child.stderrText).toMatch(message);
    }
    expect(t.server.registry.get('bad')).toBeUndefined();
    first.kill('SIGKILL');
  });

  it('survives bytes that are not RTMP', async () => {
    const { connect } = await import('node:net');
    const port = Number(new URL((t.server.rtmpUrl ?? '').replace('rtmp:', 'http:')).port);
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => {});
    socket.write(Buffer.alloc(5000, 0xff));
    await sleep(300);
    socket.destroy();
    expect((await fetch(`${t.url}/api/streams`)).status).toBe(200);
  });
});
