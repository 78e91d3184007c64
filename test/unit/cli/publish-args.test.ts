import { describe, expect, it } from 'vitest';
import {
  buildPublishArgs,
  hasAudio,
  ingestUrl,
  type PublishOptions,
  publishMimeType,
} from '../../../src/cli/publish-args.ts';

const lavfi: PublishOptions = {
  input: 'testsrc2=size=640x360:rate=30',
  inputFormat: 'lavfi',
  noAudio: false,
  videoCodec: 'h264',
  realtime: true,
  loop: false,
  keyframeIntervalMs: 1000,
  videoBitrateBps: 2_000_000,
};
const withSine: PublishOptions = { ...lavfi, audio: 'sine=frequency=440', audioFormat: 'lavfi' };
const file: PublishOptions = { ...lavfi, input: 'movie.mp4', inputFormat: undefined };

function argAfter(list: readonly string[], flag: string): string | undefined {
  const i = list.indexOf(flag);
  return i === -1 ? undefined : list[i + 1];
}

function count(list: readonly string[], item: string): number {
  return list.filter((x) => x === item).length;
}

describe('hasAudio', () => {
  it.each([
    { what: 'lavfi video only', o: lavfi, expected: false },
    { what: 'lavfi with --audio', o: withSine, expected: true },
    { what: 'a file', o: file, expected: true },
    { what: 'a file with --no-audio', o: { ...file, noAudio: true }, expected: false },
    { what: '--audio with --no-audio', o: { ...withSine, noAudio: true }, expected: false },
    { what: 'a v4l2 camera', o: { ...lavfi, input: '/dev/video0', inputFormat: 'v4l2' }, expected: true },
  ])('$what → $expected', ({ o, expected }) => {
    expect(hasAudio(o)).toBe(expected);
  });
});

describe('publishMimeType', () => {
  it.each([
    { o: lavfi, expected: 'video/x-matroska;codecs=avc1' },
    { o: withSine, expected: 'video/x-matroska;codecs=avc1,opus' },
    { o: { ...lavfi, videoCodec: 'vp8' }, expected: 'video/webm;codecs=vp8' },
    { o: { ...withSine, videoCodec: 'vp8' }, expected: 'video/webm;codecs=vp8,opus' },
    { o: { ...file, videoCodec: 'copy' }, expected: 'video/x-matroska' },
  ] as const)('$o.videoCodec (audio: $o.audio) → $expected', ({ o, expected }) => {
    expect(publishMimeType(o)).toBe(expected);
  });
});

describe('buildPublishArgs', () => {
  it('lavfi video only: -re, one input, no audio map or codec', () => {
    const a = buildPublishArgs(lavfi);
    expect(a).toContain('-re');
    expect(count(a, '-i')).toBe(1);
    expect(argAfter(a, '-f')).toBe('lavfi');
    expect(argAfter(a, '-i')).toBe(lavfi.input);
    expect(count(a, '-map')).toBe(1);
    expect(argAfter(a, '-map')).toBe('0:v:0');
    expect(a).not.toContain('-c:a');
  });

  it('with --audio: a second input mapped as 1:a:0, encoded with libopus', () => {
    const a = buildPublishArgs(withSine);
    expect(count(a, '-i')).toBe(2);
    expect(a.lastIndexOf('-i')).toBeGreaterThan(a.indexOf('-i'));
    expect(a[a.lastIndexOf('-i') + 1]).toBe('sine=frequency=440');
    expect(a[a.lastIndexOf('-i') - 1]).toBe('lavfi');
    const maps = a.flatMap((x, i) => (x === '-map' ? [a[i + 1]] : []));
    expect(maps).toEqual(['0:v:0', '1:a:0']);
    expect(argAfter(a, '-c:a')).toBe('libopus');
  });

  it('a file input maps its own audio optionally', () => {
    const a = buildPublishArgs(file);
    const maps = a.flatMap((x, i) => (x === '-map' ? [a[i + 1]] : []));
    expect(maps).toEqual(['0:v:0', '0:a:0?']);
    expect(argAfter(a, '-c:a')).toBe('libopus');
  });

  it('h264: libx264 zerolatency into Matroska, keyframe every interval', () => {
    const a = buildPublishArgs(lavfi);
    expect(argAfter(a, '-c:v')).toBe('libx264');
    expect(argAfter(a, '-tune')).toBe('zerolatency');
    expect(argAfter(a, '-force_key_frames')).toBe('expr:gte(t,n_forced*1)');
    expect(a.slice(-9)).toEqual([
      '-f',
      'matroska',
      '-live',
      '1',
      '-cluster_time_limit',
      '100',
      '-flush_packets',
      '1',
      'pipe:1',
    ]);
  });

  it('vp8: libvpx at the given bitrate into WebM', () => {
    const a = buildPublishArgs({ ...lavfi, videoCodec: 'vp8', videoBitrateBps: 1_500_000 });
    expect(argAfter(a, '-c:v')).toBe('libvpx');
    expect(argAfter(a, '-b:v')).toBe('1500000');
    expect(a[a.length - 9]).toBe('-f');
    expect(a[a.length - 8]).toBe('webm');
    expect(a).not.toContain('libx264');
  });

  it('copy: -c:v copy, no filters, no forced keyframes', () => {
    const a = buildPublishArgs({ ...file, videoCodec: 'copy', size: '1280x720', fps: 30 });
    expect(argAfter(a, '-c:v')).toBe('copy');
    expect(a).not.toContain('-vf');
    expect(a).not.toContain('-force_key_frames');
  });

  it('loop: -stream_loop -1 before the first input only', () => {
    const a = buildPublishArgs({ ...withSine, loop: true });
    expect(count(a, '-stream_loop')).toBe(1);
    expect(argAfter(a, '-stream_loop')).toBe('-1');
    expect(a.indexOf('-stream_loop')).toBeLessThan(a.indexOf('-i'));
  });

  it('no loop: no -stream_loop', () => {
    expect(buildPublishArgs(lavfi)).not.toContain('-stream_loop');
  });

  it('realtime: -re before each input; not realtime: none', () => {
    expect(count(buildPublishArgs(withSine), '-re')).toBe(2);
    expect(buildPublishArgs({ ...lavfi, realtime: false })).not.toContain('-re');
  });

  it.each([
    { size: '1280x720', fps: 25, vf: 'scale=1280:720,fps=25' },
    { size: '640x360', fps: undefined, vf: 'scale=640:360' },
    { size: undefined, fps: 15, vf: 'fps=15' },
  ])('size $size, fps $fps → -vf $vf', ({ size, fps, vf }) => {
    expect(argAfter(buildPublishArgs({ ...lavfi, size, fps }), '-vf')).toBe(vf);
  });

  it('no size or fps: no -vf', () => {
    expect(buildPublishArgs(lavfi)).not.toContain('-vf');
  });

  it('durationS → -t', () => {
    expect(argAfter(buildPublishArgs({ ...lavfi, durationS: 4.5 }), '-t')).toBe('4.5');
    expect(buildPublishArgs(lavfi)).not.toContain('-t');
  });

  it('forces keyframes at keyframeIntervalMs', () => {
    const a = buildPublishArgs({ ...lavfi, keyframeIntervalMs: 500 });
    expect(argAfter(a, '-force_key_frames')).toBe('expr:gte(t,n_forced*0.5)');
  });

  it('a device input keeps its -f', () => {
    const a = buildPublishArgs({ ...lavfi, input: '/dev/video0', inputFormat: 'v4l2', realtime: false });
    expect(a.slice(a.indexOf('-f'), a.indexOf('-f') + 4)).toEqual(['-f', 'v4l2', '-i', '/dev/video0']);
  });
});

