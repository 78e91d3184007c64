import type { LatencyProfile } from '../../config/schema.ts';
import type { MediaDescription } from '../../contracts/media.ts';
import { stdinInput, x264LiveArgs } from '../../ffmpeg/ffmpeg-common-args.ts';
import { ffmpegManifestName, initSegmentTemplate, mediaSegmentTemplate } from './file-names.ts';

export interface PackagerArgsInput {
  readonly media: MediaDescription;
  /** Keyframe interval the publisher promises, ms; undefined when unknown. */
  readonly keyframeIntervalMs?: number | undefined;
  /** The source's encoder chooses its GOPs (RTMP, RTSP): H.264 is copied whatever their length. */
  readonly keyframesFromSource?: boolean | undefined;
  readonly profile: LatencyProfile;
  /** Where ffmpeg PUTs its output: `http://127.0.0.1:<port>/<secret>/` (trailing slash). */
  readonly putBaseUrl: string;
  /** Public UTCTiming source written into the MPD (rewritten per request by the origin). */
  readonly utcTimingUrl: string;
}

/**
 * Whether the publisher's H.264 can be copied into DASH segments unchanged. ffmpeg can only cut at
 * keyframes, so a browser (whose keyframes we ask for) is copied when it promises one per segment.
 * A source whose encoder picks its own GOP (an RTMP encoder, an IP camera) is always copied: its
 * segments last a GOP, and the origin's SegmentTemplate takes the measured duration
 * (live/segment-timing.ts), so re-encoding would only cost CPU and quality.
 */
export function canCopyVideo(
  media: MediaDescription,
  keyframeIntervalMs: number | undefined,
  segmentMs: number,
  keyframesFromSource = false,
) {
  if (media.video !== 'h264') return false;
  if (keyframesFromSource) return true;
  return keyframeIntervalMs !== undefined && keyframeIntervalMs <= segmentMs;
}

/**
 * ffmpeg arguments for one publishing session: its container (Matroska/WebM, FLV, fragmented MP4) on stdin → live DASH (CMAF) PUT to the origin.
 * Options are ffmpeg dashenc's (ffmpeg ≥ 5.1): `ldash`, `streaming`, `frag_type`, `write_prft`,
 * `target_latency`, `utc_timing_url`, `update_period`, `method`, `http_persistent`.
 */
export function buildPackagerArgs(input: PackagerArgsInput): string[] {
  const { media, profile } = input;
  const segSeconds = profile.segmentDurationMs / 1000;
  const copy = canCopyVideo(
    media,
    input.keyframeIntervalMs,
    profile.segmentDurationMs,
    input.keyframesFromSource,
  );
  const args = [...stdinInput(media.container, 'warning'), '-map', '0:v:0'];
  if (media.audio !== 'none') args.push('-map', '0:a:0?');
  if (copy) {
    args.push('-c:v', 'copy');
  } else {
    args.push(...x264LiveArgs(segSeconds));
  }
  // AAC goes into CMAF as it is (RTMP, cameras); Opus and the rest become AAC, which every DASH player decodes.
  if (media.audio === 'aac') args.push('-c:a', 'copy');
  else if (media.audio !== 'none') args.push('-c:a', 'aac', '-b:a', '128k', '-ar', '48000');
  args.push(
    '-f',
    'dash',
    '-seg_duration',
    String(segSeconds),
    '-window_size',
    String(profile.windowSegments),
    '-extra_window_size',
    String(profile.extraWindowSegments),
    '-use_template',
    '1',
    '-use_timeline',
    '0',
    '-dash_segment_type',
    'mp4',
    '-format_options',
    'movflags=cmaf',
    '-init_seg_name',
    initSegmentTemplate,
    '-media_seg_name',
    mediaSegmentTemplate,
    '-utc_timing_url',
    input.utcTimingUrl,
    '-update_period',
    String(profile.manifestUpdatePeriodS),
  );
  if (profile.chunked) {
    args.push(
      '-ldash',
      '1',
      '-streaming',
      '1',
      '-frag_type',
      'every_frame',
      // The origin's MPD carries a ProducerReferenceTime consistent with its own timeline; in-band prft
      // boxes would carry ffmpeg's wall clock, some 150 ms off it (and further after a re-anchor).
      '-write_prft',
      '0',
    );
  }
  args.push('-method', 'PUT', '-http_persistent', '1', `${input.putBaseUrl}${ffmpegManifestName}`);
  return args;
}
