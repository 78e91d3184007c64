import type { VideoProbe } from './file-probe.ts';
import type { PublishOptions, PublishVideoCodec } from './publish-args.ts';
import { UsageError } from './usage-error.ts';

/**
 * What `dashrelay publish` runs for each `--preset` (pure: what is on PATH and on disk is passed in,
 * so the mapping is unit-tested without a camera).
 */
export type PublishPreset = 'rpi' | 'webcam' | 'file' | 'test';
export const publishPresets: readonly PublishPreset[] = ['rpi', 'webcam', 'file', 'test'];

/** The validated flags, before a preset turned them into processes. */
export interface PublishRequest {
  readonly preset?: PublishPreset | undefined;
  readonly input?: string | undefined;
  readonly inputFormat?: string | undefined;
  /** V4L2 device for `rpi` (H.264 copied) and `webcam`. */
  readonly device?: string | undefined;
  readonly audio?: string | undefined;
  readonly audioFormat?: string | undefined;
  readonly noAudio: boolean;
  /** `undefined`: the preset's choice (`h264` without a preset). */
  readonly videoCodec?: PublishVideoCodec | undefined;
  readonly realtime: 'auto' | 'yes' | 'no';
  readonly loop: boolean;
  /** `WxH` */
  readonly size?: string | undefined;
  readonly fps?: number | undefined;
  /** bits/s */
  readonly bitrateBps?: number | undefined;
  /** bits/s */
  readonly audioBitrateBps?: number | undefined;
  readonly durationS?: number | undefined;
}

/** A program whose H.264 is piped into ffmpeg's stdin (the Pi's camera tool). */
export interface CameraCommand {
  /** Path found on PATH. */
  readonly path: string;
  /** `rpicam-vid` or `libcamera-vid`. */
  readonly name: string;
  readonly args: readonly string[];
}

export interface PublishPlan {
  readonly options: PublishOptions;
  readonly camera?: CameraCommand | undefined;
  /** `v4l2-ctl` settings applied to the device before ffmpeg opens it (bitrate, GOP of a camera's own encoder). */
  readonly v4l2Ctl?: { readonly path: string; readonly args: readonly string[] } | undefined;
  /** Announced in `hello`: a keyframe at least this often, ms, which lets the server copy H.264. */
  readonly keyframeIntervalMs?: number | undefined;
  /** Picture hints for `hello` and the log. */
  readonly width?: number | undefined;
  readonly height?: number | undefined;
  readonly fps?: number | undefined;
  /** One line for the log: what is captured and whether it is copied or encoded, and why. */
  readonly summary: string;
}

/** What planning may look at. */
export interface PlanEnvironment {
  /** The path of an executable on PATH, or `undefined`. */
  which(name: string): string | undefined;
  exists(path: string): boolean;
  /** `--preset file`: the file's video, when it could be read. */
  readonly probe?: VideoProbe | undefined;
}

/** The input cannot be opened (no device, no file, no camera tool): exit code 4. */
export class InputMissingError extends Error {
  override readonly name = 'InputMissingError';
}

/** The server copies H.264 when a keyframe comes at least once per 1 s segment (see dash-args.ts `canCopyVideo`). */
const copyableKeyframeMs = 1000;
/** Slack for files whose keyframes are "every second" in rounded timestamps. */
const keyframeSlackMs = 50;

/**
 * ffmpeg reads a live camera for up to 5 s (its default analyzeduration) before it writes anything,
 * and that backlog would stay as latency: the SPS in the first keyframe is all it needs.
 */
const smallProbe = ['-probesize', '32768', '-analyzeduration', '0'];

const rpiDefaults = { size: '1280x720', fps: 30, bitrateBps: 2_000_000 } as const;
const testDefaults = { size: '1280x720', fps: 30 } as const;

function splitSize(size: string): { width: number; height: number } {
  const [w, h] = size.split('x').map(Number);
  return { width: w ?? 0, height: h ?? 0 };
}

function kbps(bps: number): string {
  return bps >= 1e6 ? `${bps / 1e6} Mbit/s` : `${Math.round(bps / 1000)} kbit/s`;
}

function isUrl(input: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(input);
}

