import { describe, expect, it } from 'vitest';
import { latencyProfiles } from '../../../../src/config/config.ts';
import type { MediaDescription } from '../../../../src/contracts/media.ts';
import {
  buildPackagerArgs,
  canCopyVideo,
  type PackagerArgsInput,
} from '../../../../src/packager/ffmpeg/dash-args.ts';

const h264Opus: MediaDescription = { container: 'matroska', video: 'h264', audio: 'opus' };
const h264Only: MediaDescription = { container: 'matroska', video: 'h264', audio: 'none' };
const vp8Opus: MediaDescription = { container: 'webm', video: 'vp8', audio: 'opus' };
const putBaseUrl = 'http://127.0.0.1:40000/s3cr3t/';
const utcTimingUrl = 'http://127.0.0.1:8080/time';

function args(overrides: Partial<PackagerArgsInput> = {}): string[] {
  return buildPackagerArgs({
    media: h264Opus,
    keyframeIntervalMs: 1000,
    profile: latencyProfiles.low,
    putBaseUrl,
    utcTimingUrl,
    ...overrides,
  });
}

/** The value after `flag`, or undefined. */
function argAfter(list: readonly string[], flag: string): string | undefined {
  const i = list.indexOf(flag);
  return i === -1 ? undefined : list[i + 1];
}

/** Whether `list` contains `seq` as a contiguous run. */
function hasSequence(list: readonly string[], seq: readonly string[]): boolean {
  for (let i = 0; i + seq.length <= list.length; i++) {
    if (seq.every((s, j) => list[i + j] === s)) return true;
  }
  return false;
}

describe('canCopyVideo', () => {
  it.each([
    { media: h264Opus, keyframe: 1000, segment: 1000, expected: true },
    { media: h264Opus, keyframe: 500, segment: 1000, expected: true },
    { media: h264Opus, keyframe: 2000, segment: 2000, expected: true },
    { media: h264Opus, keyframe: 1001, segment: 1000, expected: false },
    { media: h264Opus, keyframe: undefined, segment: 1000, expected: false },
    { media: vp8Opus, keyframe: 1000, segment: 1000, expected: false },
    { media: { ...h264Opus, video: 'unknown' }, keyframe: 1000, segment: 1000, expected: false },
  ] as const)(
    '$media.video, keyframe $keyframe ms, segment $segment ms → $expected',
    ({ media, keyframe, segment, expected }) => {
      expect(canCopyVideo(media, keyframe, segment)).toBe(expected);
    },
  );
});

describe('buildPackagerArgs', () => {
  it('reads Matroska from stdin', () => {
    expect(hasSequence(args(), ['-f', 'matroska', '-i', 'pipe:0'])).toBe(true);
    expect(hasSequence(args(), ['-map', '0:v:0'])).toBe(true);
  });

  it('stream-copies H.264 with a keyframe every segment', () => {
    const a = args({ media: h264Opus, keyframeIntervalMs: 1000 });
    expect(argAfter(a, '-c:v')).toBe('copy');
    expect(a).not.toContain('libx264');
    expect(a).not.toContain('-force_key_frames');
  });

  it.each([
    { what: 'VP8', media: vp8Opus, keyframeIntervalMs: 1000 },
    { what: 'H.264 with unknown keyframes', media: h264Opus, keyframeIntervalMs: undefined },
    { what: 'H.264 with sparse keyframes', media: h264Opus, keyframeIntervalMs: 5000 },
  ])('re-encodes $what with x264, zerolatency and forced keyframes', ({ media, keyframeIntervalMs }) => {
    const a = args({ media, keyframeIntervalMs });
    expect(argAfter(a, '-c:v')).toBe('libx264');
    expect(argAfter(a, '-tune')).toBe('zerolatency');
    expect(argAfter(a, '-force_key_frames')).toBe('expr:gte(t,n_forced*1)');
    expect(a).not.toContain('copy');
  });

  it('forces keyframes at the normal profile segment duration', () => {
    const a = args({ media: vp8Opus, profile: latencyProfiles.normal });
    expect(argAfter(a, '-force_key_frames')).toBe('expr:gte(t,n_forced*2)');
  });

  it('maps and encodes audio to AAC when the publisher sends audio', () => {
    const a = args({ media: h264Opus });
    expect(hasSequence(a, ['-map', '0:a:0?'])).toBe(true);
    expect(argAfter(a, '-c:a')).toBe('aac');
  });

  it('maps audio when the audio codec is unknown (optional map)', () => {
    const a = args({ media: { container: 'webm', video: 'unknown', audio: 'unknown' } });
    expect(hasSequence(a, ['-map', '0:a:0?'])).toBe(true);
  });

  it('has no audio map or codec when the publisher sends no audio', () => {
    const a = args({ media: h264Only });
    expect(a).not.toContain('0:a:0?');
    expect(a).not.toContain('-c:a');
    expect(a.filter((x) => x === '-map')).toHaveLength(1);
  });

  it('low profile: chunked low-latency DASH', () => {
    const a = args({ profile: latencyProfiles.low });
    expect(hasSequence(a, ['-ldash', '1'])).toBe(true);
    expect(hasSequence(a, ['-streaming', '1'])).toBe(true);
    expect(hasSequence(a, ['-frag_type', 'every_frame'])).toBe(true);
    // The origin writes the MPD's ProducerReferenceTime and latency; ffmpeg's in-band prft would disagree.
    expect(hasSequence(a, ['-write_prft', '0'])).toBe(true);
    expect(a).not.toContain('-target_latency');
    expect(argAfter(a, '-seg_duration')).toBe('1');
  });

  it('normal profile: 2 s whole segments, none of the low-latency options', () => {
    const a = args({ profile: latencyProfiles.normal });
    expect(argAfter(a, '-seg_duration')).toBe('2');
    for (const flag of ['-ldash', '-streaming', '-frag_type', '-write_prft']) {
      expect(a).not.toContain(flag);
    }
  });

  it('writes the window sizes, segment names and UTCTiming', () => {
    const a = args();
    expect(argAfter(a, '-window_size')).toBe(String(latencyProfiles.low.windowSegments));
    expect(argAfter(a, '-extra_window_size')).toBe(String(latencyProfiles.low.extraWindowSegments));
    expect(argAfter(a, '-init_seg_name')).toBe('init-$RepresentationID$.m4s');
    expect(argAfter(a, '-media_seg_name')).toBe('seg-$RepresentationID$-$Number%05d$.m4s');
    expect(argAfter(a, '-utc_timing_url')).toBe(utcTimingUrl);
    expect(argAfter(a, '-update_period')).toBe('2');
  });

  it('PUTs to putBaseUrl + manifest.mpd, as the last argument', () => {
    const a = args();
    expect(argAfter(a, '-method')).toBe('PUT');
    expect(a.at(-1)).toBe(`${putBaseUrl}manifest.mpd`);
    expect(a.indexOf('-method')).toBeGreaterThan(a.indexOf('-f', a.indexOf('pipe:0')));
  });
});
