import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DashrelayError } from '../../../src/errors/errors.ts';
import {
  locateFfmpeg,
  minFfmpegVersion,
  parseFfmpegVersion,
  pickFfmpeg,
} from '../../../src/ffmpeg/ffmpeg-locate.ts';

function ffmpegStaticInstalled(): boolean {
  try {
    createRequire(import.meta.url)('ffmpeg-static');
    return true;
  } catch {
    return false;
  }
}

describe('parseFfmpegVersion', () => {
  it.each([
    [
      'ffmpeg version 5.1.9-0+deb12u1 Copyright (c) 2000-2025 the FFmpeg developers',
      { text: '5.1.9-0+deb12u1', major: 5, minor: 1 },
    ],
    [
      'ffmpeg version n6.1.1 Copyright (c) 2000-2023 the FFmpeg developers',
      { text: 'n6.1.1', major: 6, minor: 1 },
    ],
    [
      'ffmpeg version 4.4.2-0ubuntu0.22.04.1 Copyright (c) 2000-2021 the FFmpeg developers',
      { text: '4.4.2-0ubuntu0.22.04.1', major: 4, minor: 4 },
    ],
    [
      'ffmpeg version N-112233-gabcdef Copyright (c) 2000-2024',
      { text: 'N-112233-gabcdef', major: 99, minor: 0 },
    ],
    ['ffmpeg version git-2024-01-01-abcdef', { text: 'git-2024-01-01-abcdef', major: 99, minor: 0 }],
    ['ffmpeg version 6.0 Copyright', { text: '6.0', major: 6, minor: 0 }],
    [
      'ffmpeg version 7.0.2-static https://johnvansickle.com/ffmpeg/\nbuilt with gcc 8',
      { text: '7.0.2-static', major: 7, minor: 0 },
    ],
    ['\nffmpeg version 5.1.2\nbuilt with gcc', { text: '5.1.2', major: 5, minor: 1 }],
  ])('%j → %o', (line, expected) => {
    expect(parseFfmpegVersion(line)).toEqual(expected);
  });

  it.each([
    '',
    'garbage',
    'bash: ffmpeg: command not found',
    'ffprobe version 6.0',
    'ffmpeg version',
    'ffmpeg version unknown-build',
  ])('%j → undefined', (line) => {
    expect(parseFfmpegVersion(line)).toBeUndefined();
  });

  // Source bug: gyan.dev's Windows git builds print a date instead of N-…, e.g.
  // "ffmpeg version 2024-03-07-git-97beb63a66-full_build-www.gyan.dev", which is neither `x.y` nor
  // `N-`/`git-`, so a current ffmpeg is rejected as "does not look like ffmpeg".
  it('accepts a date-stamped git build (gyan.dev)', () => {
    const v = parseFfmpegVersion(
      'ffmpeg version 2024-03-07-git-97beb63a66-full_build-www.gyan.dev Copyright (c) 2000-2024 the FFmpeg developers',
    );
    expect(v?.major ?? 0).toBeGreaterThanOrEqual(5);
  });
});

describe('pickFfmpeg', () => {
  it('prefers the explicit path over everything', () => {
    expect(pickFfmpeg('/opt/ff/ffmpeg', { FFMPEG_PATH: '/env/ffmpeg' })).toEqual({
      path: '/opt/ff/ffmpeg',
      source: 'config',
    });
  });

  it('uses FFMPEG_PATH when there is no explicit path', () => {
    expect(pickFfmpeg(undefined, { FFMPEG_PATH: '/env/ffmpeg' })).toEqual({
      path: '/env/ffmpeg',
      source: 'FFMPEG_PATH',
    });
  });

  it('ignores an empty explicit path and an empty FFMPEG_PATH', () => {
    const picked = pickFfmpeg('', { FFMPEG_PATH: '' });
    expect(picked.source).not.toBe('config');
    expect(picked.source).not.toBe('FFMPEG_PATH');
  });

  it.skipIf(ffmpegStaticInstalled())('falls back to ffmpeg on PATH (ffmpeg-static not installed)', () => {
    expect(pickFfmpeg(undefined, {})).toEqual({ path: 'ffmpeg', source: 'PATH' });
  });

  it('reads the env object it is given, not process.env', () => {
    const saved = process.env.FFMPEG_PATH;
    process.env.FFMPEG_PATH = '/from/process/env';
    try {
      expect(pickFfmpeg(undefined, {}).path).not.toBe('/from/process/env');
    } finally {
      if (saved === undefined) delete process.env.FFMPEG_PATH;
      else process.env.FFMPEG_PATH = saved;
    }
  });
});

