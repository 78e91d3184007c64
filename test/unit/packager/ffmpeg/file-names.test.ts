import { describe, expect, it } from 'vitest';
import { ffmpegDashNaming } from '../../../../src/packager/ffmpeg/file-names.ts';

describe('ffmpegDashNaming.parse', () => {
  it.each([
    ['init-0.m4s', { kind: 'init', representation: 0 }],
    ['init-3.m4s', { kind: 'init', representation: 3 }],
    ['seg-1-00042.m4s', { kind: 'media', representation: 1, number: 42 }],
    ['seg-0-123456.m4s', { kind: 'media', representation: 0, number: 123456 }],
  ])('%s → %o', (name, expected) => {
    expect(ffmpegDashNaming.parse(name)).toEqual(expected);
  });

  it.each(['../x', 'seg-0-1.m4s', 'manifest.mpd', 'manifest.mpd.tmp', 'init-a.m4s', '', 'index.html'])(
    '%j → undefined',
    (name) => {
      expect(ffmpegDashNaming.parse(name)).toBeUndefined();
    },
  );
});

describe('ffmpegDashNaming: the names ffmpeg is told to write', () => {
  it.each(['init-0.m4s', 'init-12.m4s', 'seg-1-00042.m4s', 'seg-0-123456.m4s'])('accepts %s', (name) => {
    expect(ffmpegDashNaming.parse(name)).toBeDefined();
  });

  it.each([
    '../x',
    '../manifest.mpd',
    'manifest.mpd',
    'seg-0-1.m4s',
    'seg-0-0001.m4s',
    'manifest.mpd.tmp',
    'init-a.m4s',
    'init-.m4s',
    'seg-a-00001.m4s',
    'seg-0-00001.mp4',
    'Manifest.mpd',
    '',
    'x/manifest.mpd',
  ])('rejects %j', (name) => {
    expect(ffmpegDashNaming.parse(name)).toBeUndefined();
  });
});
