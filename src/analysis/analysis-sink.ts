import type { Container } from '../contracts/media.ts';
import type { MediaSink } from '../contracts/sink.ts';
import { stdinInput } from '../ffmpeg/ffmpeg-common-args.ts';
import { FfmpegProcess } from '../ffmpeg/ffmpeg-process.ts';
import { PluginHost } from './plugin-host.ts';
import { PnmParser } from './pnm-parser.ts';
import type { AnalysisEvent, AnalysisLogger, AnalysisPlugin, FrameFormat } from './types.ts';

/** ffmpeg arguments for the analysis decoder: container bytes on stdin → PNM frames on stdout. */
export function buildDecoderArgs(
  fps: number,
  widthPx: number,
  format: FrameFormat,
  container: Container = 'matroska',
): string[] {
  return [
    ...stdinInput(container, 'error'),
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
  /** The container of the session's bytes. Default `matroska`. */
  readonly container?: Container | undefined;
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
  private readonly process: FfmpegProcess;
  private readonly parser = new PnmParser();
  private stopping = false;
  private readonly maxBacklogBytes: number;
  frames = 0;

  constructor(private readonly opts: AnalysisSinkOptions) {
    this.host = new PluginHost({
      stream: opts.stream,
      plugins: opts.plugins,
      queueFrames: opts.queueFrames,
      emit: opts.emit,
      log: (name) => opts.log(`analysis:${name}`),
    });
    this.maxBacklogBytes = opts.maxBacklogBytes ?? 16 * 1024 * 1024;
    const format = PluginHost.decoderFormat(opts.plugins);
    this.process = new FfmpegProcess({
      ffmpegPath: opts.ffmpegPath,
      args: buildDecoderArgs(opts.fps, opts.widthPx, format, opts.container),
      // Never pushes back: write() drops instead (below); this only sizes the pipe's own buffer.
      highWaterBytes: this.maxBacklogBytes,
      onStdout: (chunk) => this.onOutput(chunk),
      stopTimeoutMs: 1000,
      // No decoder for a publisher that sends nothing.
      startOnFirstWrite: true,
      onExit: (exit) => {
        if (!exit.requested && !this.stopping) {
          this.stop(`exit ${exit.code ?? exit.signal}: ${exit.stderrTail.split('\n').pop() ?? ''}`);
        }
      },
    });
  }

  write(chunk: Buffer): boolean {
    if (!this.process.alive || this.stopping) return true;
    if (this.process.pendingBytes > this.maxBacklogBytes) {
      this.stop('decoder fell too far behind the live input');
      return true;
    }
    this.process.write(chunk);
    return true;
  }

  onDrain(): void {
    // Never asks the publisher to wait.
  }

  async close(): Promise<void> {
    this.stopping = true;
    await this.process.stop();
    await this.host.close();
  }

  private stop(reason: string): void {
    if (this.stopping) return;
    this.stopping = true;
    void this.process.kill();
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
      const ptsMs = Math.round((this.frames * 1000) / this.opts.fps);
      this.frames++;
      this.host.dispatch({ stream: this.opts.stream, ptsMs, wallClockMs: Date.now(), ...img });
    }
  }
}
