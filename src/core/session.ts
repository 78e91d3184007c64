import { EventEmitter } from 'node:events';
import type { MediaSink, SessionInfo } from '../contracts/sink.ts';
import { createError, type ErrorCode } from '../errors/errors.ts';
import { BitrateMeter } from '../util/bitrate-meter.ts';
import { IngestBitrateLimit } from './ingest-limit.ts';

/** A non-fatal problem with a catalogue code (docs/errors.md), passed on to the publisher. */
export interface SessionWarning {
  readonly code: ErrorCode;
  readonly message: string;
}

export interface SessionEvents {
  /** A sink asked to slow down: the publisher should stop reading. */
  pause: [];
  /** Every sink drained: the publisher may resume. */
  resume: [];
  /** A non-fatal problem to pass on to the publisher. */
  warning: [SessionWarning];
  /** A fatal problem: the publisher must be disconnected with this error. */
  fatal: [Error];
  ended: [];
}

/** What a session enforces on its publisher. */
export interface SessionLimits {
  /**
   * Above this ingest rate averaged over 5 s, bits/s, the session emits `fatal` with
   * `DR_ERR_LIMIT_BITRATE` (the ingest disconnects the publisher). Default: no limit.
   */
  readonly maxIngestBitrateBps?: number | undefined;
}

/**
 * One publishing session: the tee. Every chunk goes, in order, to every sink. When a sink's `write`
 * returns false, the session emits `pause` and waits for that sink's drain before `resume`, so the
 * publisher is slowed rather than bytes lost. The session knows nothing of WebSockets or ffmpeg.
 */
export class Session extends EventEmitter<SessionEvents> {
  private readonly sinks: MediaSink[] = [];
  private readonly waitingFor = new Set<MediaSink>();
  private readonly releases: (() => Promise<unknown> | undefined)[] = [];
  private readonly meter = new BitrateMeter();
  private readonly bitrateLimit: IngestBitrateLimit | undefined;
  private endPromise: Promise<void> | undefined;
  bytesReceived = 0;
  /** When the first media byte arrived, ms since the epoch. */
  firstByteAtMs: number | undefined;
  /** Free-form state the sinks publish for the API (`packager: running`). */
  readonly state: Record<string, string> = {};

  constructor(
    readonly info: SessionInfo,
    limits: SessionLimits = {},
  ) {
    super();
    const max = limits.maxIngestBitrateBps;
    this.bitrateLimit = max === undefined ? undefined : new IngestBitrateLimit(max);
  }

  get ended(): boolean {
    return this.endPromise !== undefined;
  }

  get paused(): boolean {
    return this.waitingFor.size > 0;
  }

  attach(sink: MediaSink): void {
    this.sinks.push(sink);
    sink.onDrain(() => {
      if (!this.waitingFor.delete(sink)) return;
      if (this.waitingFor.size === 0 && !this.ended) this.emit('resume');
    });
  }

  /**
   * Tees one chunk to every sink. Emits `fatal` (`DR_ERR_LIMIT_BITRATE`) once when the ingest goes
   * above `limits.maxIngestBitrateBps`; bytes keep being teed until the ingest ends the session.
   */
  push(chunk: Buffer): void {
    if (this.ended) return;
    this.firstByteAtMs ??= Date.now();
    this.bytesReceived += chunk.length;
    this.meter.add(chunk.length, Date.now());
    const wasPaused = this.paused;
    for (const sink of this.sinks) {
      if (!sink.write(chunk)) this.waitingFor.add(sink);
    }
    if (!wasPaused && this.paused) this.emit('pause');
    // After the sinks took the chunk: the archive keeps every byte that came, also the one that tripped it.
    const overBps = this.bitrateLimit?.add(chunk.length, Date.now());
    if (overBps !== undefined) {
      this.emit('fatal', createError('DR_ERR_LIMIT_BITRATE', overBps, this.bitrateLimit?.maxBps));
    }
  }

  /** Ingest bitrate over the last 2 s, bits/s. */
  bitrateBps(): number {
    return this.meter.bitsPerSecond(Date.now());
  }

  /**
   * Runs `release` when the session ends, after every sink closed and before `ended` is emitted, so
   * `end()` resolves only once it finished (a shutdown that then removes the output directory finds
   * nothing still writing). Registered on an ended session, it runs at once.
   */
  onEnd(release: () => Promise<unknown> | undefined): void {
    if (this.ended) void Promise.resolve().then(release);
    else this.releases.push(release);
  }

  /** Closes every sink (in parallel), then runs the `onEnd` releases; resolves when all finished. Idempotent. */
  end(): Promise<void> {
    this.endPromise ??= (async () => {
      await Promise.allSettled(this.sinks.map((s) => s.close()));
      await Promise.allSettled(this.releases.map(async (release) => release()));
      this.emit('ended');
    })();
    return this.endPromise;
  }
}
