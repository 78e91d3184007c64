import { describe, expect, it } from 'vitest';
import { buildPublishArgs, publishMimeType } from '../../../src/cli/publish-args.ts';
import {
  InputMissingError,
  type PlanEnvironment,
  type PublishRequest,
  planPublish,
  whyNotCopy,
} from '../../../src/cli/publish-presets.ts';
import { UsageError } from '../../../src/cli/usage-error.ts';

const request: PublishRequest = { noAudio: false, realtime: 'auto', loop: false };

function env(onPath: string[] = [], files: string[] = [], probe?: PlanEnvironment['probe']): PlanEnvironment {
  return {
    which: (name) => (onPath.includes(name) ? `/usr/bin/${name}` : undefined),
    exists: (p) => files.includes(p),
    probe,
  };
}

function argAfter(list: readonly string[], flag: string): string | undefined {
  const i = list.indexOf(flag);
  return i === -1 ? undefined : list[i + 1];
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error');
}

describe('--preset rpi with the camera tool', () => {
  const rpi: PublishRequest = { ...request, preset: 'rpi' };

  it('prefers rpicam-vid, pipes its H.264 into ffmpeg and copies it', () => {
    const plan = planPublish(rpi, env(['rpicam-vid', 'libcamera-vid']));
    expect(plan.camera?.name).toBe('rpicam-vid');
    expect(plan.camera?.path).toBe('/usr/bin/rpicam-vid');
    const cam = plan.camera?.args ?? [];
    expect(cam.slice(0, 2)).toEqual(['-t', '0']);
    expect(cam).toContain('--inline');
    expect(argAfter(cam, '--codec')).toBe('h264');
    expect(cam.slice(-2)).toEqual(['-o', '-']);
    const a = buildPublishArgs(plan.options);
    expect(a.slice(a.indexOf('-f'), a.indexOf('-f') + 2)).toEqual(['-f', 'h264']);
    expect(argAfter(a, '-i')).toBe('pipe:0');
    expect(argAfter(a, '-c:v')).toBe('copy');
    expect(argAfter(a, '-bsf:v')).toBe('setts=pts=DTS');
    expect(a).not.toContain('libx264');
    expect(a).not.toContain('-re');
    expect(a).not.toContain('-c:a');
    expect(publishMimeType(plan.options)).toBe('video/x-matroska;codecs=avc1');
    expect(plan.keyframeIntervalMs).toBe(1000);
  });

  it('falls back to libcamera-vid', () => {
    expect(planPublish(rpi, env(['libcamera-vid'])).camera?.name).toBe('libcamera-vid');
  });

  it('defaults to 1280x720 at 30 fps, 2 Mbit/s, a keyframe a second', () => {
    const plan = planPublish(rpi, env(['rpicam-vid']));
    const cam = plan.camera?.args ?? [];
    expect(argAfter(cam, '--width')).toBe('1280');
    expect(argAfter(cam, '--height')).toBe('720');
    expect(argAfter(cam, '--framerate')).toBe('30');
    expect(argAfter(cam, '--bitrate')).toBe('2000000');
    expect(argAfter(cam, '--intra')).toBe('30');
    expect(plan).toMatchObject({ width: 1280, height: 720, fps: 30 });
  });

  it("maps --size, --fps and --bitrate to the camera tool's own flags, not to a re-encode", () => {
    const plan = planPublish({ ...rpi, size: '640x360', fps: 15, bitrateBps: 256_000 }, env(['rpicam-vid']));
    const cam = plan.camera?.args ?? [];
    expect(argAfter(cam, '--width')).toBe('640');
    expect(argAfter(cam, '--height')).toBe('360');
    expect(argAfter(cam, '--framerate')).toBe('15');
    expect(argAfter(cam, '--bitrate')).toBe('256000');
    expect(argAfter(cam, '--intra')).toBe('15');
    const a = buildPublishArgs(plan.options);
    // ffmpeg's -framerate stamps the raw stream at the camera's rate.
    expect(a[a.indexOf('-i') - 1]).toBe('15');
    expect(a).not.toContain('-vf');
    expect(a).not.toContain('-b:v');
    expect(a).not.toContain('scale=640:360');
  });

  it('without rpicam-vid or libcamera-vid on PATH: InputMissingError naming both and the fix', () => {
    const err = thrown(() => planPublish(rpi, env([])));
    expect(err).toBeInstanceOf(InputMissingError);
    expect((err as Error).message).toMatch(/rpicam-vid.*libcamera-vid.*apt install rpicam-apps.*--device/);
  });

  it('refuses --video-codec and --input', () => {
    expect(thrown(() => planPublish({ ...rpi, videoCodec: 'h264' }, env(['rpicam-vid'])))).toBeInstanceOf(
      UsageError,
    );
    expect(thrown(() => planPublish({ ...rpi, input: 'x' }, env(['rpicam-vid'])))).toBeInstanceOf(UsageError);
  });
});

