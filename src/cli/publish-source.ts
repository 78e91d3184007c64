import { type ChildProcess, spawn } from 'node:child_process';
import { type FfmpegProgress, FfmpegProgressParser } from './ffmpeg-progress.ts';
import { buildPublishArgs } from './publish-args.ts';
import type { PublishPlan } from './publish-presets.ts';

/** How the source ended. */
export interface SourceExit {
  /** ffmpeg's exit code (`null` when killed by a signal). */
  readonly code: number | null;
  /** Media bytes ffmpeg wrote before it ended. */
  readonly bytes: number;
  /** The camera tool ended (it never ends by itself with `-t 0`), or could not be started. */
  readonly cameraEnded: boolean;
  /** The last lines ffmpeg and the camera tool printed on stderr, for the error message. */
  readonly stderrTail: readonly string[];
  /** A program could not be started at all (ENOENT, EACCES). */
  readonly spawnError?: string | undefined;
}

export interface SourceEvents {
  /** Media bytes; call `pause` to stop reading while the socket is backed up, `resume` to go on. */
  onData(chunk: Buffer, pause: () => void, resume: () => void): void;
  onProgress(p: FfmpegProgress): void;
  /** A warning ffmpeg printed (its `-loglevel warning` output). */
  onWarning(line: string): void;
  /** Once, after ffmpeg and the camera tool both exited. */
  onExit(exit: SourceExit): void;
}

/** Keeps the last `n` lines of a stream of text. */
class Tail {
  private partial = '';
  readonly lines: string[] = [];
  constructor(
    private readonly n: number,
    private readonly onLine?: (line: string) => void,
  ) {}
  push(text: string): void {
    const parts = (this.partial + text).split(/\r?\n/);
    this.partial = parts.pop() ?? '';
    for (const line of parts) {
      if (!line.trim()) continue;
      this.lines.push(line);
      if (this.lines.length > this.n) this.lines.shift();
      this.onLine?.(line);
    }
  }
}

const progressFd = 3;

/** ffmpeg warnings that say nothing to act on: the frame rate is given with -framerate when it matters. */
const harmless = /not enough frames to estimate rate/;

function hasExited(c: ChildProcess): boolean {
  return c.exitCode !== null || c.signalCode !== null;
}

function whenExited(c: ChildProcess): Promise<void> {
  if (hasExited(c)) return Promise.resolve();
  return new Promise((resolve) => c.once('close', () => resolve()));
}

/**
 * The processes of one publishing connection: the camera tool (if any) piped into ffmpeg, whose
 * Matroska goes to `onData`. A new one per connection, because each ingest session must begin with
 * a fresh Matroska header and a keyframe; started only once the server is ready, so no backlog
 * piles up as latency.
 */
export class PublishSource {
  private readonly ffmpeg: ChildProcess;
  private readonly camera: ChildProcess | undefined;
  private bytes = 0;
  private stopping = false;

  constructor(ffmpegPath: string, plan: PublishPlan, events: SourceEvents) {
    const tail = new Tail(12);
    const ffmpegTail = new Tail(12, (line) => {
      tail.push(`${line}\n`);
      if (!this.stopping && !harmless.test(line)) events.onWarning(line);
    });
    const cameraTail = new Tail(12, (line) => tail.push(`${plan.camera?.name}: ${line}\n`));
    let spawnError: string | undefined;
    let cameraEnded = false;

    const args = buildPublishArgs({ ...plan.options, progressFd });
    if (plan.camera) {
      const cam = spawn(plan.camera.path, [...plan.camera.args], { stdio: ['ignore', 'pipe', 'pipe'] });
      this.camera = cam;
      cam.stderr?.on('data', (d: Buffer) => cameraTail.push(d.toString()));
      cam.on('error', (err) => {
        spawnError = `could not run ${plan.camera?.path}: ${err.message}`;
        cameraEnded = true;
      });
      cam.on('close', () => {
        cameraEnded = true;
        // ffmpeg ends at the end of its input; if it is stuck, this makes sure.
        if (!hasExited(this.ffmpeg)) this.ffmpeg.stdin?.end();
      });
    }
    const ff = spawn(ffmpegPath, args, {
      stdio: [this.camera ? 'pipe' : 'ignore', 'pipe', 'pipe', 'pipe'],
    });
    this.ffmpeg = ff;
    if (this.camera?.stdout && ff.stdin) {
      // Through Node rather than fd passing, so nothing reads the camera's first bytes but ffmpeg.
      this.camera.stdout.pipe(ff.stdin);
      ff.stdin.on('error', () => undefined); // EPIPE when ffmpeg exits first; its exit is reported
    }
    const parser = new FfmpegProgressParser((p) => events.onProgress(p));
    (ff.stdio[progressFd] as NodeJS.ReadableStream | null)?.on('data', (d: Buffer) =>
      parser.push(d.toString()),
    );
    ff.stderr?.on('data', (d: Buffer) => ffmpegTail.push(d.toString()));
    ff.stdout?.on('data', (chunk: Buffer) => {
      this.bytes += chunk.length;
      events.onData(
        chunk,
        () => ff.stdout?.pause(),
        () => ff.stdout?.resume(),
      );
    });
    ff.on('error', (err) => {
      spawnError ??= `could not run ffmpeg (${ffmpegPath}): ${err.message}`;
    });
    let reported = false;
    ff.on('close', (code) => {
      if (this.camera && !hasExited(this.camera)) this.camera.kill('SIGTERM');
      void (this.camera ? whenExited(this.camera) : Promise.resolve()).then(() => {
        if (reported) return;
        reported = true;
        events.onExit({
          code,
          bytes: this.bytes,
          cameraEnded: cameraEnded && !this.stopping,
          stderrTail: tail.lines,
          spawnError,
        });
      });
    });
  }

  /** Media bytes written so far. */
  get bytesOut(): number {
    return this.bytes;
  }

  /** Ends ffmpeg and the camera tool (SIGTERM, SIGKILL after 3 s); resolves once both exited, so the camera is free again. */
  async stop(): Promise<void> {
    this.stopping = true;
    const procs = [this.ffmpeg, this.camera].filter((c): c is ChildProcess => c !== undefined);
    for (const c of procs) if (!hasExited(c)) c.kill('SIGTERM');
    const kill = setTimeout(() => {
      for (const c of procs) if (!hasExited(c)) c.kill('SIGKILL');
    }, 3000);
    await Promise.all(procs.map(whenExited));
    clearTimeout(kill);
  }
}