describe('locateFfmpeg', () => {
  let dir: string;

  /** An executable shell script standing in for ffmpeg. */
  async function fakeFfmpeg(name: string, body: string): Promise<string> {
    const file = join(dir, name);
    await writeFile(file, `#!/bin/sh\n${body}\n`);
    await chmod(file, 0o755);
    return file;
  }

  async function rejection(promise: Promise<unknown>): Promise<DashrelayError> {
    const err = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DashrelayError);
    return err as DashrelayError;
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dashrelay-ffmpeg-locate-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('rejects a nonexistent explicit path with DR_ERR_FFMPEG_MISSING and a fix hint', async () => {
    const missing = join(dir, 'no-such-ffmpeg');
    const err = await rejection(locateFfmpeg(missing, {}));
    expect(err.code).toBe('DR_ERR_FFMPEG_MISSING');
    expect(err.message).toContain(missing);
    expect(err.message).toContain('was not found');
    expect(err.message).toContain('apt-get install ffmpeg');
    expect(err.message).toContain('FFMPEG_PATH');
  });

  it('rejects a nonexistent FFMPEG_PATH, naming where it came from', async () => {
    const missing = join(dir, 'env-ffmpeg');
    const err = await rejection(locateFfmpeg(undefined, { FFMPEG_PATH: missing }));
    expect(err.code).toBe('DR_ERR_FFMPEG_MISSING');
    expect(err.message).toContain('from FFMPEG_PATH');
  });

  it('rejects ffmpeg 4.4 with DR_ERR_FFMPEG_TOO_OLD', async () => {
    const path = await fakeFfmpeg('ffmpeg-4', 'echo "ffmpeg version 4.4.1 Copyright (c) 2000-2021"');
    const err = await rejection(locateFfmpeg(path, {}));
    expect(err.code).toBe('DR_ERR_FFMPEG_TOO_OLD');
    expect(err.message).toContain('4.4.1');
    expect(err.message).toContain(`${minFfmpegVersion[0]}.${minFfmpegVersion[1]} or newer`);
    expect(err.message).toContain('FFMPEG_PATH');
  });

  it('rejects 5.0 (minor below the minimum) as too old', async () => {
    const path = await fakeFfmpeg('ffmpeg-50', 'echo "ffmpeg version 5.0.3"');
    expect((await rejection(locateFfmpeg(path, {}))).code).toBe('DR_ERR_FFMPEG_TOO_OLD');
  });

  it.each([
    ['6.0', 'ffmpeg version 6.0 Copyright (c) 2000-2023'],
    ['5.1.9-0+deb12u1', 'ffmpeg version 5.1.9-0+deb12u1 Copyright (c) 2000-2025'],
    ['N-112233-gabcdef', 'ffmpeg version N-112233-gabcdef'],
  ])('resolves for %s', async (version, line) => {
    const path = await fakeFfmpeg(`ffmpeg-ok-${version}`, `echo "${line}"\necho "built with gcc 12"`);
    await expect(locateFfmpeg(path, {})).resolves.toEqual({ path, source: 'config', version });
  });

  it('takes FFMPEG_PATH from the env object', async () => {
    const path = await fakeFfmpeg('ffmpeg-env', 'echo "ffmpeg version 6.1"');
    await expect(locateFfmpeg(undefined, { FFMPEG_PATH: path })).resolves.toEqual({
      path,
      source: 'FFMPEG_PATH',
      version: '6.1',
    });
  });

  it('rejects a program that does not print an ffmpeg version', async () => {
    const path = await fakeFfmpeg('not-ffmpeg', 'echo "hello"');
    const err = await rejection(locateFfmpeg(path, {}));
    expect(err.code).toBe('DR_ERR_FFMPEG_MISSING');
    expect(err.message).toContain('does not look like ffmpeg');
  });

  it('rejects a program that exits with an error', async () => {
    const path = await fakeFfmpeg('broken-ffmpeg', 'echo "ffmpeg version 6.0"\nexit 3');
    const err = await rejection(locateFfmpeg(path, {}));
    expect(err.code).toBe('DR_ERR_FFMPEG_MISSING');
    expect(err.message).toContain('could not be run');
  });
});