describe('--preset rpi with --device (V4L2 H.264)', () => {
  const rpi: PublishRequest = { ...request, preset: 'rpi', device: '/dev/video0' };

  it('copies the V4L2 H.264 and sets the bitrate and GOP with v4l2-ctl', () => {
    const plan = planPublish(
      { ...rpi, bitrateBps: 250_000, size: '800x600' },
      env(['v4l2-ctl'], ['/dev/video0']),
    );
    expect(plan.camera).toBeUndefined();
    const a = buildPublishArgs(plan.options);
    const i = a.indexOf('-i');
    expect(a.slice(a.indexOf('-f'), i + 2)).toEqual([
      '-f',
      'v4l2',
      '-probesize',
      '32768',
      '-analyzeduration',
      '0',
      '-input_format',
      'h264',
      '-video_size',
      '800x600',
      '-framerate',
      '30',
      '-i',
      '/dev/video0',
    ]);
    expect(argAfter(a, '-input_format')).toBe('h264');
    expect(argAfter(a, '-video_size')).toBe('800x600');
    expect(argAfter(a, '-c:v')).toBe('copy');
    expect(plan.v4l2Ctl).toEqual({
      path: '/usr/bin/v4l2-ctl',
      args: [
        '-d',
        '/dev/video0',
        '--set-ctrl',
        'video_bitrate=250000,h264_i_frame_period=30,repeat_sequence_header=1',
      ],
    });
    expect(plan.keyframeIntervalMs).toBe(1000);
  });

  it('without v4l2-ctl: copies anyway, promises no keyframe interval, and says how to get it', () => {
    const plan = planPublish(rpi, env([], ['/dev/video0']));
    expect(plan.v4l2Ctl).toBeUndefined();
    expect(plan.keyframeIntervalMs).toBeUndefined();
    expect(plan.summary).toMatch(/v4l-utils/);
  });

  it('a missing device: InputMissingError', () => {
    const err = thrown(() => planPublish({ ...rpi, device: '/dev/nonexistent' }, env(['v4l2-ctl'])));
    expect(err).toBeInstanceOf(InputMissingError);
    expect((err as Error).message).toMatch(/no camera at \/dev\/nonexistent/);
  });
});

describe('--preset webcam', () => {
  const webcam: PublishRequest = { ...request, preset: 'webcam' };

  it('V4L2 raw from /dev/video0 → x264 veryfast zerolatency, no sound, not -re', () => {
    const a = buildPublishArgs(planPublish(webcam, env([], ['/dev/video0'])).options);
    expect(a.slice(a.indexOf('-f'), a.indexOf('-f') + 4)).toEqual(['-f', 'v4l2', '-i', '/dev/video0']);
    expect(argAfter(a, '-c:v')).toBe('libx264');
    expect(argAfter(a, '-preset')).toBe('veryfast');
    expect(argAfter(a, '-tune')).toBe('zerolatency');
    expect(a).not.toContain('-re');
    expect(a).not.toContain('-c:a');
  });

  it('asks the camera for --size and --fps, and encodes at --bitrate', () => {
    const plan = planPublish(
      { ...webcam, device: '/dev/video2', size: '640x360', fps: 15, bitrateBps: 256_000 },
      env([], ['/dev/video2']),
    );
    const a = buildPublishArgs(plan.options);
    expect(argAfter(a, '-video_size')).toBe('640x360');
    expect(argAfter(a, '-framerate')).toBe('15');
    expect(a.indexOf('-video_size')).toBeLessThan(a.indexOf('-i'));
    expect(argAfter(a, '-i')).toBe('/dev/video2');
    expect(argAfter(a, '-b:v')).toBe('256000');
    expect(argAfter(a, '-maxrate')).toBe('256000');
    expect(argAfter(a, '-bufsize')).toBe('256000');
    expect(a).not.toContain('-vf');
  });

  it('a missing device: InputMissingError', () => {
    expect(thrown(() => planPublish({ ...webcam, device: '/dev/nonexistent' }, env()))).toBeInstanceOf(
      InputMissingError,
    );
  });
});

