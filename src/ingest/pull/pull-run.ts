import { EventEmitter } from 'node:events';
import type { ParentLogger } from '../../contracts/logger.ts';
import type { AudioCodec, VideoCodec } from '../../contracts/media.ts';
import type { IngestSession, PublishRequest } from '../../contracts/sink.ts';
import { createError, type DashrelayError, toDashrelayError } from '../../errors/errors.ts';
import { type FfmpegExit, FfmpegProcess } from '../../ffmpeg/ffmpeg-process.ts';
import { MatroskaDemuxer } from '../../media/matroska-demuxer.ts';
import type { MediaCodec, MediaTrack } from '../../media/types.ts';
import { rateLimited } from '../../util/rate-limit.ts';

export interface PullRunOptions {
  readonly ffmpegPath: string;
  /** From {@link buildPullArgs}: the source's bytes as Matroska on stdout. */
  readonly args: readonly string[];
  readonly stream: string;
  /** `rtsp` for RTSP cameras, `pull` for other inputs: the request's protocol, for logs and the API. */
  readonly protocol: string;
  /** The source URL with its credentials masked, for messages. */
  readonly shownUrl: string;
  /** Masks credentials in ffmpeg's lines (see redact.ts). */
  readonly redact: (text: string) => string;
  /** Opens the session; throws `DR_ERR_INGEST_STREAM_BUSY` when the name is taken. */
  readonly openSession: (request: PublishRequest) => Promise<IngestSession>;
  /** Largest output held before the Matroska Tracks are complete, bytes. */
  readonly maxHeaderBytes: number;
  /** ffmpeg giving no bytes for this long while nothing holds it back is a dead source, ms. */
  readonly stallTimeoutMs: number;
  readonly log: ParentLogger;
}

export interface PullOutcome {
  /** How long the session was live, ms; 0 when it never opened. */
  readonly liveMs: number;
  /** Why the run ended; `undefined` when `stop()` ended it. */
  readonly error: DashrelayError | undefined;
}

/**
 * One try at pulling a source: ffmpeg reads it and writes Matroska to stdout; the Tracks element, the
 * first thing ffmpeg writes once it has probed the source, tells the codecs and picture size; then the
 * session opens (the camera's GOPs kept: `keyframesFromSource`) and receives ffmpeg's output as it
 * comes, the header first. Backpressure pauses ffmpeg's stdout, which stops ffmpeg reading the camera.
 * The run ends when ffmpeg exits (camera gone, `-timeout`), the session ends or fails, ffmpeg stalls,
 * or `stop()` is called; the session is ended with it. `done` never rejects.
 */
export class PullRun extends EventEmitter<{ live: [] }> {
  readonly done: Promise<PullOutcome>;
  private readonly ffmpeg: FfmpegProcess;
  private state: 'probing' | 'opening' | 'live' | 'closing' = 'probing';
  private readonly demuxer: MatroskaDemuxer;
  private readonly header: Buffer[] = [];
  private headerBytes = 0;
  private session: IngestSession | undefined;
  private sessionEnded: Promise<void> | undefined;
  private liveSinceMs: number | undefined;
  private liveMs = 0;
  private error: DashrelayError | undefined;
  private stopRequested = false;
  /** The session asked to slow down: ffmpeg's silence is ours, not the camera's. */
  private heldBack = false;
  private lastByteAtMs = Date.now();
  private readonly watchdog: NodeJS.Timeout;

  constructor(private readonly opts: PullRunOptions) {
    super();
    this.demuxer = new MatroskaDemuxer({ maxElementBytes: opts.maxHeaderBytes });
    // ffmpeg repeats some warnings per packet (timestamps): one a second is enough to diagnose.
    const logLine = rateLimited(1000, (suppressed, line: string) =>
      opts.log.debug(suppressed > 0 ? { suppressed } : {}, `ffmpeg: ${opts.redact(line)}`),
    );
    let exited: (exit: FfmpegExit) => void = () => {};
    const exit = new Promise<FfmpegExit>((resolve) => {
      exited = resolve;
    });
    this.ffmpeg = new FfmpegProcess({
      ffmpegPath: opts.ffmpegPath,
      args: opts.args,
      highWaterBytes: 1,
      onStdout: (chunk) => this.onStdout(chunk),
      onStderrLine: logLine,
      onExit: (e) => exited(e),
      // ffmpeg runs with -nostdin, so ending stdin does nothing: SIGTERM at once (SIGKILL 2 s later).
      stopTimeoutMs: 0,
    });
    this.watchdog = setInterval(() => this.checkStall(), Math.min(1000, opts.stallTimeoutMs));
    this.watchdog.unref();
    this.done = exit.then((e) => this.finish(e));
  }

  /** Ends the run (ffmpeg stopped, session ended); resolves with its outcome. Idempotent. */
  stop(): Promise<PullOutcome> {
    this.stopRequested = true;
    this.close();
    return this.done;
  }