describe('ingestUrl', () => {
  it.each([
    ['http://127.0.0.1:8080', 'cam1', 'ws://127.0.0.1:8080/ingest/cam1'],
    ['http://127.0.0.1:8080/', 'cam1', 'ws://127.0.0.1:8080/ingest/cam1'],
    ['https://relay.example.com', 'cam1', 'wss://relay.example.com/ingest/cam1'],
    ['ws://localhost:9000', 'cam1', 'ws://localhost:9000/ingest/cam1'],
    ['wss://relay.example.com', 'cam1', 'wss://relay.example.com/ingest/cam1'],
    ['https://example.com/relay', 'cam1', 'wss://example.com/relay/ingest/cam1'],
    ['https://example.com/relay/', 'cam1', 'wss://example.com/relay/ingest/cam1'],
    ['http://h:1', 'a b', 'ws://h:1/ingest/a%20b'],
    ['http://h:1', 'a/b', 'ws://h:1/ingest/a%2Fb'],
    ['http://h:1', 'a?b', 'ws://h:1/ingest/a%3Fb'],
  ])('%s + %j → %s', (server, stream, expected) => {
    expect(ingestUrl(server, stream)).toBe(expected);
  });
});

describe('buildPublishArgs: presets’ pieces', () => {
  it('inputOptions go right before the first -i, after -f', () => {
    const a = buildPublishArgs({ ...lavfi, inputOptions: ['-framerate', '15'] });
    expect(a.slice(a.indexOf('-f'), a.indexOf('-i') + 2)).toEqual([
      '-f',
      'lavfi',
      '-framerate',
      '15',
      '-i',
      lavfi.input,
    ]);
  });

  it('progressFd: -progress pipe:N once a second', () => {
    const a = buildPublishArgs({ ...lavfi, progressFd: 3 });
    expect(argAfter(a, '-progress')).toBe('pipe:3');
    expect(argAfter(a, '-stats_period')).toBe('1');
    expect(buildPublishArgs(lavfi)).not.toContain('-progress');
  });

  it('x264 without a bitrate: constant quality (no -b:v)', () => {
    expect(buildPublishArgs({ ...lavfi, videoBitrateBps: undefined })).not.toContain('-b:v');
  });

  it('copy with a bitstream filter, and copiedCodec in the mimeType', () => {
    const o = {
      ...lavfi,
      videoCodec: 'copy',
      videoBitstreamFilter: 'setts=pts=DTS',
      copiedCodec: 'h264',
    } as const;
    expect(argAfter(buildPublishArgs(o), '-bsf:v')).toBe('setts=pts=DTS');
    expect(publishMimeType(o)).toBe('video/x-matroska;codecs=avc1');
  });
});
