import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import WebSocket from 'ws';
import type { AnalysisPlugin } from '../src/analysis/types.ts';
import { type CreateServerOptions, createRelayServer, type RelayServer } from '../src/app/create-server.ts';
import { x264LiveArgs } from '../src/ffmpeg/ffmpeg-common-args.ts';
import { type FfmpegBinary, locateFfmpeg } from '../src/ffmpeg/ffmpeg-locate.ts';

const run = promisify(execFile);
let ffmpegPromise: Promise<FfmpegBinary> | undefined;

/** The real ffmpeg, located once per test process. */
export function ffmpeg(): Promise<FfmpegBinary> {
  ffmpegPromise ??= locateFfmpeg();
  return ffmpegPromise;
}

export interface TestServer {
  readonly server: RelayServer;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** `ws://127.0.0.1:<port>` */
  readonly wsUrl: string;
  readonly outputDir: string;
  close(): Promise<void>;
}

/** A real server on a random port with its own output directory. */
export async function startServer(
  options: CreateServerOptions & { analyzers?: readonly AnalysisPlugin[] } = {},
): Promise<TestServer> {
  const outputDir = await mkdtemp(join(tmpdir(), 'dashrelay-test-'));
  const server = await createRelayServer({
    logger: process.env.TEST_LOG ? { level: 'debug' } : false,
    ffmpeg: await ffmpeg(),
    ...options,
    config: {
      outputDir,
      ...options.config,
      server: { port: 0, ...options.config?.server },
      rtmp: { port: 0, ...options.config?.rtmp },
    },
  });
  const url = await server.listen();
  return {
    server,
    url,
    wsUrl: url.replace(/^http/, 'ws'),
    outputDir,
    async close() {
      await server.close();
      await rm(outputDir, { recursive: true, force: true });
    },
  };
}

/** `h264-gop1100`: keyframes every 1.1 s instead of 1 s, like a browser whose keyframe timer runs late. */
export type FixtureKind = 'h264' | 'h264-opus' | 'h264-gop1100' | 'vp8' | 'vp8-opus';

export const fixtureMimeTypes: Record<FixtureKind, string> = {
  h264: 'video/x-matroska;codecs=avc1',
  'h264-opus': 'video/x-matroska;codecs=avc1,opus',
  'h264-gop1100': 'video/x-matroska;codecs=avc1',
  vp8: 'video/webm;codecs=vp8',
  'vp8-opus': 'video/webm;codecs=vp8,opus',
};

const fixtureDir = join(tmpdir(), 'dashrelay-fixtures');

/**
 * A generated WebM/Matroska file like a MediaRecorder's: 320×240 at 30 fps, keyframe every second,
 * moving test pattern (so motion analysis has something to see), optional Opus tone. Cached per run.
 */