/**
 * Turns the flags into the processes to run.
 * @throws UsageError for flags the preset cannot honour; InputMissingError for a missing device, file or camera tool.
 */
export function planPublish(r: PublishRequest, env: PlanEnvironment): PublishPlan {
  if (r.device !== undefined && r.preset !== 'rpi' && r.preset !== 'webcam') {
    throw new UsageError('--device goes with --preset rpi or --preset webcam (otherwise use --input)');
  }
  if ((r.preset === 'rpi' || r.preset === 'webcam' || r.preset === 'test') && r.input !== undefined) {
    throw new UsageError(
      `--preset ${r.preset} chooses its own input; drop --input${r.preset === 'test' ? '' : ' (use --device for another camera)'}`,
    );
  }
  switch (r.preset) {
    case 'rpi':
      return planRpi(r, env);
    case 'webcam':
      return planWebcam(r, env);
    case 'file':
      return planFile(r, env);
    case 'test':
      return planTest(r);
    default:
      return planCustom(r);
  }
}

function audioOf(r: PublishRequest): Pick<PublishOptions, 'audio' | 'audioFormat' | 'audioBitrateBps'> {
  return { audio: r.audio, audioFormat: r.audioFormat, audioBitrateBps: r.audioBitrateBps };
}

function common(r: PublishRequest) {
  return {
    ...audioOf(r),
    keyframeIntervalMs: copyableKeyframeMs,
    durationS: r.durationS,
    videoBitrateBps: r.bitrateBps,
  };
}

function planRpi(r: PublishRequest, env: PlanEnvironment): PublishPlan {
  if (r.videoCodec !== undefined) {
    throw new UsageError("--preset rpi sends the camera's own H.264 unchanged; drop --video-codec");
  }
  const size = r.size ?? rpiDefaults.size;
  const fps = r.fps ?? rpiDefaults.fps;
  const bitrate = r.bitrateBps ?? rpiDefaults.bitrateBps;
  const { width, height } = splitSize(size);
  const base = {
    ...common(r),
    // The camera's sound, if any, is a separate ALSA device: only --audio brings it in.
    noAudio: r.noAudio || r.audio === undefined,
    videoCodec: 'copy' as const,
    copiedCodec: 'h264' as const,
    realtime: false,
    loop: false,
    videoBitrateBps: undefined,
  };
  if (r.device !== undefined) {
    if (!env.exists(r.device)) {
      throw new InputMissingError(
        `no camera at ${r.device}: check the cable and \`ls /dev/video*\`. On Raspberry Pi OS Bookworm ` +
          'and later the camera module has no H.264 V4L2 device: drop --device to use rpicam-vid.',
      );
    }
    const ctl = env.which('v4l2-ctl');
    return {
      options: {
        ...base,
        input: r.device,
        inputFormat: 'v4l2',
        inputOptions: [
          ...smallProbe,
          '-input_format',
          'h264',
          '-video_size',
          size,
          '-framerate',
          String(fps),
        ],
      },
      // The camera's encoder keeps its own bitrate and GOP unless told (seed 002: 10 Mbit/s by default).
      v4l2Ctl: ctl
        ? {
            path: ctl,
            args: [
              '-d',
              r.device,
              '--set-ctrl',
              `video_bitrate=${bitrate},h264_i_frame_period=${Math.round(fps)},repeat_sequence_header=1`,
            ],
          }
        : undefined,
      keyframeIntervalMs: ctl ? copyableKeyframeMs : undefined,
      width,
      height,
      fps,
      summary: ctl
        ? `${r.device} H.264 ${size} at ${fps} fps, ${kbps(bitrate)} (set with v4l2-ctl), copied`
        : `${r.device} H.264 ${size} at ${fps} fps, copied; v4l2-ctl is not installed, so the camera keeps its own bitrate and keyframe interval (sudo apt install v4l-utils)`,
    };
  }
  const found = (['rpicam-vid', 'libcamera-vid'] as const)
    .map((name) => ({ name, path: env.which(name) }))
    .find((c) => c.path !== undefined);
  if (!found?.path) {
    throw new InputMissingError(
      'neither rpicam-vid nor libcamera-vid is on PATH: install the camera tools ' +
        '(Raspberry Pi OS: `sudo apt install rpicam-apps`), or give --device /dev/video0 for a camera ' +
        'whose V4L2 driver outputs H.264.',
    );
  }
  return {
    options: {
      ...base,
      input: 'pipe:0',
      inputFormat: 'h264',
      // A raw H.264 stream has no timestamps: -framerate paces the demuxer's, setts copies them to pts.
      inputOptions: [...smallProbe, '-framerate', String(fps)],
      videoBitstreamFilter: 'setts=pts=DTS',
    },
    camera: {
      name: found.name,
      path: found.path,
      args: [
        '-t',
        '0',
        '--nopreview',
        '--inline',
        '--flush',
        '--codec',
        'h264',
        '--width',
        String(width),
        '--height',
        String(height),
        '--framerate',
        String(fps),
        '--bitrate',
        String(bitrate),
        // One keyframe per second: the server then copies the H.264 into 1 s segments.
        '--intra',
        String(Math.max(1, Math.round(fps))),
        '-o',
        '-',
      ],
    },
    keyframeIntervalMs: copyableKeyframeMs,
    width,
    height,
    fps,
    summary: `${found.name} H.264 ${size} at ${fps} fps, ${kbps(bitrate)}, copied (the Pi encodes in hardware, ffmpeg only remuxes)`,
  };
}

