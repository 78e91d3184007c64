import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, createServer as createTcpServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliRun, cliPath, runCli } from '../_cli.ts';
import { tracksOf } from '../_mp4.ts';
import { eventually, ffmpeg, freePort, startServer, type TestServer } from '../_setup.ts';

/**
 * `dashrelay publish` as a user runs it (the built CLI, real ffmpeg, a real server): presets reach the
 * server and the MPD plays, it reconnects by itself to a restarted server, and a missing ffmpeg,
 * camera or camera tool ends with the documented exit code.
 */

const run = promisify(execFile);
const cli = cliPath;

function publish(args: string[], env: NodeJS.ProcessEnv = {}): CliRun {
  return runCli(['publish', ...args], env);
}

async function stop(p: CliRun): Promise<number | null> {
  if (p.child.exitCode === null) p.child.kill('SIGTERM');
  return p.exited;
}

/**
 * What a DASH player does first: reads the live MPD, then each Representation's init segment and
 * its second media segment (held by the origin until it exists), and demuxes them.
 * @returns each Representation's codec and, for video, its size.
 */
async function play(
  base: string,
  stream: string,
): Promise<{ codec: string; width?: number; height?: number }[]> {
  const mpd = await eventually(
    async () => {
      const res = await fetch(`${base}/live/${stream}/manifest.mpd`);
      return res.ok ? res.text() : undefined;
    },
    20_000,
    `${stream}'s MPD`,
  );
  const session = /media="([0-9a-f]{8})\//.exec(mpd)?.[1];
  expect(session, mpd).toBeDefined();
  const reps = [...mpd.matchAll(/<Representation id="(\d+)"/g)].map((m) => m[1] ?? '');
  expect(reps.length, mpd).toBeGreaterThan(0);
  const out: { codec: string; width?: number; height?: number }[] = [];
  for (const rep of reps) {
    const get = async (name: string) => {
      const res = await fetch(`${base}/live/${stream}/${session}/${name}`);
      expect(res.status, name).toBe(200);
      return Buffer.from(await res.arrayBuffer());
    };
    const [track] = tracksOf(await get(`init-${rep}.m4s`), await get(`seg-${rep}-00002.m4s`));
    expect(track, `Representation ${rep} demuxes`).toBeDefined();
    out.push({ codec: track?.codec ?? '', width: track?.video?.width, height: track?.video?.height });
  }
  return out;
}

/**
 * A TCP proxy in front of the server whose `blackhole()` makes the established connections go silent
 * both ways without closing them, as a Wi-Fi drop does; new connections still go through.
 */
