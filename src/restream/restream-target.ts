import type { Logger } from '../contracts/logger.ts';
import type { RestreamState, RestreamTargetInfo } from '../contracts/restream.ts';
import { FfmpegProcess } from '../ffmpeg/ffmpeg-process.ts';
import { Backoff, type BackoffOptions } from '../util/backoff.ts';
import { redactStreamKey, redactText, secretsOf } from '../util/redact.ts';
import { CmafFeed, type FeedStore } from './cmaf-feed.ts';

/** One session's live output, as the target reads it. */
export interface RestreamInput {
  readonly store: FeedStore;
  /** The publisher sends sound (the packager writes an audio Representation). */
  readonly audioExpected: boolean;
}

export interface RestreamTargetOptions {
  readonly id: string;
  readonly name: string;
  /** `rtmp://` or `rtmps://` URL, stream key included. */
  readonly url: string;
  readonly origin: 'config' | 'api';
  readonly ffmpegPath: string;
  readonly log: Logger;
  readonly backoff?: BackoffOptions | undefined;
  /**
   * Bytes waiting for ffmpeg (a target slower than the stream) before the attempt is abandoned and
   * retried from the live edge.
   */
  readonly maxBufferedBytes: number;
  /** ffmpeg `rw_timeout` on the target connection, ms: a target that stops reading fails this attempt. */
  readonly ioTimeoutMs: number;
  /** Grace for ffmpeg to send its last bytes after the stream ends, ms. */
  readonly stopTimeoutMs: number;
}

interface Attempt {
  ffmpeg: FfmpegProcess | undefined;
  feed: CmafFeed;
  /** Why we ended it ourselves, if we did (a target too slow). */
  error: string | undefined;
}

/**
 * One push target of a stream: while the stream is live, an ffmpeg copies its CMAF output (H.264
 * and AAC, whatever the publisher sent: the packager already made them) into FLV over RTMP or
 * RTMPS; it never re-encodes. A failed attempt is retried with backoff from the live edge; nothing
 * it does can slow down or end the stream (it reads the live store as a viewer does).
 */
export class RestreamTarget {
  private state: RestreamState = 'waiting';
  private sinceMs = Date.now();
  private input: RestreamInput | undefined;
  private attempt: Attempt | undefined;
  private backoff: Backoff;
  private retryTimer: NodeJS.Timeout | undefined;
  private nextAttemptMs: number | undefined;
  private bytesBefore = 0;
  private bytesThisAttempt = 0;
  private connects = 0;
  private failures = 0;
  private lastError: string | null = null;
  private closed = false;
  readonly redactedUrl: string;

  constructor(private readonly opts: RestreamTargetOptions) {
    this.backoff = new Backoff(opts.backoff);
    this.redactedUrl = redactStreamKey(opts.url);
  }

  get id(): string {
    return this.opts.id;
  }

  info(): RestreamTargetInfo {
    return {
      id: this.opts.id,
      name: this.opts.name,
      url: this.redactedUrl,
      origin: this.opts.origin,
      state: this.state,
      since: new Date(this.sinceMs).toISOString(),
      bytesPushed: this.bytesBefore + this.bytesThisAttempt,
      connects: this.connects,
      failures: this.failures,
      lastError: this.lastError,
      nextAttemptAt:
        this.state === 'retrying' && this.nextAttemptMs ? new Date(this.nextAttemptMs).toISOString() : null,
    };
  }

  /** The stream went live (a new session): start pushing it. */
  attach(input: RestreamInput): void {
    if (this.closed) return;
    this.detach();
    this.input = input;
    this.backoff = new Backoff(this.opts.backoff);
    this.start();
  }

  /** The stream's session ended: let ffmpeg send what it has, then wait for the next session. */
  detach(): void {
    clearTimeout(this.retryTimer);
    this.input = undefined;
    this.stopAttempt();
    if (!this.closed) this.setState('waiting');
  }

