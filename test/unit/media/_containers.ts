import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ffmpeg } from '../../_setup.ts';

const run = promisify(execFile);

/** 3 s of 320×240 H.264 at 30 fps (a keyframe a second, B-frames on) with AAC, in `format`. */
export async function generate(format: 'flv' | 'mp4'): Promise<Buffer> {
  const file = join(tmpdir(), `dashrelay-demux-${format}-${process.pid}.${format}`);
  const muxer =
    format === 'mp4'
      ? ['-movflags', 'frag_keyframe+empty_moov+default_base_moof', '-frag_duration', '33000']
      : [];
  await run((await ffmpeg()).path, [
    '-hide_banner',
    '-loglevel',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    'testsrc2=size=320x240:rate=30',
    '-f',
    'lavfi',
    '-i',
    'sine=sample_rate=48000',
    '-t',
    '3',
    '-c:v',
    'libx264',
    '-g',
    '30',
    '-c:a',
    'aac',
    ...muxer,
    '-f',
    format,
    file,
  ]);
  return readFile(file);
}