async function blackholeProxy(target: number) {
  const pairs: { client: Socket; upstream: Socket; dead: boolean }[] = [];
  const server = createTcpServer((client) => {
    const upstream = connect(target, '127.0.0.1');
    const pair = { client, upstream, dead: false };
    pairs.push(pair);
    client.on('data', (d) => {
      if (!pair.dead) upstream.write(d);
    });
    upstream.on('data', (d) => {
      if (!pair.dead) client.write(d);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', () => pair.dead || upstream.destroy());
    upstream.on('close', () => pair.dead || client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as { port: number }).port,
    blackhole(): { upstream: Socket }[] {
      const gone = pairs.splice(0);
      for (const p of gone) p.dead = true;
      return gone;
    },
    close(): Promise<void> {
      for (const p of pairs) {
        p.client.destroy();
        p.upstream.destroy();
      }
      return new Promise((r) => server.close(() => r()));
    },
  };
}

/** A plain (non-terminal) status line: ISO time, prefix, state, uptime, bitrate, frames, reconnects. */
const plainStatus = (stream: string) =>
  new RegExp(
    `^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z \\[publish ${stream}\\] live \\d+:\\d\\d:\\d\\d · \\d+ kbit/s · \\d+ frames · \\d+ reconnects?$`,
    'm',
  );

describe('dashrelay publish', () => {
  let t: TestServer;
  let ffmpegPath: string;
  let work: string;
  const runs: CliRun[] = [];
  const start = (args: string[], env?: NodeJS.ProcessEnv) => {
    const p = publish(args, env);
    runs.push(p);
    return p;
  };

  beforeAll(async () => {
    if (!existsSync(cli)) throw new Error('dist/ is missing: run `npm run build` (npm test does)');
    const found = (await ffmpeg()).path;
    // Absolute, so the tests that change PATH still find it.
    ffmpegPath = found.includes('/') ? found : (await run('sh', ['-c', `command -v ${found}`])).stdout.trim();
    work = await mkdtemp(join(tmpdir(), 'dashrelay-publish-'));
    t = await startServer({ analyzers: [] });
  });
  afterAll(async () => {
    for (const p of runs) p.child.kill('SIGKILL');
    await t?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('--preset test: the pattern and its tone reach the server and play; plain status lines without a terminal', {
    timeout: 60_000,
  }, async () => {
    const p = start([
      '--server',
      t.url,
      '--stream',
      'ptest',
      '--preset',
      'test',
      '--size',
      '320x240',
      '--bitrate',
      '300k',
      '--status-every',
      '1',
    ]);
    const tracks = await play(t.url, 'ptest');
    expect(tracks.map((x) => x.codec.slice(0, 4)).sort()).toEqual(['avc1', 'mp4a']);
    expect(tracks.find((x) => x.codec.startsWith('avc1'))).toMatchObject({ width: 320, height: 240 });
    expect(t.server.registry.get('ptest')?.info.mimeType).toBe('video/x-matroska;codecs=avc1,opus');
    await eventually(() => plainStatus('ptest').test(p.stdout) || undefined, 10_000, 'a status line');
    expect(await stop(p)).toBe(0);
    expect(p.stdout).toMatch(
      /test pattern 320x240 at 30 fps with a 440 Hz tone, encoded with x264 .* at 300 kbit\/s/,
    );
    expect(p.stdout).toMatch(/live: watch at http:\/\/127\.0\.0\.1:\d+\/viewer\.html\?stream=ptest/);
    // Frames come from ffmpeg's -progress, the bitrate from what was sent: both move.
    // (The last line may come as it stops, with nothing sent in its window: the best of them counts.)
    const lines = [...p.stdout.matchAll(/· (\d+) kbit\/s · (\d+) frames/g)];
    expect(Math.max(...lines.map((m) => Number(m[1])))).toBeGreaterThan(0);
    expect(Math.max(...lines.map((m) => Number(m[2])))).toBeGreaterThan(30);
    // No terminal, so no in-place redraws: no carriage returns, no escape sequences.
    expect(p.stdout + p.stderr).not.toContain('\r');
    expect(p.stdout + p.stderr).not.toContain('\u001b');
    expect(p.stderr).toBe('');
  });

  it('--preset file: an H.264 file with a keyframe a second is looped and copied, not re-encoded', {
    timeout: 60_000,
  }, async () => {
    const file = join(work, 'clip-baseline-gop1s.mp4');
    // Baseline, so a re-encode (High) would show in the codec string. Shorter than the test: it must loop.
    await run(ffmpegPath, [
      ...['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25'],
      ...['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', '3'],
      ...['-c:v', 'libx264', '-profile:v', 'baseline', '-g', '25', '-keyint_min', '25', '-sc_threshold', '0'],
      ...['-c:a', 'aac', file],
    ]);
    const p = start(['--server', t.url, '--stream', 'pfile', '--preset', 'file', '--input', file]);
    const tracks = await play(t.url, 'pfile');
    const video = tracks.find((x) => x.codec.startsWith('avc1'));
    expect(video?.codec).toMatch(/^avc1\.42/);
    expect(tracks.some((x) => x.codec.startsWith('mp4a'))).toBe(true);
    // Past the file's 3 s: still live, because it loops.
    await new Promise((r) => setTimeout(r, 4000));
    expect(t.server.registry.get('pfile')).toBeDefined();
    expect(p.child.exitCode).toBeNull();
    expect(await stop(p)).toBe(0);
    expect(p.stdout).toMatch(/clip-baseline-gop1s\.mp4, looped at its own pace, video copied/);
  });

  it("--preset rpi: rpicam-vid's H.264 (a stand-in on PATH) is copied, with --size/--fps/--bitrate given to the camera", {
    timeout: 60_000,
  }, async () => {
    const bin = join(work, 'bin');
    await mkdir(bin, { recursive: true });
    const log = join(work, 'rpicam.log');
    // Writes what the real tool writes: an H.264 Annex-B elementary stream on stdout, at the flags' size and rate.
    await writeFile(
      join(bin, 'rpicam-vid'),
      `#!/bin/sh
echo "$*" >> "${log}"
width=640 height=480 fps=30 intra=30 bitrate=2000000
while [ $# -gt 0 ]; do
  case "$1" in
    --width) width=$2; shift ;; --height) height=$2; shift ;; --framerate) fps=$2; shift ;;
    --intra) intra=$2; shift ;; --bitrate) bitrate=$2; shift ;;
  esac
  shift
done
echo "[0:00:00.1] INFO Camera camera_manager.cpp: libcamera v0.3 (stand-in)" >&2
exec "${ffmpegPath}" -hide_banner -loglevel error -re -f lavfi -i "testsrc2=size=\${width}x\${height}:rate=\${fps}" \\
  -c:v libx264 -profile:v baseline -preset ultrafast -g "$intra" -bf 0 -b:v "$bitrate" -f h264 -
`,
    );
    await chmod(join(bin, 'rpicam-vid'), 0o755);
    const p = start(
      [
        '--server',
        t.url,
        '--stream',
        'ppi',
        '--preset',
        'rpi',
        '--bitrate',
        '256k',
        '--size',
        '320x240',
        '--fps',
        '15',
      ],
      { PATH: `${bin}:${dirname(ffmpegPath)}:/usr/bin:/bin` },
    );
    const tracks = await play(t.url, 'ppi');
    expect(tracks).toHaveLength(1);
    // Baseline as the camera sent it: copied, not re-encoded by anyone.
    expect(tracks[0]).toMatchObject({ width: 320, height: 240 });
    expect(tracks[0]?.codec).toMatch(/^avc1\.42/);
    const info = t.server.registry.get('ppi')?.info;
    expect(info).toMatchObject({
      mimeType: 'video/x-matroska;codecs=avc1',
      keyframeIntervalMs: 1000,
      fps: 15,
    });
    expect(await stop(p)).toBe(0);
    const flags = (await readFile(log, 'utf8')).trim().split('\n')[0] ?? '';
    expect(flags).toBe(
      '-t 0 --nopreview --inline --flush --codec h264 --width 320 --height 240 --framerate 15 --bitrate 256000 --intra 15 -o -',
    );
    expect(p.stdout).toMatch(/rpicam-vid H\.264 320x240 at 15 fps, 256 kbit\/s, copied/);
    // The camera tool's chatter stays out of the log; ffmpeg had nothing to warn about.
    expect(p.stderr).toBe('');
  });

  it('reconnects by itself when the server goes away and a new one starts on the same port', {
    timeout: 90_000,
  }, async () => {
    const port = await freePort();
    let server = await startServer({ analyzers: [], config: { server: { port } } });
    const url = `http://127.0.0.1:${port}`;
    const p = start([
      '--server',
      url,
      '--stream',
      'again',
      '--preset',
      'test',
      '--size',
      '320x240',
      '--no-audio',
    ]);
    try {
      await play(url, 'again');
      await server.close();
      await eventually(() => /retrying in \d+\.\d s/.test(p.stderr) || undefined, 10_000, 'a retry');
      // Down for a few seconds: the publisher keeps trying, backing off.
      await new Promise((r) => setTimeout(r, 3000));
      server = await startServer({ analyzers: [], config: { server: { port } } });
      const tracks = await play(url, 'again');
      expect(tracks[0]?.codec).toMatch(/^avc1/);
      expect(p.stdout).toMatch(/reconnected to ws:\/\/127\.0\.0\.1:\d+\/ingest\/again/);
      expect(p.child.exitCode).toBeNull();
      expect(await stop(p)).toBe(0);
      expect(p.stderr).toMatch(/the server is shutting down; retrying in [01]\.\d s \(attempt 1\)/);
      expect(p.stderr).toMatch(/cannot reach ws:\/\/127\.0\.0\.1:\d+\/ingest\/again: .*ECONNREFUSED/);
    } finally {
      await server.close();
    }
  });

  it('a network that vanishes without a close: dropped after 15 s of silence, reconnected under the same name, live again', {
    timeout: 90_000,
  }, async () => {
    const port = Number(new URL(t.url).port);
    const proxy = await blackholeProxy(port);
    const url = `http://127.0.0.1:${proxy.port}`;
    const p = start([
      '--server',
      url,
      '--stream',
      'wifi',
      '--preset',
      'test',
      '--size',
      '320x240',
      '--no-audio',
    ]);
    try {
      await play(t.url, 'wifi');
      const sessionBefore = t.server.registry.get('wifi')?.info.sessionId;
      proxy.blackhole();
      await eventually(
        () => /no answer from the server for 15 s; retrying/.test(p.stderr) || undefined,
        25_000,
        'silence noticed',
      );
      // The server heard no close either: its idle watch (ingest.idleTimeoutMs) frees the name, and the
      // reconnect would take it over anyway. Never refused as busy.
      expect(p.child.exitCode).toBeNull();
      await eventually(
        () => {
          const id = t.server.registry.get('wifi')?.info.sessionId;
          return id !== undefined && id !== sessionBefore ? true : undefined;
        },
        20_000,
        'a new session',
      );
      expect((await play(t.url, 'wifi'))[0]?.codec).toMatch(/^avc1/);
      await eventually(
        () => /reconnected to/.test(p.stdout) || undefined,
        5000,
        `"reconnected" in\n${p.stdout}\n--- stderr\n${p.stderr}`,
      );
      expect(await stop(p)).toBe(0);
    } finally {
      await proxy.close();
    }
  });

  describe('exits with the documented code and says what to do', () => {
    it.each([
      {
        what: 'ffmpeg missing (FFMPEG_PATH=/nonexistent) → 3',
        args: ['--preset', 'test'],
        env: { FFMPEG_PATH: '/nonexistent' },
        code: 3,
        message:
          /ffmpeg \(\/nonexistent, from FFMPEG_PATH\) was not found\. Install it .*\[DR_ERR_FFMPEG_MISSING\]/,
      },
      {
        what: 'no camera at --device → 4',
        args: ['--preset', 'webcam', '--device', '/dev/nonexistent'],
        env: {},
        code: 4,
        message: /no camera at \/dev\/nonexistent: check the cable/,
      },
      {
        what: 'rpi without rpicam-vid or libcamera-vid on PATH → 4',
        args: ['--preset', 'rpi'],
        env: { PATH: '/nonexistent' },
        code: 4,
        message: /neither rpicam-vid nor libcamera-vid is on PATH: install .*rpicam-apps/,
      },
      {
        what: 'a file ffmpeg cannot read → 4',
        args: ['--input', '/nonexistent/movie.mp4'],
        env: {},
        code: 4,
        message:
          /ffmpeg stopped \(exit code 1\): \/nonexistent\/movie\.mp4: No such file or directory\nThe input could not be opened: check --input/,
      },
      {
        what: 'a bad flag → 2',
        args: ['--preset', 'phone'],
        env: {},
        code: 2,
        message: /--preset must be one of rpi, webcam, file, test \(got "phone"\)/,
      },
    ])('$what', { timeout: 30_000 }, async ({ args, env, code, message }) => {
      const p = start(['--server', t.url, '--stream', 'fails', ...args], {
        FFMPEG_PATH: ffmpegPath,
        ...env,
      });
      expect(await p.exited).toBe(code);
      expect(p.stderr).toMatch(message);
    });
  });
});
