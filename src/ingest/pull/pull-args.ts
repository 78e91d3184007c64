import { x264LiveArgs } from '../../ffmpeg/ffmpeg-common-args.ts';
import type { PullSource } from './source-schema.ts';

export interface PullArgsInput {
  readonly source: PullSource;
  /** A source that sends nothing for this long fails, ms (ffmpeg `-timeout`/`-rw_timeout`, µs). */
  readonly timeoutMs: number;
  /** Keyframe spacing when the video is encoded here (`video: h264`), s: one per DASH segment. */
  readonly keyframeSeconds: number;
}

/** The scheme of an ffmpeg input URL (`rtsp`), or undefined for a path or a lavfi graph. */
export function schemeOf(url: string): string | undefined {
  return /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(url)?.[1]?.toLowerCase();
}

/**
 * ffmpeg arguments that pull one source and write it to stdout as live Matroska, the container the
 * session demuxes: `-c copy` unless the source asks for encoding, because Matroska carries whatever a
 * camera sends (H.264, H.265, MJPEG, AAC, G.711) and the DASH packager encodes only what CMAF cannot
 * take as is. So the archive holds the camera's own stream.
 *
 * RTSP: `-rtsp_transport` and `-timeout` (µs; ffmpeg 5 removed `-stimeout`). Other network inputs:
 * `-rw_timeout` (µs). A small probe (0.5 s): what ffmpeg reads while probing comes out in one burst,
 * and a backlog at the start stays as latency for the whole session. `-cluster_time_limit 100` makes
 * the Matroska muxer flush a cluster every 100 ms instead of holding a whole GOP.
 */
export function buildPullArgs(input: PullArgsInput): string[] {
  const { source, timeoutMs } = input;
  const timeoutUs = String(timeoutMs * 1000);
  const scheme = schemeOf(source.url);
  const args = ['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'warning'];
  if (scheme === 'rtsp' || scheme === 'rtsps') {
    args.push('-rtsp_transport', source.rtspTransport, '-timeout', timeoutUs);
  } else if (scheme !== undefined && scheme !== 'file') {
    args.push('-rw_timeout', timeoutUs);
  }
  args.push('-probesize', '1000000', '-analyzeduration', '500000');
  args.push(...(source.inputOptions ?? []), '-i', source.url);
  args.push('-map', '0:v:0');
  if (source.audio !== 'none') args.push('-map', '0:a:0?');
  if (source.video === 'h264') {
    args.push(...x264LiveArgs(input.keyframeSeconds));
    if (source.bitrate !== undefined) {
      args.push('-b:v', source.bitrate, '-maxrate', source.bitrate, '-bufsize', doubled(source.bitrate));
    }
  } else {
    args.push('-c:v', 'copy');
  }
  if (source.audio === 'copy') args.push('-c:a', 'copy');
  else if (source.audio === 'aac') args.push('-c:a', 'aac', '-b:a', '128k');
  else args.push('-an');
  args.push('-f', 'matroska', '-live', '1', '-cluster_time_limit', '100', 'pipe:1');
  return args;
}

/** `800k` → `1600k`: a VBV buffer of two seconds' worth. */
function doubled(bitrate: string): string {
  const m = /^([0-9.]+)([kM]?)$/.exec(bitrate);
  return m ? `${Number(m[1]) * 2}${m[2]}` : bitrate;
}
