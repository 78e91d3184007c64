import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { AnalysisSink } from '../analysis/analysis-sink.ts';
import type { EventLog } from '../analysis/event-log.ts';
import type { AnalysisPlugin } from '../analysis/types.ts';
import { ArchiveSink } from '../archive/archive-sink.ts';
import type { Config, LatencyProfile } from '../config/config.ts';
import type { ParentLogger } from '../contracts/logger.ts';
import type { Container } from '../contracts/media.ts';
import type { SessionSetup } from '../core/registry.ts';
import type { Session } from '../core/session.ts';
import { createError } from '../errors/errors.ts';
import type { FfmpegBinary } from '../ffmpeg/ffmpeg-locate.ts';
import type { Continued, Reanchor } from '../live/presentation.ts';
import { SegmentStore } from '../live/segment-store.ts';
import { SegmentTiming } from '../live/segment-timing.ts';
import { DemuxSink } from '../media/demux-sink.ts';
import { MediaClock } from '../media/media-clock.ts';
import { expectedFfmpegWarning } from '../packager/ffmpeg/expected-warnings.ts';
import { FfmpegPackager, playerDelayMs } from '../packager/ffmpeg/ffmpeg-packager.ts';
import { ffmpegDashNaming } from '../packager/ffmpeg/file-names.ts';
import type { PutReceiver } from '../packager/ffmpeg/put-receiver.ts';
import { rateLimited } from '../util/rate-limit.ts';
import type { LiveStream } from './live-stream.ts';
import type { Presentations } from './presentations.ts';

/** The archive holds the bytes as received, so its file type is the session's container. */
const archiveExtensions: Record<Container, 'webm' | 'mkv' | 'flv' | 'mp4'> = {
  webm: 'webm',
  matroska: 'mkv',
  flv: 'flv',
  mp4: 'mp4',
};

/** How long the first Period of a stream with the source's own GOPs waits to measure two segments, ms. */
const sourceGopSettleMs = 12_000;

/** What wiring a session needs from the server. */
export interface SessionSetupDeps {
  readonly config: Readonly<Config>;
  readonly profile: LatencyProfile;
  readonly ffmpeg: FfmpegBinary;
  readonly plugins: readonly AnalysisPlugin[];
  /** Absolute output directory. */
  readonly outputDir: string;
  readonly receiver: PutReceiver;
  readonly events: EventLog;
  readonly presentations: Presentations;
  readonly log: ParentLogger;
  /** The server's public base URL (known once it listens), for the MPD's UTCTiming. */
  readonly publicBaseUrl: () => string;
}

/**
 * The per-session composition: the live output store, then the sinks of the tee in the order they
 * matter (archive, packager, analysis, demuxer feeding the media clock). Everything a session opens is released when it
 * ends, also when the set-up itself fails half way.
 */