export async function fixture(kind: FixtureKind, seconds = 4, startS = 0): Promise<Buffer> {
  const file = join(
    fixtureDir,
    `${kind}-${seconds}s-from${startS}.${kind.startsWith('vp8') ? 'webm' : 'mkv'}`,
  );
  if (!existsSync(file)) {
    await mkdir(fixtureDir, { recursive: true });
    const audio = kind.endsWith('opus');
    const args = [
      '-hide_banner',
      '-loglevel',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      'testsrc2=size=320x240:rate=30',
    ];
    if (audio) args.push('-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000');
    args.push('-t', String(seconds), '-map', '0:v');
    if (audio) args.push('-map', '1:a', '-c:a', 'libopus', '-b:a', '64k');
    if (kind.startsWith('h264')) {
      // The publisher's settings: keyframes on the 1 s grid, no B-frames (as `dashrelay publish`).
      args.push(...x264LiveArgs(kind === 'h264-gop1100' ? 1.1 : 1));
      args.push('-f', 'matroska');
    } else {
      args.push('-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-g', '30', '-b:v', '500k');
      args.push('-f', 'webm');
    }
    // A start time above 0 is what a MediaRecorder restarted on a running track produces.
    if (startS > 0) args.push('-output_ts_offset', String(startS));
    args.push('-live', '1', '-cluster_time_limit', '100', `${file}.tmp`);
    await run((await ffmpeg()).path, args);
    await run('mv', [`${file}.tmp`, file]);
  }
  return readFile(file);
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export interface ServerMessage {
  type: string;
  code?: string;
  message?: string;
  [k: string]: unknown;
}

/** A publisher on a real WebSocket, recording what the server says. */
export class TestPublisher {
  readonly ws: WebSocket;
  readonly messages: ServerMessage[] = [];
  closeCode: number | undefined;
  closeReason = '';
  readonly opened: Promise<void>;
  readonly closed: Promise<void>;

  constructor(wsUrl: string, stream: string) {
    this.ws = new WebSocket(`${wsUrl}/ingest/${stream}`);
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
    this.closed = new Promise((resolve) => {
      this.ws.once('close', (code, reason) => {
        this.closeCode = code;
        this.closeReason = reason.toString();
        resolve();
      });
    });
    this.ws.on('message', (data, isBinary) => {
      if (!isBinary) this.messages.push(JSON.parse(data.toString()) as ServerMessage);
    });
  }

  /** Resolves with the first message of `type` (already received or future). */
  async waitFor(type: string, timeoutMs = 15_000): Promise<ServerMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.find((m) => m.type === type);
      if (found) return found;
      if (Date.now() > deadline)
        throw new Error(`no "${type}" message; got ${JSON.stringify(this.messages)}`);
      if (this.closeCode !== undefined) {
        throw new Error(
          `closed (${this.closeCode} ${this.closeReason}) before "${type}"; got ${JSON.stringify(this.messages)}`,
        );
      }
      await sleep(20);
    }
  }

  async hello(
    mimeType: string,
    extra: Record<string, unknown> = { keyframeIntervalMs: 1000 },
  ): Promise<ServerMessage> {
    await this.opened;
    this.ws.send(JSON.stringify({ type: 'hello', mimeType, client: 'vitest', ...extra }));
    return this.waitFor('ready');
  }

  /** Sends `data` in `chunkBytes` pieces, one every `intervalMs` (roughly real time for the fixtures). */
  async sendPaced(data: Buffer, chunkBytes = 16 * 1024, intervalMs = 40): Promise<void> {
    for (let off = 0; off < data.length; off += chunkBytes) {
      if (this.ws.readyState !== WebSocket.OPEN) return;
      this.ws.send(data.subarray(off, off + chunkBytes));
      await sleep(intervalMs);
    }
  }

  async end(): Promise<void> {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(1000, 'done');
    await this.closed;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns a value, or throws after `timeoutMs`. */
export async function eventually<T>(
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 15_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** A TCP port free on 127.0.0.1 right now (for processes that must be told their port up front). */
export async function freePort(): Promise<number> {
  const srv = createNetServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/**
 * A GET through node:http, for what fetch cannot do: from a chosen loopback address (`127.0.0.2` is
 * another client of this machine) or with a Host header of our choosing.
 */
export function rawGet(
  url: string,
  options: { localAddress?: string; host?: string } = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers = options.host ? { host: options.host } : {};
    const req = httpRequest(url, { localAddress: options.localAddress, headers }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => {
        body += d.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** An ffmpeg child whose stderr is collected, and a promise of its exit code. */
export interface PushedRtmp {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  readonly stderr: () => string;
}

/**
 * ffmpeg pushing `file` at its own pace, copied, as FLV to `url` (an RTMP publisher such as OBS or a
 * Pi); `outputOptions` go before `-f flv` (`-rtmp_app`, `-rtmp_playpath`).
 */
export async function pushRtmp(
  file: string,
  url: string,
  outputOptions: readonly string[] = [],
): Promise<PushedRtmp> {
  const args = [
    '-hide_banner',
    '-loglevel',
    'error',
    '-re',
    '-i',
    file,
    '-c',
    'copy',
    ...outputOptions,
    '-f',
    'flv',
    url,
  ];
  const child = spawn((await ffmpeg()).path, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let text = '';
  child.stderr?.on('data', (d: Buffer) => {
    text += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited, stderr: () => text };
}

/** The bytes of a stream's (only, or first by name) archive file under a server's output directory. */
export async function archiveBytes(t: Pick<TestServer, 'outputDir'>, stream: string): Promise<Buffer> {
  const dir = join(t.outputDir, stream, 'archive');
  const [name] = (await readdir(dir)).sort();
  return readFile(join(dir, name ?? ''));
}