function planWebcam(r: PublishRequest, env: PlanEnvironment): PublishPlan {
  const device = r.device ?? '/dev/video0';
  if (!env.exists(device)) {
    throw new InputMissingError(
      `no camera at ${device}: check the cable and \`ls /dev/video*\`, or give another with --device`,
    );
  }
  const inputOptions: string[] = [];
  // Asked of the camera rather than scaled afterwards: no extra work, and most webcams offer several sizes.
  if (r.size) inputOptions.push('-video_size', r.size);
  if (r.fps) inputOptions.push('-framerate', String(r.fps));
  const videoCodec = r.videoCodec === 'copy' ? 'h264' : (r.videoCodec ?? 'h264');
  const options: PublishOptions = {
    ...common(r),
    input: device,
    inputFormat: 'v4l2',
    inputOptions,
    noAudio: r.noAudio || r.audio === undefined,
    videoCodec,
    realtime: false,
    loop: false,
  };
  return {
    options,
    keyframeIntervalMs: copyableKeyframeMs,
    ...(r.size ? splitSize(r.size) : {}),
    fps: r.fps,
    summary: `${device} ${r.size ?? 'at its default size'}${r.fps ? ` at ${r.fps} fps` : ''}, encoded with ${encoderName(videoCodec, r.bitrateBps)}`,
  };
}

function encoderName(codec: PublishVideoCodec, bitrateBps: number | undefined): string {
  if (codec === 'vp8') return `VP8 at ${kbps(bitrateBps ?? 2_000_000)}`;
  return `x264 veryfast/zerolatency ${bitrateBps ? `at ${kbps(bitrateBps)}` : 'at constant quality'}`;
}

/** Why a file's video cannot be sent as it is, or `undefined` when it can. */
export function whyNotCopy(r: PublishRequest, probe: VideoProbe | undefined): string | undefined {
  if (r.videoCodec !== undefined && r.videoCodec !== 'copy') return `--video-codec ${r.videoCodec}`;
  if (r.size) return '--size asks for another picture size';
  if (r.fps) return '--fps asks for another frame rate';
  if (r.bitrateBps) return '--bitrate asks for another bitrate';
  if (!probe) return 'ffmpeg could not list its keyframes';
  if (probe.codec !== 'h264') return `its video is ${probe.codec ?? 'missing'}, not H.264`;
  if (probe.maxKeyframeIntervalMs > copyableKeyframeMs + keyframeSlackMs) {
    const gap = Number.isFinite(probe.maxKeyframeIntervalMs)
      ? `${(probe.maxKeyframeIntervalMs / 1000).toFixed(1)} s apart`
      : 'fewer than two in its first seconds';
    return `its keyframes are ${gap}; the server copies H.264 with one at least every second`;
  }
  return undefined;
}