export function createSessionSetup(deps: SessionSetupDeps): SessionSetup<LiveStream> {
  const { config, profile, ffmpeg, plugins, outputDir, receiver, events, log } = deps;
  return async (session: Session): Promise<LiveStream> => {
    const { stream, media } = session.info;
    const slog = log.child({ stream, session: session.info.sessionId });
    const liveDir = join(outputDir, stream, 'live');
    // A fresh session starts a fresh timeline: segments of the previous one must not be served or mixed in.
    await rm(liveDir, { recursive: true, force: true }).catch((err: Error) => {
      throw createError('DR_ERR_OUTPUT_DIR', liveDir, err);
    });
    const store = new SegmentStore(stream, {
      naming: ffmpegDashNaming,
      diskDir: liveDir,
      maxSegmentsPerRepresentation: config.origin.segmentsInMemory,
      onDiskError: rateLimited(10_000, (suppressed, err: Error) =>
        slog.warn(
          { err, ...(suppressed > 0 ? { suppressed } : {}) },
          'could not write the DASH copy on disk (live delivery continues from memory)',
        ),
      ),
    });
    // Registered before anything below can fail, so a failed setup (which ends the session) releases it too.
    session.onEnd(() => store.close());
    const archive = await ArchiveSink.open({
      dir: join(outputDir, stream, 'archive'),
      startedAtMs: session.info.startedAtMs,
      extension: archiveExtensions[media.container],
      highWaterBytes: config.ingest.sinkHighWaterBytes,
      onError: (err) => {
        slog.error({ err }, 'archive write failed; ending the session so no byte goes unrecorded');
        session.emit('fatal', err);
      },
    });
    // Closing is idempotent; this covers a set-up that fails before the archive is attached.
    session.onEnd(() => archive.close());
    // The container is parsed once, here; the media clock (and later other consumers) read its frames.
    const demux = new DemuxSink({
      container: media.container,
      maxElementBytes: config.ingest.maxMessageBytes,
    });
    demux.on('error', (err) => slog.warn(`${err.message} [${err.code}]`));
    const clock = new MediaClock(demux);
    const timing = new SegmentTiming(store);
    const packager = new FfmpegPackager({
      ffmpegPath: ffmpeg.path,
      media,
      keyframeIntervalMs: session.info.keyframeIntervalMs,
      keyframesFromSource: session.info.keyframesFromSource,
      profile,
      receiver,
      store,
      utcTimingUrl: `${deps.publicBaseUrl()}/time`,
      highWaterBytes: config.ingest.sinkHighWaterBytes,
      stopTimeoutMs: config.ffmpeg.stopTimeoutMs,
      // ffmpeg repeats some warnings per packet; one a second is enough to diagnose.
      onStderrLine: rateLimited(1000, (suppressed, line: string) => {
        const expected = expectedFfmpegWarning(line);
        const fields = { ...(suppressed > 0 && { suppressed }), ...(expected && { expected }) };
        if (expected) slog.debug(fields, `ffmpeg: ${line}`);
        else slog.warn(fields, `ffmpeg: ${line}`);
      }),
      onOutputError: rateLimited(10_000, (suppressed, err: Error) =>
        slog.error({ err, ...(suppressed > 0 ? { suppressed } : {}) }, err.message),
      ),
      onUnexpectedExit: (exit) => {
        const why = `${exit.code !== null ? `exit code ${exit.code}` : `signal ${exit.signal}`}: ${lastLine(exit.stderrTail)}`;
        const err = createError('DR_ERR_PACKAGER_EXITED', why);
        slog.error(err.message);
        session.state.packager = 'exited';
        session.emit('warning', { code: err.code, message: err.message });
      },
    });
    session.state.packager = 'starting';
    session.onEnd(() => packager.close());
    store.once('started', () => {
      session.state.packager = packager.state;
    });
    const analysis =
      plugins.length === 0
        ? undefined
        : new AnalysisSink({
            stream,
            container: media.container,
            ffmpegPath: ffmpeg.path,
            plugins,
            fps: config.analysis.fps,
            widthPx: config.analysis.widthPx,
            queueFrames: config.analysis.queueFrames,
            maxBacklogBytes: config.analysis.maxBacklogBytes,
            emit: (event) => events.add(event),
            log: (component) => slog.child({ component }),
            onDecoderStopped: (reason) => {
              const err = createError('DR_ERR_ANALYSIS_DECODER', reason);
              slog.warn(err.message);
            },
          });
    // The stream's MPD (one Period per session) continues across republishes; this session's segments
    // are served under a path of its own, so no segment URL is ever reused.
    const { presentation, counters } = deps.presentations.open(stream);
    const source = {
      path: session.info.sessionId.slice(0, 8),
      store,
      timing,
      mediaStartMs: () => clock.mediaStartMs ?? session.firstByteAtMs,
      playerDelayMs: playerDelayMs(profile, media),
      // A camera's or encoder's GOP (so its segments) may last 2–4 s: measure two before announcing.
      settleMs: session.info.keyframesFromSource ? sourceGopSettleMs : undefined,
    };
    presentation.addSource(source);
    const onReanchor = (r: Reanchor) => {
      if (r.path !== source.path) return;
      slog.info(
        {
          period: r.periodId,
          segment: r.segmentNumber,
          latenessMs: r.latenessMs,
          shiftedSegments: r.shiftedSegments,
        },
        'segments arrive later than the MPD announced (a publisher slower than real time): the next ones move later',
      );
    };
    const onContinued = (c: Continued) => {
      if (c.path !== source.path) return;
      slog.info(
        { period: c.periodId, segment: c.segmentNumber, continues: c.ownerPath },
        'publisher returned with the same media: continues the Period of the session before',
      );
    };
    presentation.on('reanchor', onReanchor);
    presentation.on('continued', onContinued);
    session.onEnd(() => {
      presentation.off('reanchor', onReanchor);
      presentation.off('continued', onContinued);
      presentation.endSource(source);
      deps.presentations.ended(stream);
      return undefined;
    });
    // The archive first: it is the sink that must never miss a byte.
    session.attach(archive);
    session.attach(packager);
    if (analysis) session.attach(analysis);
    session.attach(demux);
    session.once('ended', () => {
      slog.info({ bytes: session.bytesReceived, archive: archive.path }, 'session ended, archive closed');
    });
    return {
      clock,
      latency: { mode: config.latency.mode, profile },
      session,
      store,
      presentation,
      sourcePath: source.path,
      counters,
      packager,
      archive,
      analysis,
    };
  };
}

function lastLine(text: string): string {
  return text.split('\n').filter(Boolean).pop() ?? 'no message';
}
