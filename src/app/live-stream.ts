import type { AnalysisSink } from '../analysis/analysis-sink.ts';
import type { StreamInfo } from '../api/stream-info.ts';
import type { ArchiveSink } from '../archive/archive-sink.ts';
import type { LatencyMode, LatencyProfile } from '../config/schema.ts';
import type { RestreamTargetInfo } from '../contracts/restream.ts';
import type { Session } from '../core/session.ts';
import type { Presentation } from '../live/presentation.ts';
import type { SegmentStore } from '../live/segment-store.ts';
import type { MediaClock } from '../media/media-clock.ts';
import type { DeliveryCounters } from '../origin/deliver-file.ts';
import type { FfmpegPackager } from '../packager/ffmpeg/ffmpeg-packager.ts';

/** Everything one live session owns, as the composition root wires it (kept in the registry). */
export interface LiveStream {
  readonly session: Session;
  /** The live output the origin serves. */
  readonly store: SegmentStore;
  /** The stream's MPD across sessions; this session's segments are under `sourcePath`. */
  readonly presentation: Presentation;
  readonly sourcePath: string;
  /** The stream's viewers (over all its sessions). */
  readonly counters: DeliveryCounters;
  readonly packager: FfmpegPackager;
  readonly archive: ArchiveSink;
  readonly analysis: AnalysisSink | undefined;
  /** Wall-clock estimate of media time 0 (the MPD's availabilityStartTime). */
  readonly clock: MediaClock;
  readonly latency: { readonly mode: LatencyMode; readonly profile: LatencyProfile };
}

/** The API's view of a live stream (docs/protocol.md `StreamInfo`). */
export function toStreamInfo(live: LiveStream, restream: readonly RestreamTargetInfo[] = []): StreamInfo {
  const { info } = live.session;
  return {
    name: info.stream,
    sessionId: info.sessionId,
    since: new Date(info.startedAtMs).toISOString(),
    mimeType: info.mimeType ?? '',
    codecs: { video: info.media.video, audio: info.media.audio },
    width: info.width ?? null,
    height: info.height ?? null,
    fps: info.fps ?? null,
    bytesReceived: live.session.bytesReceived,
    bitrateBps: live.session.bitrateBps(),
    packager: live.packager.state,
    viewers: {
      openResponses: live.counters.openResponses,
      bytesServed: live.counters.bytesServed,
      cutOff: live.counters.viewersCutOff,
    },
    analysis: { frames: live.analysis?.frames ?? 0, plugins: live.analysis?.host.stats ?? [] },
    latency: {
      mode: live.latency.mode,
      segmentDurationMs: live.latency.profile.segmentDurationMs,
      playerLiveDelayMs: live.latency.profile.playerLiveDelayMs,
      playerLiveDelayWithAudioMs: live.latency.profile.playerLiveDelayWithAudioMs,
    },
    restream,
    viewerUrl: `/viewer.html?stream=${info.stream}`,
    manifestUrl: `/live/${info.stream}/manifest.mpd`,
  };
}
