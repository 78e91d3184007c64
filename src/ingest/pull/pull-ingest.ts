import type { ParentLogger } from '../../contracts/logger.ts';
import type { IngestSession, PublishRequest } from '../../contracts/sink.ts';
import { redactText, redactUrl, secretsOf } from '../../util/redact.ts';
import { buildPullArgs, schemeOf } from './pull-args.ts';
import { type PullSourceStatus, PullSupervisor } from './pull-supervisor.ts';
import type { PullSource } from './source-schema.ts';

export interface PullIngestOptions {
  readonly sources: readonly PullSource[];
  readonly ffmpegPath: string;
  /** Opens a session (the registry's `open`); throws `DR_ERR_INGEST_STREAM_BUSY` when the name is taken. */
  readonly openSession: (request: PublishRequest) => Promise<IngestSession>;
  /** ffmpeg's network timeout, ms (`sources.timeoutMs`). */
  readonly timeoutMs: number;
  /** Longest wait between tries, ms (`sources.maxRetryDelayMs`). */
  readonly maxRetryDelayMs: number;
  /** Keyframe spacing of sources encoded when pulled (`video: h264`), s: the DASH segment duration. */
  readonly keyframeSeconds: number;
  /** Largest ffmpeg output held before the session opens, bytes. */
  readonly maxHeaderBytes: number;
  readonly log: ParentLogger;
}

/**
 * The pull ingest: the sources file's streams, each pulled by ffmpeg (RTSP cameras, HTTP streams,
 * any ffmpeg input) into a session like any publisher's, kept up by a {@link PullSupervisor}. It knows
 * nothing of DASH: viewers reach it only through {@link demand}.
 */
export class PullIngest {
  private readonly byName = new Map<string, PullSupervisor>();
  private readonly log: ParentLogger;

  constructor(opts: PullIngestOptions) {
    this.log = opts.log;
    for (const source of opts.sources) {
      const secrets = secretsOf(source.url);
      const scheme = schemeOf(source.url);
      this.byName.set(
        source.name,
        new PullSupervisor({
          ffmpegPath: opts.ffmpegPath,
          args: buildPullArgs({ source, timeoutMs: opts.timeoutMs, keyframeSeconds: opts.keyframeSeconds }),
          stream: source.name,
          protocol: scheme === 'rtsp' || scheme === 'rtsps' ? 'rtsp' : 'pull',
          shownUrl: redactUrl(source.url),
          redact: (text) => redactText(text, secrets),
          openSession: opts.openSession,
          maxHeaderBytes: opts.maxHeaderBytes,
          onDemand: source.onDemand,
          closeAfterMs: source.closeAfterSeconds * 1000,
          timeoutMs: opts.timeoutMs,
          maxRetryDelayMs: opts.maxRetryDelayMs,
          log: opts.log,
        }),
      );
    }
  }

  /** Whether `stream` is one of the pulled sources. */
  has(stream: string): boolean {
    return this.byName.has(stream);
  }

  /** Starts every always-on source. */
  start(): void {
    const all = this.list();
    this.log.info(
      { sources: all.map((s) => `${s.name}${s.onDemand ? ' (on demand)' : ''} ← ${s.url}`) },
      `pulling ${all.filter((s) => !s.onDemand).length} source(s), ${all.filter((s) => s.onDemand).length} more on demand`,
    );
    for (const s of this.byName.values()) s.start();
  }

  /**
   * A viewer asked for `stream`: see {@link PullSupervisor.demand}. `undefined` for a stream that is
   * not pulled.
   */
  demand(stream: string): Promise<void> | undefined {
    return this.byName.get(stream)?.demand();
  }

  /** Every source's state, in file order. */
  list(): PullSourceStatus[] {
    return [...this.byName.values()].map((s) => s.status());
  }

  /** Stops every source; their sessions end. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.byName.values()].map((s) => s.close()));
  }
}
