import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import type { Writable } from 'node:stream';

export interface FfmpegExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Whether we asked it to stop (stdin ended or killed at session end). */
  readonly requested: boolean;
  /** The last lines ffmpeg printed on stderr, for the error message. */
  readonly stderrTail: string;
}

export interface FfmpegProcessOptions {
  readonly ffmpegPath: string;
  readonly args: readonly string[];
  /** stdin buffer before `write` returns false, bytes. */
  readonly highWaterBytes: number;
  /** ffmpeg's stdout (decoded frames, for the analysis decoder); without it stdout is discarded. */
  readonly onStdout?: (chunk: Buffer) => void;
  /** Each stderr line (ffmpeg runs with `-loglevel warning`, so these are worth logging). */
  readonly onStderrLine?: (line: string) => void;
  readonly onExit: (exit: FfmpegExit) => void;
  /** Grace after stdin ends before SIGTERM, then SIGKILL, ms. Default 5000. */
  readonly stopTimeoutMs?: number;
  /**
   * Input pipes besides stdin, at file descriptors 3, 4, … (ffmpeg reads them as `-i pipe:3`): a
   * second input, such as an audio track that comes separately. Default 0.
   */
  readonly extraInputPipes?: number;
  /** The child's environment. Default: this process's. */
  readonly env?: NodeJS.ProcessEnv;
  /**
   * Spawn only when the first bytes are written, not in the constructor: a publisher that says hello
   * and sends nothing costs no process. Default false.
   */
  readonly startOnFirstWrite?: boolean;
  /** Told the child's pid as soon as it is spawned (before it can have connected anywhere). */
  readonly onSpawn?: (pid: number) => void;
}

/**
 * A supervised ffmpeg child fed through stdin: the one supervisor for every ffmpeg the server runs
 * (the DASH packager, the analysis decoder). Writes after exit are discarded (the caller is told via
 * `onExit`); `stop()` ends stdin so ffmpeg can finish its last segment, then escalates to signals.
 */
export class FfmpegProcess {
  private child: ChildProcessWithoutNullStreams | undefined;
  private exited: Promise<void> = Promise.resolve();
  private stderrTail = '';
  private requested = false;
  private readonly drainCallbacks: (() => void)[] = [];
  private extraPipes: Writable[] = [];
  alive = true;

  constructor(private readonly opts: FfmpegProcessOptions) {
    if (!opts.startOnFirstWrite) this.spawn();
  }

  /** Starts the child (once). */
  private spawn(): ChildProcessWithoutNullStreams {
    if (this.child) return this.child;
    const { opts } = this;
    const extra = opts.extraInputPipes ?? 0;
    const stdio: 'pipe'[] = Array.from({ length: 3 + extra }, () => 'pipe');
    // With extra pipes Node's typings lose stdin/stdout/stderr's non-null types; they are pipes all the same.
    const child = spawn(opts.ffmpegPath, opts.args, {
      stdio,
      env: opts.env,
    }) as ChildProcessWithoutNullStreams;
    this.child = child;
    this.extraPipes = child.stdio.slice(3) as Writable[];
    for (const input of [child.stdin, ...this.extraPipes]) {
      input.on('error', () => {
        /* EPIPE after ffmpeg exits: reported through onExit instead */
      });
    }
    const onStdout = opts.onStdout;
    if (onStdout) child.stdout.on('data', (chunk: Buffer) => onStdout(chunk));
    else child.stdout.resume();
    let partial = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text: string) => {
      this.stderrTail = (this.stderrTail + text).slice(-2000);
      const lines = (partial + text).split(/\r?\n|\r/);
      partial = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) opts.onStderrLine?.(line);
    });
    const exited = new Promise<void>((resolve) => {
      const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
        if (!this.alive) return;
        this.alive = false;
        // A dead child discards what it is given, so whoever waits for its drain may go on.
        for (const callback of this.drainCallbacks) callback();
        opts.onExit({ code, signal, requested: this.requested, stderrTail: this.stderrTail.trim() });
        resolve();
      };
      child.once('error', (err) => {
        this.stderrTail += `\n${err.message}`;
        finish(null, null);
      });
      child.once('close', finish);
    });
    this.exited = exited;
    for (const callback of this.drainCallbacks) child.stdin.on('drain', callback);
    if (child.pid !== undefined) opts.onSpawn?.(child.pid);
    return child;
  }

  /** The child's pid; undefined before it is spawned (`startOnFirstWrite`). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Bytes written to stdin (and the extra input pipes) that ffmpeg has not read yet. */
  get pendingBytes(): number {
    const stdin = this.child?.stdin.writableLength ?? 0;
    return this.extraPipes.reduce((sum, p) => sum + p.writableLength, stdin);
  }

  /**
   * The input at file descriptor `fd` (0 for stdin, 3… for `extraInputPipes`); undefined for one
   * that does not exist. Writes after exit are discarded.
   */
  input(fd: number): Writable | undefined {
    const child = this.alive ? this.spawn() : this.child;
    return fd === 0 ? child?.stdin : this.extraPipes[fd - 3];
  }

  write(chunk: Buffer): boolean {
    if (!this.alive) return true;
    const { stdin } = this.spawn();
    if (stdin.destroyed) return true;
    // The pipe's own high-water mark is 16 KiB; allowing up to highWaterBytes absorbs MediaRecorder's
    // bursts without pausing the publisher. Node still emits 'drain' once the pipe empties.
    return stdin.write(chunk) || stdin.writableLength < this.opts.highWaterBytes;
  }

  /**
   * Stops reading stdout: its pipe fills and ffmpeg blocks on its next write, so a process that pulls
   * from the network (a camera) stops reading it too. For a consumer of `onStdout` that must slow down.
   */
  pauseStdout(): void {
    this.child?.stdout.pause();
  }

  resumeStdout(): void {
    this.child?.stdout.resume();
  }

  /** `callback` runs when stdin drains, and once when the child exits (writes are then discarded). */
  onDrain(callback: () => void): void {
    this.drainCallbacks.push(callback);
    this.child?.stdin.on('drain', callback);
  }

  /** Ends stdin and waits for exit; SIGTERM then SIGKILL if it lingers. Idempotent. */
  async stop(): Promise<void> {
    this.requested = true;
    if (!this.alive) return;
    const { child } = this;
    if (!child) return this.neverStarted();
    child.stdin.end();
    for (const p of this.extraPipes) p.end();
    const grace = this.opts.stopTimeoutMs ?? 5000;
    const term = setTimeout(() => child.kill('SIGTERM'), grace);
    const kill = setTimeout(() => child.kill('SIGKILL'), grace + 2000);
    await this.exited;
    clearTimeout(term);
    clearTimeout(kill);
  }

  /** Kills at once (no final segment). */
  async kill(): Promise<void> {
    this.requested = true;
    if (!this.alive) return;
    if (!this.child) return this.neverStarted();
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /** Stopped before the first write: nothing ran, and nothing will. */
  private neverStarted(): void {
    this.alive = false;
    this.opts.onExit({ code: 0, signal: null, requested: true, stderrTail: '' });
  }
}
