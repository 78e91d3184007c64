import { x264LiveArgs } from '../ffmpeg/ffmpeg-common-args.ts';

/** ffmpeg arguments and hello for `dashrelay publish` (pure, unit-tested). */
export type PublishVideoCodec = 'h264' | 'vp8' | 'copy';

export interface PublishOptions {
  /** ffmpeg input (file, device, lavfi graph, URL). */
  readonly input: string;
  /** ffmpeg `-f` for the input (`lavfi`, `v4l2`…). */
  readonly inputFormat?: string | undefined;
  /** A second input for sound (e.g. `sine=frequency=440` with `audioFormat: lavfi`, or an ALSA device). */
  readonly audio?: string | undefined;
  readonly audioFormat?: string | undefined;
  /** Drop sound entirely. */
  readonly noAudio: boolean;
  readonly videoCodec: PublishVideoCodec;
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
  /** Video bitrate, bits/s, for VP8 (x264 uses CRF). */
  readonly videoBitrateBps: number;
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
  if (o.videoCodec === 'h264') return `video/x-matroska;codecs=avc1${audio}`;
  return 'video/x-matroska';
}

export function buildPublishArgs(o: PublishOptions): string[] {
  const args = ['-hide_banner', '-loglevel', 'warning', '-nostats'];
  const addInput = (url: string, format: string | undefined, loop: boolean): void => {
    if (o.realtime) args.push('-re');
    if (loop) args.push('-stream_loop', '-1');
    if (format) args.push('-f', format);
    args.push('-i', url);
  };
  addInput(o.input, o.inputFormat, o.loop);
  if (o.audio && !o.noAudio) addInput(o.audio, o.audioFormat, false);
  args.push('-map', '0:v:0');
  if (hasAudio(o)) args.push('-map', o.audio ? '1:a:0' : '0:a:0?');

  const filters: string[] = [];
  if (o.size) filters.push(`scale=${o.size.replace('x', ':')}`);
  if (o.fps) filters.push(`fps=${o.fps}`);
  const seconds = o.keyframeIntervalMs / 1000;
  if (o.videoCodec === 'copy') {
    args.push('-c:v', 'copy');
  } else {
    if (filters.length > 0) args.push('-vf', filters.join(','));
    if (o.videoCodec === 'h264') {
      args.push(...x264LiveArgs(seconds));
    } else {
      args.push(
        '-c:v',
        'libvpx',
        '-deadline',
        'realtime',
        '-cpu-used',
        '8',
        '-b:v',
        String(o.videoBitrateBps),
        '-force_key_frames',
        `expr:gte(t,n_forced*${seconds})`,
      );
    }
  }
  if (hasAudio(o)) args.push('-c:a', 'libopus', '-b:a', '96k', '-ar', '48000');
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

/** `http://h:p` or `ws://h:p` → `ws://h:p/ingest/<stream>`. */
export function ingestUrl(server: string, stream: string): string {
  const url = new URL(server);
  if (url.protocol === 'http:') url.protocol = 'ws:';
  else if (url.protocol === 'https:') url.protocol = 'wss:';
  url.pathname = `${url.pathname.replace(/\/$/, '')}/ingest/${encodeURIComponent(stream)}`;
  return url.toString();
}
