/**
 * ffmpeg argument pieces shared by the packager, the analysis decoder and the publish CLI, so the same
 * input and encoder choices are made once.
 */

import type { Container } from '../contracts/media.ts';

/** ffmpeg demuxer (`-f`) for each container a session carries. */
const demuxers: Record<Container, string> = {
  webm: 'matroska',
  matroska: 'matroska',
  flv: 'flv',
  mp4: 'mp4',
};

/**
 * Reads a session's bytes from stdin with a small probe: the Matroska header, FLV's sequence headers
 * and MP4's `moov` carry the codec parameters up front, and anything read while probing is a backlog
 * that stays as hidden latency for the whole session (ffmpeg options `probesize` bytes,
 * `analyzeduration` µs).
 */
export function stdinInput(container: Container, logLevel: 'error' | 'warning'): string[] {
  return [
    '-hide_banner',
    '-loglevel',
    logLevel,
    '-nostats',
    '-probesize',
    '32768',
    '-analyzeduration',
    '0',
    '-f',
    demuxers[container],
    '-i',
    'pipe:0',
  ];
}

/**
 * libx264 for live: `veryfast` preset, `zerolatency` tune (no frame lookahead, no B-frames), 4:2:0 so
 * every browser decodes it, and a keyframe every `keyframeSeconds` (one per DASH segment).
 */
export function x264LiveArgs(keyframeSeconds: number): string[] {
  return [
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-tune',
    'zerolatency',
    '-bf',
    '0',
    '-pix_fmt',
    'yuv420p',
    '-sc_threshold',
    '0',
    '-force_key_frames',
    `expr:gte(t,n_forced*${keyframeSeconds})`,
  ];
}
