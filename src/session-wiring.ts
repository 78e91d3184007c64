import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import { AnalysisSink } from './analysis/analysis-sink.ts';
import type { EventLog } from './analysis/event-log.ts';
import type { AnalysisPlugin } from './analysis/types.ts';
import { ArchiveSink } from './archive/archive-sink.ts';
import type { LatencyProfile, ServerConfig } from './config/config.ts';
import type { SessionSetup } from './core/registry.ts';
import type { Session } from './core/session.ts';
import { createError } from './errors/errors.ts';
import type { LiveContext } from './live-context.ts';
import { DemuxSink } from './media/demux-sink.ts';
import { MediaClock } from './media/media-clock.ts';
import { createDeliveryCounters } from './origin/deliver-file.ts';
import type { PackagerReceiver } from './origin/packager-receiver.ts';
import { SegmentStore } from './origin/segment-store.ts';
import { SegmentTiming } from './origin/segment-timing.ts';
import { describeMimeType } from './packager/codecs.ts';
import { buildPackagerArgs } from './packager/ffmpeg-args.ts';
import { PackagerSink } from './packager/packager-sink.ts';
import type { FfmpegBinary } from './util/ffmpeg-locate.ts';

/** What wiring a session needs from the server. */
export interface SessionWiringDeps {
  readonly config: Readonly<ServerConfig>;
  readonly profile: LatencyProfile;
  readonly ffmpeg: FfmpegBinary;
  readonly plugins: readonly AnalysisPlugin[];
  /** Absolute output directory. */
  readonly outputDir: string;
  readonly receiver: PackagerReceiver;
  readonly events: EventLog;
  /** Live sessions by stream name; the wiring adds and removes its own entry. */
  readonly live: Map<string, LiveContext>;
  readonly log: FastifyBaseLogger;
  /** The server's public base URL (known once it listens), for the MPD's UTCTiming. */
  readonly publicBaseUrl: () => string;
}

/**
 * The per-session composition: an origin store registered with the packager receiver, then the sinks
 * of the tee in the order they matter (archive, packager, analysis, media clock). Everything a session
 * opens is released when it ends, also when the set-up itself fails half way.
 */
export function createSessionSetup(deps: SessionWiringDeps): SessionSetup {
  const { config, profile, ffmpeg, plugins, outputDir, receiver, events, live, log } = deps;
  return async (session: Session): Promise<void> => {
    const { stream, mimeType } = session.info;
    const slog = log.child({ stream });
    const media = describeMimeType(mimeType) ?? { container: 'matroska', video: 'unknown', audio: 'unknown' };
    const liveDir = join(outputDir, stream, 'live');
    // A fresh session starts a fresh timeline: segments of the previous one must not be served or mixed in.
    await rm(liveDir, { recursive: true, force: true }).catch((err: Error) => {
      throw createError('DR_ERR_OUTPUT_DIR', liveDir, err.message);
    });
    let lastDiskWarn = 0;
    const store = new SegmentStore(stream, {
      diskDir: liveDir,
      onDiskError: (err) => {
        if (Date.now() - lastDiskWarn < 10_000) return;
        lastDiskWarn = Date.now();
        slog.warn({ err }, 'could not write the DASH copy on disk (live delivery continues from memory)');
      },
    });
    const timing = new SegmentTiming(store);
    const { baseUrl, secret } = receiver.register(store);
    // Registered before anything below can fail, so a failed setup (which ends the session) releases it too.
    session.once('ended', () => {
      receiver.unregister(secret);
      void store.close();
    });
    const archive = await ArchiveSink.open({
      dir: join(outputDir, stream, 'archive'),
      startedAtMs: session.info.startedAtMs,
      extension: media.container === 'webm' ? 'webm' : 'mkv',
      highWaterBytes: config.sinkHighWaterBytes,
      onError: (err) => {
        slog.error({ err }, 'archive write failed; ending the session so no byte goes unrecorded');
        session.emit('fatal', err);
      },
    });
    // Closing is idempotent; this covers a set-up that fails before the archive is attached.
    session.once('ended', () => void archive.close());
    const packager = new PackagerSink({
      ffmpegPath: ffmpeg.path,
      args: buildPackagerArgs({
        media,
        keyframeIntervalMs: session.info.keyframeIntervalMs,
        profile,
        putBaseUrl: baseUrl,
        utcTimingUrl: `${deps.publicBaseUrl()}/time`,
      }),
      highWaterBytes: config.sinkHighWaterBytes,
      log: { warn: (m) => slog.warn(m), info: (m) => slog.info(m) },
      onUnexpectedExit: (exit) => {
        const why = `${exit.code !== null ? `exit code ${exit.code}` : `signal ${exit.signal}`}: ${lastLine(exit.stderrTail)}`;
        const err = createError('DR_ERR_PACKAGER_EXITED', why);
        slog.error(err.message);
        session.state.packager = 'exited';
        session.emit('warning', { code: err.code, message: err.message });
      },
    });
    session.state.packager = 'starting';
    store.once('started', () => {
      packager.markRunning();
      session.state.packager = packager.state;
    });
    const analysis =
      plugins.length === 0
        ? undefined
        : new AnalysisSink({
            stream,
            ffmpegPath: ffmpeg.path,
            plugins,
            fps: config.analysisFps,
            widthPx: config.analysisWidthPx,
            queueFrames: config.analysisQueueFrames,
            emit: (event) => events.add(event),
            log: (component) => {
              const l = slog.child({ component });
              return { info: (m) => l.info(m), warn: (m) => l.warn(m), error: (m) => l.error(m) };
            },
            onDecoderStopped: (reason) => {
              const err = createError('DR_ERR_ANALYSIS_DECODER', reason);
              slog.warn(err.message);
            },
          });
    // The archive first: it is the sink that must never miss a byte.
    session.attach(archive);
    session.attach(packager);
    if (analysis) session.attach(analysis);
    const demux = new DemuxSink({ maxElementBytes: config.maxMessageBytes });
    demux.on('error', (err) => slog.warn(err.message));
    session.attach(demux);
    const clock = new MediaClock(demux);
    const ctx: LiveContext = {
      clock,
      timing,
      latency: { mode: config.latency, profile },
      session,
      store,
      counters: createDeliveryCounters(),
      packager,
      archive,
      analysis,
    };
    live.set(stream, ctx);
    session.once('ended', () => {
      if (live.get(stream) === ctx) live.delete(stream);
      slog.info({ bytes: session.bytesReceived, archive: archive.path }, 'session ended, archive closed');
    });
  };
}

function lastLine(text: string): string {
  return text.split('\n').filter(Boolean).pop() ?? 'no message';
}