describe('--preset file', () => {
  const file: PublishRequest = { ...request, preset: 'file', input: 'movie.mp4' };
  const h264Every1s = { codec: 'h264', maxKeyframeIntervalMs: 1000 };

  it('H.264 with a keyframe every second: looped at its own pace and copied', () => {
    const plan = planPublish(file, env([], ['movie.mp4'], h264Every1s));
    const a = buildPublishArgs(plan.options);
    expect(a).toContain('-re');
    expect(argAfter(a, '-stream_loop')).toBe('-1');
    expect(argAfter(a, '-c:v')).toBe('copy');
    expect(publishMimeType(plan.options)).toBe('video/x-matroska;codecs=avc1,opus');
    expect(plan.keyframeIntervalMs).toBe(1000);
    expect(plan.summary).toMatch(/copied/);
  });

  it.each([
    { what: 'HEVC', probe: { codec: 'hevc', maxKeyframeIntervalMs: 1000 }, why: /hevc, not H.264/ },
    { what: '2 s GOPs', probe: { codec: 'h264', maxKeyframeIntervalMs: 2000 }, why: /2\.0 s apart/ },
    {
      what: 'one keyframe',
      probe: { codec: 'h264', maxKeyframeIntervalMs: Infinity },
      why: /fewer than two/,
    },
    { what: 'an unreadable file', probe: undefined, why: /could not list/ },
  ])('$what: encoded with x264, and the log says why', ({ probe, why }) => {
    const plan = planPublish(file, env([], ['movie.mp4'], probe));
    expect(argAfter(buildPublishArgs(plan.options), '-c:v')).toBe('libx264');
    expect(plan.summary).toMatch(why);
    expect(plan.keyframeIntervalMs).toBe(1000);
  });

  it('--size, --fps or --bitrate mean encoding', () => {
    expect(whyNotCopy({ ...file, size: '640x360' }, h264Every1s)).toMatch(/--size/);
    expect(whyNotCopy({ ...file, fps: 15 }, h264Every1s)).toMatch(/--fps/);
    expect(whyNotCopy({ ...file, bitrateBps: 256_000 }, h264Every1s)).toMatch(/--bitrate/);
    expect(whyNotCopy(file, h264Every1s)).toBeUndefined();
    expect(whyNotCopy(file, { codec: 'h264', maxKeyframeIntervalMs: 1040 })).toBeUndefined();
  });

  it('--video-codec copy copies whatever the GOP, without promising a keyframe interval', () => {
    const plan = planPublish(
      { ...file, videoCodec: 'copy' },
      env([], ['movie.mp4'], { codec: 'h264', maxKeyframeIntervalMs: 4000 }),
    );
    expect(argAfter(buildPublishArgs(plan.options), '-c:v')).toBe('copy');
    expect(plan.keyframeIntervalMs).toBeUndefined();
  });

  it('a missing file: InputMissingError; no --input: UsageError', () => {
    expect(thrown(() => planPublish(file, env()))).toBeInstanceOf(InputMissingError);
    expect(thrown(() => planPublish({ ...request, preset: 'file' }, env()))).toBeInstanceOf(UsageError);
  });
});

describe('--preset test', () => {
  it('testsrc2 at 1280x720/30 with a sine tone, x264', () => {
    const plan = planPublish({ ...request, preset: 'test' }, env());
    const a = buildPublishArgs(plan.options);
    expect(a.filter((x) => x === '-i').length).toBe(2);
    expect(argAfter(a, '-i')).toBe('testsrc2=size=1280x720:rate=30');
    expect(a[a.lastIndexOf('-i') + 1]).toMatch(/^sine=/);
    expect(argAfter(a, '-c:v')).toBe('libx264');
    expect(argAfter(a, '-c:a')).toBe('libopus');
    expect(a).toContain('-re');
    expect(plan).toMatchObject({ width: 1280, height: 720, fps: 30, keyframeIntervalMs: 1000 });
  });

  it('--size and --fps shape the pattern itself; --no-audio drops the tone; --audio-bitrate sets Opus', () => {
    const a = buildPublishArgs(
      planPublish({ ...request, preset: 'test', size: '640x360', fps: 15, noAudio: true }, env()).options,
    );
    expect(argAfter(a, '-i')).toBe('testsrc2=size=640x360:rate=15');
    expect(a.filter((x) => x === '-i').length).toBe(1);
    expect(a).not.toContain('-vf');
    const b = buildPublishArgs(
      planPublish({ ...request, preset: 'test', audioBitrateBps: 24_000 }, env()).options,
    );
    expect(argAfter(b, '-b:a')).toBe('24000');
  });
});

describe('without a preset', () => {
  it('--device is refused', () => {
    expect(
      thrown(() => planPublish({ ...request, input: 'x', device: '/dev/video0' }, env())),
    ).toBeInstanceOf(UsageError);
  });

  it('--bitrate reaches x264 and VP8', () => {
    const x = buildPublishArgs(
      planPublish({ ...request, input: 'm.mp4', bitrateBps: 800_000 }, env()).options,
    );
    expect(argAfter(x, '-b:v')).toBe('800000');
    const v = buildPublishArgs(
      planPublish({ ...request, input: 'm.mp4', videoCodec: 'vp8', bitrateBps: 800_000 }, env()).options,
    );
    expect(argAfter(v, '-b:v')).toBe('800000');
  });
});
