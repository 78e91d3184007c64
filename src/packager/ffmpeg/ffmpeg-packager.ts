import type { LatencyProfile } from '../../config/schema.ts';
import type { MediaDescription } from '../../contracts/media.ts';
import type { PackagerState, StreamPackager } from '../../contracts/packager.ts';
import { type FfmpegExit, FfmpegProcess } from '../../ffmpeg/ffmpeg-process.ts';
import type { SegmentStore } from '../../live/segment-store.ts';
import { withCmafBrands } from './cmaf-brands.ts';
import { buildPackagerArgs } from './dash-args.ts';
import { parseFfmpegManifest } from './manifest-parse.ts';
import type { PutReceiver } from './put-receiver.ts';

export interface FfmpegPackagerOptions {
  readonly ffmpegPath: string;
  readonly media: MediaDescription;
  /** Keyframe interval the publisher promises, ms; H.264 is copied only when it fits a segment. */
  readonly keyframeIntervalMs?: number | undefined;
  /** The source's encoder chooses its GOPs: H.264 is copied whatever their length. */
  readonly keyframesFromSource?: boolean | undefined;
  readonly profile: LatencyProfile;
  /** Where ffmpeg's uploads go (one per server). */
  readonly receiver: PutReceiver;
  /** The session's live output, which the origin serves. */
  readonly store: SegmentStore;
  /** UTCTiming URL given to ffmpeg (kept in the disk copy; viewers get the origin's MPD). */
  readonly utcTimingUrl: string;
  /** stdin buffer before `write` returns false, bytes. */
  readonly highWaterBytes: number;
  /** Grace for the last segment after stdin ends, ms, then SIGTERM. */
  readonly stopTimeoutMs: number;
  /** ffmpeg stderr lines, already rate-limited. */
  readonly onStderrLine: (line: string) => void;
  /** ffmpeg wrote an MPD that cannot be read (`DR_ERR_PACKAGER_OUTPUT`); the previous one stays. */
  readonly onOutputError: (err: Error) => void;
  /**
   * ffmpeg ended on its own while the session was live. `exit.stderrTail` says why. ffmpeg's dash
   * muxer also dies (SIGFPE) when input ends before the first segment completes; at session end that
   * is a normal short session and is not reported.
   */
  readonly onUnexpectedExit: (exit: FfmpegExit) => void;
}

/**
 * The DASH packager on ffmpeg's dash muxer: one fresh ffmpeg per session, fed the publisher's
 * container bytes on stdin, PUTting CMAF segments and its MPD to the {@link PutReceiver}, which hands
 * them to the session's {@link SegmentStore}. Of ffmpeg's MPD only the media description is used (its
 * AdaptationSets); the origin writes the timing, which it knows better (when media really arrived).
 */
export class FfmpegPackager implements StreamPackager {
  readonly name = 'packager';
  state: PackagerState = 'starting';
  private readonly process: FfmpegProcess;
  /** This session's path at the receiver. */
  private readonly path: string;

  constructor(private readonly opts: FfmpegPackagerOptions) {
    const { store } = opts;
    const registered = opts.receiver.register({
      begin: (name) => {
        const file = store.begin(name);
        return file?.kind.kind === 'media' ? withCmafBrands(file) : file;
      },
      remove: (name) => store.remove(name),
      manifest: (raw) => {
        try {
          store.publishManifest({ raw, adaptationSets: parseFfmpegManifest(raw.toString('utf8')) });
        } catch (err) {
          opts.onOutputError(err as Error);
        }
      },
    });
    this.path = registered.path;
    store.once('started', () => {
      if (this.state === 'starting') this.state = 'running';
    });
    this.process = new FfmpegProcess({
      ffmpegPath: opts.ffmpegPath,
      args: buildPackagerArgs({
        media: opts.media,
        keyframeIntervalMs: opts.keyframeIntervalMs,
        keyframesFromSource: opts.keyframesFromSource,
        profile: opts.profile,
        putBaseUrl: registered.baseUrl,
        utcTimingUrl: opts.utcTimingUrl,
      }),
      env: packagerEnv(process.env),
      // A publisher that says hello and sends nothing costs no ffmpeg.
      startOnFirstWrite: true,
      // At spawn, before ffmpeg can connect: its uploads are told from anyone else's by its pid.
      onSpawn: (pid) => opts.receiver.setOwner(this.path, pid),
      highWaterBytes: opts.highWaterBytes,
      stopTimeoutMs: opts.stopTimeoutMs,
      onStderrLine: opts.onStderrLine,
      onExit: (exit) => {
        this.state = 'exited';
        if (!exit.requested) opts.onUnexpectedExit(exit);
      },
    });
  }

  /** The ffmpeg process id, while it runs (from the first media bytes on). */
  get pid(): number | undefined {
    return this.process.pid;
  }

  write(chunk: Buffer): boolean {
    return this.process.write(chunk);
  }

  onDrain(callback: () => void): void {
    this.process.onDrain(callback);
  }

  /** Lets ffmpeg finish its last segment, then stops taking uploads. Idempotent. */
  async close(): Promise<void> {
    await this.process.stop();
    this.opts.receiver.unregister(this.path);
  }
}

/** Proxy variables, in either case: ffmpeg's HTTP client would send its PUTs to a proxy named there. */
const proxyVariable = /^(?:http|https|all)_proxy$/i;

/**
 * The packager ffmpeg's environment: the server's without proxy settings, and `no_proxy=*`, so its
 * uploads go straight to the loopback receiver, never to a proxy a user's `http_proxy` names (which
 * would see, and could change, every segment). Returns a new object; `env` is not changed.
 */
export function packagerEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const clean: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(env)) {
    if (!proxyVariable.test(key) && !/^no_proxy$/i.test(key)) clean[key] = value;
  }
  clean.no_proxy = '*';
  return clean;
}

/**
 * The live delay a player should keep for this stream, ms: streams with sound need more buffered
 * (Chromium's audio renderer stalls below ~¼ s), so they get the profile's audio delay.
 */
export function playerDelayMs(profile: LatencyProfile, media: MediaDescription): number {
  return media.audio === 'none' ? profile.playerLiveDelayMs : profile.playerLiveDelayWithAudioMs;
}
