import { x264LiveArgs } from '../ffmpeg/ffmpeg-common-args.ts';

/** ffmpeg arguments and hello for `dashrelay publish` (pure, unit-tested). */
export type PublishVideoCodec = 'h264' | 'vp8' | 'copy';

export interface PublishOptions {
  /** ffmpeg input (file, device, lavfi graph, URL). */
  readonly input: string;
  /** ffmpeg `-f` for the input (`lavfi`, `v4l2`…). */
  readonly inputFormat?: string | undefined;
  /** ffmpeg options for the first input, placed before its `-i` (e.g. `-input_format h264 -framerate 30`). */
  readonly inputOptions?: readonly string[] | undefined;
  /** A second input for sound (e.g. `sine=frequency=440` with `audioFormat: lavfi`, or an ALSA device). */
  readonly audio?: string | undefined;
  readonly audioFormat?: string | undefined;
  /** Drop sound entirely. */
  readonly noAudio: boolean;
  readonly videoCodec: PublishVideoCodec;
  /** With `videoCodec: 'copy'`: an ffmpeg bitstream filter for the copied video (`-bsf:v`). */
  readonly videoBitstreamFilter?: string | undefined;
  /** With `videoCodec: 'copy'`: what the copied video is, when known, so `hello` can say so. */
  readonly copiedCodec?: 'h264' | undefined;
  /** Read the input at its native rate (`-re`): right for files and lavfi, wrong for cameras. */
  readonly realtime: boolean;
  /** Loop a file input forever (`-stream_loop -1`). */
  readonly loop: boolean;
  /** Output size `WxH`, optional. */
  readonly size?: string | undefined;
  /** Output frame rate, optional. */
  readonly fps?: number | undefined;
  /** Keyframe interval, ms. Default 1000 (one per DASH segment, so the server can stream-copy). */
  readonly keyframeIntervalMs: number;
  /** Stop after this many seconds of input (`-t`). */
  readonly durationS?: number | undefined;
  /**
   * Video bitrate, bits/s. x264: `-b:v`/`-maxrate` at this rate with a one-second `-bufsize`, or
   * constant quality (CRF 23) when undefined. VP8: 2 Mbit/s when undefined. Ignored when copying.
   */
  readonly videoBitrateBps?: number | undefined;
  /** Opus bitrate, bits/s. Default 96 000. */
  readonly audioBitrateBps?: number | undefined;
  /** Write ffmpeg's `-progress` reports (frames, bytes) to this file descriptor of the child, once a second. */
  readonly progressFd?: number | undefined;
}

/** Whether the run will carry sound. Lavfi video graphs have none unless a second input is given. */
export function hasAudio(o: PublishOptions): boolean {
  if (o.noAudio) return false;
  if (o.audio) return true;
  return o.inputFormat !== 'lavfi';
}

/** The mimeType announced in `hello`, as a browser's MediaRecorder would. */
export function publishMimeType(o: PublishOptions): string {
  const audio = hasAudio(o) ? ',opus' : '';
  if (o.videoCodec === 'vp8') return `video/webm;codecs=vp8${audio}`;
  if (o.videoCodec === 'h264' || o.copiedCodec === 'h264') return `video/x-matroska;codecs=avc1${audio}`;
  return 'video/x-matroska';
}

export function buildPublishArgs(o: PublishOptions): string[] {
  const args = ['-hide_banner', '-loglevel', 'warning', '-nostats'];
  if (o.progressFd !== undefined) args.push('-progress', `pipe:${o.progressFd}`, '-stats_period', '1');
  const addInput = (
    url: string,
    format: string | undefined,
    loop: boolean,
    extra: readonly string[],
  ): void => {
    if (o.realtime) args.push('-re');
    if (loop) args.push('-stream_loop', '-1');
    if (format) args.push('-f', format);
    args.push(...extra, '-i', url);
  };
  addInput(o.input, o.inputFormat, o.loop, o.inputOptions ?? []);
  if (o.audio && !o.noAudio) addInput(o.audio, o.audioFormat, false, []);
  args.push('-map', '0:v:0');
  if (hasAudio(o)) args.push('-map', o.audio ? '1:a:0' : '0:a:0?');

  const filters: string[] = [];
  if (o.size) filters.push(`scale=${o.size.replace('x', ':')}`);
  if (o.fps) filters.push(`fps=${o.fps}`);
  const seconds = o.keyframeIntervalMs / 1000;
  if (o.videoCodec === 'copy') {
    args.push('-c:v', 'copy');
    if (o.videoBitstreamFilter) args.push('-bsf:v', o.videoBitstreamFilter);
  } else {
    if (filters.length > 0) args.push('-vf', filters.join(','));
    if (o.videoCodec === 'h264') {
      args.push(...x264LiveArgs(seconds));
      const b = o.videoBitrateBps;
      if (b !== undefined) args.push('-b:v', String(b), '-maxrate', String(b), '-bufsize', String(b));
    } else {
      args.push(
        '-c:v',
        'libvpx',
        '-deadline',
        'realtime',
        '-cpu-used',
        '8',
        '-b:v',
        String(o.videoBitrateBps ?? 2_000_000),
        '-force_key_frames',
        `expr:gte(t,n_forced*${seconds})`,
      );
    }
  }
  if (hasAudio(o)) args.push('-c:a', 'libopus', '-b:a', String(o.audioBitrateBps ?? 96_000), '-ar', '48000');
  if (o.durationS) args.push('-t', String(o.durationS));
  // A cluster per ~100 ms and a flush per packet keep the bytes flowing like MediaRecorder's timeslices.
  args.push(
    '-f',
    o.videoCodec === 'vp8' ? 'webm' : 'matroska',
    '-live',
    '1',
    '-cluster_time_limit',
    '100',
    '-flush_packets',
    '1',
    'pipe:1',
  );
  return args;
}

/**
 * A bitrate as people write it: `256k`, `2M`, `2.5M`, `800000` (k = 1000, M = 1 000 000), in bits/s.
 * @returns bits/s, or `undefined` when `text` is not one.
 */
export function parseBitrate(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(text.trim());
  if (!m) return undefined;
  const unit = (m[2] ?? '').toLowerCase();
  const bps = Math.round(Number(m[1]) * (unit === 'k' ? 1e3 : unit === 'm' ? 1e6 : 1));
  return bps > 0 ? bps : undefined;
}

/** `http://h:p` or `ws://h:p` → `ws://h:p/ingest/<stream>`. */
export function ingestUrl(server: string, stream: string): string {
  const url = new URL(server);
  if (url.protocol === 'http:') url.protocol = 'ws:';
  else if (url.protocol === 'https:') url.protocol = 'wss:';
  url.pathname = `${url.pathname.replace(/\/$/, '')}/ingest/${encodeURIComponent(stream)}`;
  return url.toString();
}