function planFile(r: PublishRequest, env: PlanEnvironment): PublishPlan {
  if (r.input === undefined) throw new UsageError('--preset file needs --input <file>');
  if (!isUrl(r.input) && !env.exists(r.input)) throw new InputMissingError(`no such file: ${r.input}`);
  const why = whyNotCopy(r, env.probe);
  const forcedCopy = r.videoCodec === 'copy';
  const copy = why === undefined || forcedCopy;
  const videoCodec: PublishVideoCodec = copy ? 'copy' : (r.videoCodec ?? 'h264');
  const options: PublishOptions = {
    ...common(r),
    input: r.input,
    inputFormat: r.inputFormat,
    noAudio: r.noAudio,
    videoCodec,
    copiedCodec: copy && env.probe?.codec === 'h264' ? 'h264' : undefined,
    realtime: r.realtime !== 'no',
    loop: true,
    size: r.size,
    fps: r.fps,
  };
  return {
    options,
    // A file copied with long GOPs is announced without an interval, and the server re-encodes it.
    keyframeIntervalMs: !copy || why === undefined ? copyableKeyframeMs : undefined,
    ...(r.size ? splitSize(r.size) : {}),
    fps: r.fps,
    summary: copy
      ? `${r.input}, looped at its own pace, video copied${why ? ` (--video-codec copy although ${why}: the server will re-encode it)` : ''}`
      : `${r.input}, looped at its own pace, encoded with ${encoderName(videoCodec, r.bitrateBps)} because ${why}`,
  };
}

function planTest(r: PublishRequest): PublishPlan {
  const size = r.size ?? testDefaults.size;
  const fps = r.fps ?? testDefaults.fps;
  const videoCodec = r.videoCodec === 'copy' || r.videoCodec === undefined ? 'h264' : r.videoCodec;
  const withTone = !r.noAudio && r.audio === undefined;
  const options: PublishOptions = {
    ...common(r),
    input: `testsrc2=size=${size}:rate=${fps}`,
    inputFormat: 'lavfi',
    ...(withTone ? { audio: 'sine=frequency=440:sample_rate=48000', audioFormat: 'lavfi' } : {}),
    noAudio: r.noAudio,
    videoCodec,
    realtime: r.realtime !== 'no',
    loop: false,
  };
  return {
    options,
    keyframeIntervalMs: copyableKeyframeMs,
    ...splitSize(size),
    fps,
    summary: `test pattern ${size} at ${fps} fps${withTone ? ' with a 440 Hz tone' : ''}, encoded with ${encoderName(videoCodec, r.bitrateBps)}`,
  };
}

function planCustom(r: PublishRequest): PublishPlan {
  if (r.input === undefined) {
    throw new UsageError(
      '--input is required (a file, a device, or a lavfi graph with --input-format lavfi), or pick a --preset',
    );
  }
  const isDevice = ['v4l2', 'video4linux2', 'avfoundation', 'dshow', 'alsa', 'pulse'].includes(
    r.inputFormat ?? '',
  );
  const isNetwork = /^(rtsp|rtmp|srt|udp|tcp|https?):/.test(r.input);
  const videoCodec = r.videoCodec ?? 'h264';
  const options: PublishOptions = {
    ...common(r),
    input: r.input,
    inputFormat: r.inputFormat,
    noAudio: r.noAudio,
    videoCodec,
    realtime: r.realtime === 'yes' || (r.realtime === 'auto' && !isDevice && !isNetwork),
    loop: r.loop,
    size: r.size,
    fps: r.fps,
  };
  const size = r.size ?? /size=(\d+x\d+)/.exec(r.input)?.[1];
  const fps = r.fps ?? Number(/rate=(\d+(?:\.\d+)?)/.exec(r.input)?.[1] ?? Number.NaN);
  return {
    options,
    keyframeIntervalMs: videoCodec === 'copy' ? undefined : copyableKeyframeMs,
    ...(size ? splitSize(size) : {}),
    fps: fps > 0 ? fps : undefined,
    summary:
      videoCodec === 'copy'
        ? `${r.input}, video copied`
        : `${r.input}, encoded with ${encoderName(videoCodec, r.bitrateBps)}`,
  };
}
