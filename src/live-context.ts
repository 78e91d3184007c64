import type { AnalysisSink } from './analysis/analysis-sink.ts';
import type { StreamInfo } from './api/stream-info.ts';
import type { ArchiveSink } from './archive/archive-sink.ts';
import type { LatencyMode, LatencyProfile } from './config/config.ts';
import type { Session } from './core/session.ts';
import type { MediaClock } from './media/media-clock.ts';
import type { DeliveryCounters } from './origin/deliver-file.ts';
import type { SegmentStore } from './origin/segment-store.ts';
import type { SegmentTiming } from './origin/segment-timing.ts';
import { describeMimeType } from './packager/codecs.ts';
import type { PackagerSink } from './packager/packager-sink.ts';

/** Everything one live session owns, as the composition root wires it. */
export interface LiveContext {
  readonly session: Session;
  readonly store: SegmentStore;
  readonly counters: DeliveryCounters;
  readonly packager: PackagerSink;
  readonly archive: ArchiveSink;
  readonly analysis: AnalysisSink | undefined;
  /** Wall-clock estimate of media time 0 (the MPD's availabilityStartTime). */
  readonly clock: MediaClock;
  /** Measured segment durations (the MPD's SegmentTemplate@duration). */
  readonly timing: SegmentTiming;
  readonly latency: { readonly mode: LatencyMode; readonly profile: LatencyProfile };
}

export function toStreamInfo(ctx: LiveContext): StreamInfo {
  const { info } = ctx.session;
  const media = describeMimeType(info.mimeType);
  return {
    name: info.stream,
    sessionId: info.sessionId,
    since: new Date(info.startedAtMs).toISOString(),
    mimeType: info.mimeType,
    codecs: { video: media?.video ?? 'unknown', audio: media?.audio ?? 'unknown' },
    width: info.width ?? null,
    height: info.height ?? null,
    fps: info.fps ?? null,
    bytesReceived: ctx.session.bytesReceived,
    bitrateBps: ctx.session.bitrateBps(),
    packager: ctx.packager.state,
    viewers: {
      openResponses: ctx.counters.openResponses,
      bytesServed: ctx.counters.bytesServed,
      cutOff: ctx.counters.viewersCutOff,
    },
    analysis: { frames: ctx.analysis?.frames ?? 0, plugins: ctx.analysis?.host.stats ?? [] },
    latency: {
      mode: ctx.latency.mode,
      segmentDurationMs: ctx.latency.profile.segmentDurationMs,
      playerLiveDelayMs: ctx.latency.profile.playerLiveDelayMs,
      playerLiveDelayWithAudioMs: ctx.latency.profile.playerLiveDelayWithAudioMs,
    },
    viewerUrl: `/viewer.html?stream=${info.stream}`,
    manifestUrl: `/live/${info.stream}/manifest.mpd`,
  };
}
