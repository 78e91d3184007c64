import type { SegmentKind, SegmentNaming } from '../../contracts/segments.ts';

/** Names ffmpeg's dash muxer is told to give its files (dashenc `init_seg_name`, `media_seg_name`). */
export const initSegmentTemplate = 'init-$RepresentationID$.m4s';
export const mediaSegmentTemplate = 'seg-$RepresentationID$-$Number%05d$.m4s';
/** The MPD ffmpeg PUTs (the last path segment of its output URL). */
export const ffmpegManifestName = 'manifest.mpd';

const segmentPattern = /^(?:init-(\d+)\.m4s|seg-(\d+)-(\d{5,})\.m4s)$/;

/** The templates above once expanded: `init-0.m4s`, `seg-0-00042.m4s`. */
export const ffmpegDashNaming: SegmentNaming = {
  parse(name: string): SegmentKind | undefined {
    const m = segmentPattern.exec(name);
    if (!m) return undefined;
    if (m[1] !== undefined) return { kind: 'init', representation: Number(m[1]) };
    return { kind: 'media', representation: Number(m[2]), number: Number(m[3]) };
  },
};
