import { type ChildProcess, spawn } from 'node:child_process';
import { IngestClient } from '../../src/cli/ingest-client.ts';
import {
  buildPublishArgs,
  ingestUrl,
  type PublishOptions,
  publishMimeType,
} from '../../src/cli/publish-args.ts';

export interface PublisherOptions {
  readonly serverUrl: string;
  readonly stream: string;
  readonly sound: boolean;
  /**
   * Input read rate relative to real time: 1 is `-re` (what `dashrelay publish` does for lavfi), 0.9 is
   * `-readrate 0.9` (a source that cannot keep up: its media falls behind the wall clock).
   */
  readonly readRate?: number;
  readonly size?: string;
  readonly fps?: number;
  /** ffmpeg binary (default `ffmpeg` on PATH). */
  readonly ffmpegPath?: string;
  /**
   * Push RTMP to `<rtmpUrl>/<stream>` like a camera: x264 with keyframes only at the times of
   * `keyframes` (an ffmpeg `-force_key_frames` value), AAC when `sound`.
   */
  readonly camera?: { readonly rtmpUrl: string; readonly keyframes: string } | undefined;
}

/**
 * `dashrelay publish`'s pipeline (same ffmpeg arguments, same ingest client), but in-process so that a
 * scenario can stop and restart it and pace it below real time: lavfi `testsrc2` 1280×720 at 30 fps,
 * plus a `sine` tone when `sound`.
 */
export class Publisher {
  private child: ChildProcess | undefined;
  private client: IngestClient | undefined;
  readonly log: string[] = [];
  bytesSent = 0;
  private closedPromise: Promise<void> = Promise.resolve();

  constructor(readonly options: PublisherOptions) {}

  private publishOptions(): PublishOptions {
    const o = this.options;
    const size = o.size ?? '1280x720';
    const fps = o.fps ?? 30;
    return {
      input: `testsrc2=size=${size}:rate=${fps}`,
      inputFormat: 'lavfi',
      audio: o.sound ? 'sine=frequency=440:sample_rate=48000' : undefined,
      audioFormat: o.sound ? 'lavfi' : undefined,
      noAudio: !o.sound,
      videoCodec: 'h264',
      realtime: (o.readRate ?? 1) === 1,
      loop: false,
      keyframeIntervalMs: 1000,
      videoBitrateBps: 2_000_000,
    };
  }

  private args(): string[] {
    const o = this.options;
    const args = buildPublishArgs(this.publishOptions());
    const rate = o.readRate ?? 1;
    if (rate === 1) return args;
    // -readrate (ffmpeg ≥ 5.0) before each lavfi input: the same pacing as -re, at `rate` × real time.
    return args.flatMap((a, i) =>
      a === '-f' && args[i + 2] === '-i' ? ['-readrate', String(rate), a] : [a],
    );
  }

  /** Connects, waits for `ready`, starts ffmpeg. */
  async start(): Promise<void> {
    const o = this.options;
    if (o.camera) {
      this.startCamera(o.camera);
      return;
    }
    const url = ingestUrl(o.serverUrl, o.stream);
    const mimeType = publishMimeType(this.publishOptions());
    const [w, h] = (o.size ?? '1280x720').split('x').map(Number);
    let closed: () => void = () => {};
    this.closedPromise = new Promise((r) => {
      closed = r;
    });
    await new Promise<void>((resolve, reject) => {
      this.client = new IngestClient(
        url,
        {
          mimeType,
          keyframeIntervalMs: 1000,
          width: w,
          height: h,
          fps: o.fps ?? 30,
          client: 'players-harness',
        },
        {
          onReady: () => {
            const c = spawn(o.ffmpegPath ?? 'ffmpeg', this.args(), { stdio: ['ignore', 'pipe', 'pipe'] });
            this.child = c;
            c.stdout?.on('data', (chunk: Buffer) => {
              this.bytesSent += chunk.length;
              this.client?.send(
                chunk,
                () => c.stdout?.pause(),
                () => c.stdout?.resume(),
              );
            });
            c.stderr?.on('data', (d: Buffer) => {
              if (this.log.length < 50) this.log.push(`ffmpeg: ${d.toString().trim()}`);
            });
            c.on('error', (e) => reject(e));
            resolve();
          },
          onWarning: (m) => this.log.push(`server warning ${m.code}: ${m.message}`),
          onError: (m) => this.log.push(`server error ${m.code}: ${m.message}`),
          onClose: (code, reason) => {
            this.log.push(`ingest closed ${code} ${reason}`);
            closed();
            reject(new Error(`ingest closed (${code} ${reason}) before ready`));
          },
          onSocketError: (e) => {
            closed();
            reject(e);
          },
        },
      );
    });
  }

  private startCamera(camera: { rtmpUrl: string; keyframes: string }): void {
    const o = this.options;
    const lavfi = (graph: string) => ['-re', '-f', 'lavfi', '-i', graph];
    const args = [
      ...['-hide_banner', '-loglevel', 'error'],
      ...lavfi(`testsrc2=size=${o.size ?? '1280x720'}:rate=${o.fps ?? 30}`),
      ...(o.sound ? lavfi('sine=frequency=440:sample_rate=48000') : []),
      ...['-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p'],
      // Keyframes only where asked: no GOP limit, no scene-cut keyframes.
      ...[
        '-g',
        '100000',
        '-keyint_min',
        '100000',
        '-sc_threshold',
        '0',
        '-force_key_frames',
        camera.keyframes,
      ],
      ...['-b:v', '2M', ...(o.sound ? ['-c:a', 'aac', '-b:a', '96k'] : ['-an'])],
      ...['-f', 'flv', `${camera.rtmpUrl}/${o.stream}`],
    ];
    const c = spawn(o.ffmpegPath ?? 'ffmpeg', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = c;
    this.closedPromise = new Promise((r) => c.once('close', () => r()));
    c.stderr?.on('data', (d: Buffer) => {
      if (this.log.length < 50) this.log.push(`ffmpeg: ${d.toString().trim()}`);
    });
  }

  /** Stops ffmpeg and ends the session (close 1000), as `dashrelay publish` does on Ctrl-C. */
  async stop(): Promise<void> {
    const c = this.child;
    this.child = undefined;
    if (c && c.exitCode === null) {
      const exited = new Promise((r) => c.once('close', r));
      c.kill('SIGTERM');
      await exited;
    }
    this.client?.close();
    await Promise.race([this.closedPromise, new Promise((r) => setTimeout(r, 5000))]);
    this.client = undefined;
  }
}