  private onStdout(chunk: Buffer): void {
    this.lastByteAtMs = Date.now();
    if (this.state === 'live') {
      this.session?.push(chunk);
      return;
    }
    if (this.state === 'closing') return;
    this.header.push(chunk);
    this.headerBytes += chunk.length;
    if (this.state !== 'probing') return;
    for (const event of this.demuxer.push(chunk)) {
      if (event.type === 'error') {
        this.fail(event.error);
        return;
      }
      if (event.type === 'tracks') {
        void this.open(event.tracks);
        return;
      }
    }
    if (this.headerBytes > this.opts.maxHeaderBytes) {
      this.fail(this.failure(`no Matroska tracks in ffmpeg's first ${this.headerBytes} bytes`));
    }
  }

  private async open(tracks: readonly MediaTrack[]): Promise<void> {
    const video = tracks.find((t) => t.kind === 'video');
    if (video?.kind !== 'video') {
      this.fail(createError('DR_ERR_PULL_NO_VIDEO', this.opts.stream, this.opts.shownUrl));
      return;
    }
    const audio = tracks.find((t) => t.kind === 'audio');
    this.state = 'opening';
    // Until the session exists, bytes wait in ffmpeg's pipe rather than here.
    this.ffmpeg.pauseStdout();
    let session: IngestSession;
    try {
      session = await this.opts.openSession({
        stream: this.opts.stream,
        protocol: this.opts.protocol,
        media: {
          container: 'matroska',
          video: videoCodec(video.codec),
          audio: audio ? audioCodec(audio.codec) : 'none',
        },
        // A camera picks its GOP (2–4 s is common): H.264 is copied and segments follow its keyframes.
        keyframesFromSource: true,
        width: video.width || undefined,
        height: video.height || undefined,
        client: `ffmpeg ← ${this.opts.shownUrl}`,
      });
    } catch (err) {
      this.fail(toDashrelayError(err, 'DR_ERR_SESSION_START'));
      return;
    }
    if (this.state !== 'opening') {
      void session.end();
      return;
    }
    this.session = session;
    this.state = 'live';
    this.liveSinceMs = Date.now();
    session.on('pause', () => {
      this.heldBack = true;
      this.ffmpeg.pauseStdout();
    });
    session.on('resume', () => {
      this.heldBack = false;
      this.lastByteAtMs = Date.now();
      this.ffmpeg.resumeStdout();
    });
    session.on('fatal', (err) => this.fail(toDashrelayError(err)));
    session.on('ended', () => {
      // Ended from elsewhere (server shutdown, a failed sink): nothing left to feed.
      if (this.state === 'live') this.fail(this.failure('the session ended'));
    });
    for (const chunk of this.header.splice(0)) session.push(chunk);
    this.headerBytes = 0;
    this.lastByteAtMs = Date.now();
    this.ffmpeg.resumeStdout();
    this.emit('live');
  }

  private checkStall(): void {
    if (this.state === 'closing' || this.state === 'opening' || this.heldBack) return;
    const silentMs = Date.now() - this.lastByteAtMs;
    if (silentMs > this.opts.stallTimeoutMs) {
      this.fail(this.failure(`nothing received for ${silentMs} ms`));
    }
  }

  private failure(why: string): DashrelayError {
    return createError('DR_ERR_PULL_FAILED', this.opts.stream, this.opts.shownUrl, why);
  }

  private fail(err: DashrelayError): void {
    if (this.state === 'closing') return;
    this.error = err;
    this.close();
  }

  private close(): void {
    if (this.state === 'closing') return;
    this.state = 'closing';
    clearInterval(this.watchdog);
    this.header.length = 0;
    if (this.liveSinceMs !== undefined) this.liveMs = Date.now() - this.liveSinceMs;
    void this.ffmpeg.stop();
    this.sessionEnded = this.session?.end();
  }

  private async finish(exit: FfmpegExit): Promise<PullOutcome> {
    if (!this.error && !this.stopRequested) {
      const last = exit.stderrTail.split('\n').filter(Boolean).pop();
      const how = exit.code !== null ? `ffmpeg exited with code ${exit.code}` : `ffmpeg got ${exit.signal}`;
      this.error = this.failure(`${how}: ${last ? this.opts.redact(last.trim()) : 'the source ended'}`);
    }
    this.close();
    await this.sessionEnded;
    return { liveMs: this.liveMs, error: this.stopRequested ? undefined : this.error };
  }
}

function videoCodec(codec: MediaCodec): VideoCodec {
  return codec === 'h264' || codec === 'vp8' || codec === 'vp9' || codec === 'av1' ? codec : 'unknown';
}

function audioCodec(codec: MediaCodec): AudioCodec {
  return codec === 'aac' || codec === 'opus' || codec === 'vorbis' || codec === 'pcm' ? codec : 'unknown';
}
