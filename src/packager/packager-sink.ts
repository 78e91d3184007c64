import type { MediaSink } from '../contracts/sink.ts';
import { type FfmpegExit, FfmpegProcess } from './ffmpeg-process.ts';

export type PackagerState = 'starting' | 'running' | 'exited';

export interface PackagerSinkOptions {
  readonly ffmpegPath: string;
  /** From {@link buildPackagerArgs}. */
  readonly args: readonly string[];
  readonly highWaterBytes: number;
  readonly log: { warn(msg: string): void; info(msg: string): void };
  /**
   * ffmpeg ended on its own while the session was live. `exit.stderrTail` says why. ffmpeg's dash
   * muxer also dies (SIGFPE) when input ends before the first segment completes; at session end that
   * is a normal short session and is not reported.
   */
  readonly onUnexpectedExit: (exit: FfmpegExit) => void;
}

/** The DASH packager: one fresh ffmpeg per session, fed the publisher's bytes on stdin. */
export class PackagerSink implements MediaSink {
  readonly name = 'packager';
  state: PackagerState = 'starting';
  private readonly process: FfmpegProcess;
  private lastWarnAtMs = 0;

  constructor(opts: PackagerSinkOptions) {
    this.process = new FfmpegProcess({
      ffmpegPath: opts.ffmpegPath,
      args: opts.args,
      highWaterBytes: opts.highWaterBytes,
      onStderrLine: (line) => {
        // ffmpeg repeats some warnings per packet; one a second is enough to diagnose.
        const now = Date.now();
        if (now - this.lastWarnAtMs < 1000) return;
        this.lastWarnAtMs = now;
        opts.log.warn(`ffmpeg: ${line}`);
      },
      onExit: (exit) => {
        this.state = 'exited';
        if (!exit.requested) opts.onUnexpectedExit(exit);
      },
    });
  }

  /** The ffmpeg process id, while it runs. */
  get pid(): number | undefined {
    return this.process.pid;
  }

  /** The packager produced output (first file PUT to the origin). */
  markRunning(): void {
    if (this.state === 'starting') this.state = 'running';
  }

  write(chunk: Buffer): boolean {
    return this.process.write(chunk);
  }

  onDrain(callback: () => void): void {
    this.process.onDrain(callback);
  }

  close(): Promise<void> {
    return this.process.stop();
  }
}