  /** Removes the target: stops pushing for good. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.input = undefined;
    await this.stopAttempt();
  }

  private setState(state: RestreamState): void {
    if (state === this.state) return;
    this.state = state;
    this.sinceMs = Date.now();
  }

  private start(): void {
    const input = this.input;
    if (!input || this.closed) return;
    this.setState('connecting');
    this.bytesBefore += this.bytesThisAttempt;
    this.bytesThisAttempt = 0;
    const attempt: Attempt = {
      ffmpeg: undefined,
      error: undefined,
      feed: new CmafFeed(input.store, {
        audioExpected: input.audioExpected,
        onStart: ({ audio }) => {
          const ffmpeg = this.spawn(audio, attempt);
          attempt.ffmpeg = ffmpeg;
          const write = (fd: number) => (chunk: Buffer) => {
            if (!ffmpeg.alive) return;
            if (ffmpeg.pendingBytes > this.opts.maxBufferedBytes) {
              attempt.error = `the target takes the stream slower than it comes (${ffmpeg.pendingBytes} bytes waiting)`;
              void ffmpeg.kill();
              return;
            }
            ffmpeg.input(fd)?.write(chunk);
          };
          return { video: write(0), audio: audio ? write(3) : undefined };
        },
      }),
    };
    this.attempt = attempt;
    attempt.feed.join();
  }

  private spawn(audio: boolean, attempt: Attempt): FfmpegProcess {
    const { log } = this.opts;
    let lastLine: string | undefined;
    let progress = '';
    const ffmpeg = new FfmpegProcess({
      ffmpegPath: this.opts.ffmpegPath,
      args: restreamArgs({ url: this.opts.url, audio, ioTimeoutMs: this.opts.ioTimeoutMs }),
      extraInputPipes: audio ? 1 : 0,
      highWaterBytes: this.opts.maxBufferedBytes,
      stopTimeoutMs: this.opts.stopTimeoutMs,
      onStdout: (chunk) => {
        // `-progress pipe:1`: key=value lines; total_size is the bytes written to the target so far.
        progress += chunk.toString('latin1');
        const lines = progress.split('\n');
        progress = lines.pop() ?? '';
        for (const line of lines) {
          const m = /^total_size=(\d+)/.exec(line);
          if (!m) continue;
          this.bytesThisAttempt = Number(m[1]);
          if (this.bytesThisAttempt > 0 && this.state === 'connecting' && this.attempt === attempt) {
            this.connects++;
            this.backoff.connected(Date.now());
            this.lastError = null;
            this.setState('live');
            log.info({ target: this.opts.name, url: this.redactedUrl }, 'restream connected');
          }
        }
      },
      onStderrLine: (line) => {
        lastLine = this.redact(line);
        log.warn({ target: this.opts.name }, `restream ffmpeg: ${lastLine}`);
      },
      onExit: (exit) => {
        if (this.attempt !== attempt) return;
        attempt.feed.close();
        this.attempt = undefined;
        if ((exit.requested && attempt.error === undefined) || !this.input || this.closed) return;
        this.failures++;
        this.lastError =
          attempt.error ?? lastLine ?? `ffmpeg exited (code ${exit.code}, signal ${exit.signal})`;
        this.backoff.disconnected(Date.now());
        const delay = this.backoff.next();
        this.nextAttemptMs = Date.now() + delay;
        this.setState('retrying');
        log.warn(
          { target: this.opts.name, url: this.redactedUrl, retryInMs: delay, error: this.lastError },
          'restream failed; retrying',
        );
        this.retryTimer = setTimeout(() => this.start(), delay);
      },
    });
    return ffmpeg;
  }

  private async stopAttempt(): Promise<void> {
    const attempt = this.attempt;
    this.attempt = undefined;
    if (!attempt) return;
    attempt.feed.close();
    await attempt.ffmpeg?.stop();
  }

  /** ffmpeg prints its output URL in errors: the key must not reach the log. */
  private redact(line: string): string {
    return redactText(line.split(this.opts.url).join(this.redactedUrl), secretsOf(this.opts.url));
  }
}

/**
 * ffmpeg arguments of one attempt: the video (and audio) CMAF streams from pipes, copied into FLV
 * (`-c copy`; FLV carries H.264 and AAC, which is what the packager writes), `-progress` on stdout.
 * `rw_timeout` (µs) ends an attempt whose target stops reading; `thread_queue_size` lets one input
 * run ahead of the other while ffmpeg interleaves them.
 */
export function restreamArgs(opts: { url: string; audio: boolean; ioTimeoutMs: number }): string[] {
  const input = (pipe: string) => ['-thread_queue_size', '1024', '-f', 'mp4', '-i', pipe];
  return [
    '-hide_banner',
    '-loglevel',
    'error',
    '-nostats',
    '-progress',
    'pipe:1',
    '-stats_period',
    '1',
    ...input('pipe:0'),
    ...(opts.audio ? input('pipe:3') : []),
    '-map',
    '0:v:0',
    ...(opts.audio ? ['-map', '1:a:0'] : []),
    '-c',
    'copy',
    '-rw_timeout',
    String(opts.ioTimeoutMs * 1000),
    '-f',
    'flv',
    '-flvflags',
    'no_duration_filesize',
    opts.url,
  ];
}
