import { describe, expect, it } from 'vitest';
import { parsePublishArgs, which } from '../../../src/cli/publish.ts';
import { planPublish } from '../../../src/cli/publish-presets.ts';
import { UsageError } from '../../../src/cli/usage-error.ts';

const base = ['--stream', 'cam1', '--input', 'movie.mp4'];

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error');
}

function parsed(argv: string[]) {
  const result = parsePublishArgs(argv);
  if (result.help) throw new Error('unexpected help');
  return result;
}

const noEnv = { which: () => undefined, exists: () => true };

/** The flags as they reach ffmpeg's options, through the (preset-less) plan. */
function options(argv: string[]) {
  const result = parsed(argv);
  return { ...result, options: planPublish(result.request, noEnv).options };
}

describe('parsePublishArgs', () => {
  it('fills the defaults', () => {
    expect(parsePublishArgs(base)).toEqual({
      help: false,
      server: 'http://127.0.0.1:8080',
      stream: 'cam1',
      reconnect: true,
      statusEveryMs: 10_000,
      request: {
        preset: undefined,
        input: 'movie.mp4',
        inputFormat: undefined,
        device: undefined,
        audio: undefined,
        audioFormat: undefined,
        audioBitrateBps: undefined,
        noAudio: false,
        videoCodec: undefined,
        realtime: 'auto',
        loop: false,
        size: undefined,
        fps: undefined,
        bitrateBps: undefined,
        durationS: undefined,
      },
    });
    expect(options(base).options).toEqual({
      input: 'movie.mp4',
      inputFormat: undefined,
      audio: undefined,
      audioFormat: undefined,
      audioBitrateBps: undefined,
      noAudio: false,
      videoCodec: 'h264',
      realtime: true,
      loop: false,
      size: undefined,
      fps: undefined,
      keyframeIntervalMs: 1000,
      durationS: undefined,
      videoBitrateBps: undefined,
    });
  });

  it('reads the preset, device, bitrates, reconnect and status flags', () => {
    const result = parsed([
      '--stream',
      'pi',
      '--preset',
      'rpi',
      '--device',
      '/dev/video2',
      '--bitrate',
      '256k',
      '--audio-bitrate',
      '24k',
      '--no-reconnect',
      '--status-every',
      '2.5',
    ]);
    expect(result.request).toMatchObject({
      preset: 'rpi',
      device: '/dev/video2',
      bitrateBps: 256_000,
      audioBitrateBps: 24_000,
    });
    expect(result.reconnect).toBe(false);
    expect(result.statusEveryMs).toBe(2500);
  });

  it('needs no --input with a preset', () => {
    expect(parsed(['--stream', 'x', '--preset', 'test']).request.input).toBeUndefined();
  });

  it('reads every flag', () => {
    const result = options([
      '--server',
      'https://relay.example.com',
      '--stream',
      'demo',
      '--input',
      'testsrc2=size=1280x720:rate=30',
      '--input-format',
      'lavfi',
      '--audio',
      'sine=frequency=440',
      '--audio-format',
      'lavfi',
      '--video-codec',
      'vp8',
      '--loop',
      '--size',
      '640x360',
      '--fps',
      '25',
      '--duration',
      '10',
    ]);
    expect(result.server).toBe('https://relay.example.com');
    expect(result.stream).toBe('demo');
    expect(result.options).toMatchObject({
      input: 'testsrc2=size=1280x720:rate=30',
      inputFormat: 'lavfi',
      audio: 'sine=frequency=440',
      audioFormat: 'lavfi',
      videoCodec: 'vp8',
      loop: true,
      size: '640x360',
      fps: 25,
      durationS: 10,
    });
  });

  it('reads --no-audio', () => {
    expect(options([...base, '--no-audio']).options.noAudio).toBe(true);
  });

  it.each([['--help'], ['-h']])('%s → help', (flag) => {
    expect(parsePublishArgs([flag])).toEqual({ help: true });
  });

  it.each([
    { argv: ['--input', 'x'], message: '--stream is required' },
    {
      argv: ['--stream', 'cam1'],
      message:
        '--input is required (a file, a device, or a lavfi graph with --input-format lavfi), or pick a --preset',
    },
    { argv: ['--stream', 'a/b', '--input', 'x'], message: '--stream must be 1-64' },
    { argv: ['--stream', 'my cam', '--input', 'x'], message: '(got "my cam")' },
    { argv: ['--stream', 'x'.repeat(65), '--input', 'x'], message: '--stream must be' },
    {
      argv: [...base, '--video-codec', 'h265'],
      message: '--video-codec must be h264, vp8 or copy (got "h265")',
    },
    { argv: [...base, '--size', '1280*720'], message: '--size must look like 1280x720' },
    { argv: [...base, '--size', '1x1'], message: '--size must' },
    { argv: [...base, '--size', 'hd'], message: '--size must' },
    { argv: [...base, '--fps', '0'], message: '--fps must' },
    { argv: [...base, '--fps', 'fast'], message: '--fps must' },
    { argv: [...base, '--duration=-1'], message: '--duration must' },
    { argv: [...base, '--duration', '0'], message: '--duration must' },
    { argv: [...base, '--realtime', 'maybe'], message: '--realtime must be auto, yes or no' },
    { argv: [...base, '--server', 'not a url'], message: '--server must be a URL' },
    {
      argv: [...base, '--preset', 'pi'],
      message: '--preset must be one of rpi, webcam, file, test (got "pi")',
    },
    { argv: [...base, '--bitrate', 'fast'], message: '--bitrate must be bits/s like 256k, 2M' },
    { argv: [...base, '--bitrate', '0'], message: '--bitrate must be' },
    { argv: [...base, '--audio-bitrate', '1G'], message: '--audio-bitrate must be' },
    { argv: [...base, '--status-every', '0'], message: '--status-every must be' },
  ])('$argv → UsageError "$message"', ({ argv, message }) => {
    const err = thrown(() => parsePublishArgs(argv));
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toContain(message);
  });

  it('rejects an unknown flag', () => {
    expect(thrown(() => parsePublishArgs([...base, '--bitrates', '1M']))).toMatchObject({
      code: 'ERR_PARSE_ARGS_UNKNOWN_OPTION',
    });
  });

  it.each([
    { what: 'lavfi', extra: ['--input', 'testsrc2', '--input-format', 'lavfi'], expected: true },
    { what: 'a file', extra: ['--input', 'movie.mp4'], expected: true },
    { what: 'a v4l2 camera', extra: ['--input', '/dev/video0', '--input-format', 'v4l2'], expected: false },
    { what: 'avfoundation', extra: ['--input', '0', '--input-format', 'avfoundation'], expected: false },
    { what: 'an RTSP camera', extra: ['--input', 'rtsp://10.0.0.2/stream'], expected: false },
    { what: 'an SRT URL', extra: ['--input', 'srt://10.0.0.2:9000'], expected: false },
    { what: 'an HTTP URL', extra: ['--input', 'https://example.com/live.m3u8'], expected: false },
    {
      what: 'v4l2 with --realtime yes',
      extra: ['--input', '/dev/video0', '--input-format', 'v4l2', '--realtime', 'yes'],
      expected: true,
    },
    {
      what: 'lavfi with --realtime no',
      extra: ['--input', 'testsrc2', '--input-format', 'lavfi', '--realtime', 'no'],
      expected: false,
    },
  ])('realtime for $what → $expected', ({ extra, expected }) => {
    expect(options(['--stream', 'cam1', ...extra]).options.realtime).toBe(expected);
  });
});

describe('which', () => {
  it('finds an executable on PATH, and nothing that is not there', () => {
    expect(which('sh', '/nonexistent:/bin:/usr/bin')).toMatch(/\/sh$/);
    expect(which('no-such-program-here', '/bin:/usr/bin')).toBeUndefined();
    expect(which('sh', '')).toBeUndefined();
  });
});
