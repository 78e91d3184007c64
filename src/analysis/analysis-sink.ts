import { spawn } from 'node:child_process';
import type { MediaSink } from '../contracts/sink.ts';
import { matroskaStdinInput } from '../ffmpeg/ffmpeg-common-args.ts';
import { PluginHost } from './plugin-host.ts';
import { PnmParser } from './pnm-parser.ts';
import type { AnalysisEvent, AnalysisLogger, AnalysisPlugin, FrameFormat } from './types.ts';

/** ffmpeg arguments for the analysis decoder: container bytes on stdin → PNM frames on stdout. */
export function buildDecoderArgs(fps: number, widthPx: number, format: FrameFormat): string[] {
  return [
    ...matroskaStdinInput('error'),
    '-map',
    '0:v:0',
    '-an',
    '-vf',
    // -2 keeps the aspect ratio with an even height.
    `fps=${fps},scale=${widthPx}:-2`,
    '-pix_fmt',
    format,
    '-f',
    'image2pipe',
    '-c:v',
    format === 'gray' ? 'pgm' : 'ppm',
    'pipe:1',
  ];
}

export interface AnalysisSinkOptions {
  readonly stream: string;
  readonly ffmpegPath: string;
  readonly plugins: readonly AnalysisPlugin[];
  /** Frames per second handed to plugins. */
  readonly fps: number;
  readonly widthPx: number;
  readonly queueFrames: number;
  /** Input the decoder may lag behind by before it is given up on, bytes. Default 16 MiB. */
  readonly maxBacklogBytes?: number;
  readonly emit: (event: AnalysisEvent) => void;
  readonly log: (component: string) => AnalysisLogger;
  /** The decoder stopped early (bad input, backlog); live DASH and the archive are not affected. */
  readonly onDecoderStopped?: (reason: string) => void;
}

/**
 * The frame-analysis hook: its own ffmpeg decoder (apart from the packager, so analysis can never stall
 * live DASH) turns the session's bytes into small frames at a fixed rate for the plugins. It never
 * pushes back on the publisher: if the decoder falls too far behind, it is stopped and analysis
 * ends for the session, counted and logged.
 */
export class AnalysisSink implements MediaSink {
  readonly name = 'analysis';
  readonly host: PluginHost;
  private readonly child;
  private readonly parser = new PnmParser();
  private readonly exited: Promise<void>;
  private alive = true;
  private stopping = false;
  frames = 0;
  /** Input bytes not given to the decoder because it had stopped or fallen behind. */
  droppedBytes = 0;
  width: number | undefined;
  height: number | undefined;

  constructor(private readonly opts: AnalysisSinkOptions) {
    this.host = new PluginHost({
      stream: opts.stream,
      plugins: opts.plugins,
      queueFrames: opts.queueFrames,
      emit: opts.emit,
      log: (name) => opts.log(`analysis:${name}`),
    });
    const format = PluginHost.decoderFormat(opts.plugins);
    this.child = spawn(opts.ffmpegPath, buildDecoderArgs(opts.fps, opts.widthPx, format), {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child.stdin.on('error', () => {
      /* EPIPE once the decoder exits: handled by 'close' */
    });
    let stderr = '';
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (t: string) => {
      stderr = (stderr + t).slice(-1000);
    });
    this.child.stdout.on('data', (chunk: Buffer) => this.onOutput(chunk));
    this.exited = new Promise((resolve) => {
      this.child.once('error', (err) => {
        stderr += err.message;
      });
      this.child.once('close', (code, signal) => {
        this.alive = false;
        if (!this.stopping) this.stop(`exit ${code ?? signal}: ${stderr.trim().split('\n').pop() ?? ''}`);
        resolve();
      });
    });
  }

  write(chunk: Buffer): boolean {
    if (!this.alive || this.stopping) {
      this.droppedBytes += chunk.length;
      return true;
    }
    if (this.child.stdin.writableLength > (this.opts.maxBacklogBytes ?? 16 * 1024 * 1024)) {
      this.droppedBytes += chunk.length;
      this.stop('decoder fell too far behind the live input');
      return true;
    }
    this.child.stdin.write(chunk);
    return true;
  }

  onDrain(): void {
    // Never asks the publisher to wait.
  }

  async close(): Promise<void> {
    this.stopping = true;
    if (this.alive) {
      this.child.stdin.end();
      const kill = setTimeout(() => this.child.kill('SIGKILL'), 3000);
      await this.exited;
      clearTimeout(kill);
    }
    await this.host.close();
  }

  private stop(reason: string): void {
    if (this.stopping) return;
    this.stopping = true;
    this.child.kill('SIGKILL');
    this.opts.onDecoderStopped?.(reason);
  }

  private onOutput(chunk: Buffer): void {
    let images: ReturnType<PnmParser['push']>;
    try {
      images = this.parser.push(chunk);
    } catch (err) {
      this.stop((err as Error).message);
      return;
    }
    for (const img of images) {
      this.width = img.width;
      this.height = img.height;
      const ptsMs = Math.round((this.frames * 1000) / this.opts.fps);
      this.frames++;
      this.host.dispatch({ stream: this.opts.stream, ptsMs, wallClockMs: Date.now(), ...img });
    }
  }
}
