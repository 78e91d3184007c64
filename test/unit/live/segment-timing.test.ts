import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SegmentStore } from '../../../src/live/segment-store.ts';
import { SegmentTiming } from '../../../src/live/segment-timing.ts';
import {
  ffmpegDashNaming,
  initSegmentTemplate,
  mediaSegmentTemplate,
} from '../../../src/packager/ffmpeg/file-names.ts';
import { ffmpeg } from '../../_setup.ts';

const run = promisify(execFile);

/** Keyframes every 31 frames at 30 fps: segments last 31/30 s although the MPD template says 1 s. */
const gopFrames = 31;
const fps = 30;

let dir: string;
const files = new Map<string, Buffer>();

/**
 * Real CMAF from ffmpeg's dash muxer, with our file names, one chunk per frame as the live packager
 * writes it: a video Representation (0) and an AAC one (1).
 */
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dashrelay-timing-'));
  await run((await ffmpeg()).path, [
    ...['-hide_banner', '-loglevel', 'error', '-nostdin'],
    ...['-f', 'lavfi', '-i', `testsrc2=size=160x120:rate=${fps}`],
    ...['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000'],
    ...['-t', '4', '-map', '0:v', '-map', '1:a'],
    ...['-c:v', 'libx264', '-g', String(gopFrames), '-keyint_min', String(gopFrames), '-sc_threshold', '0'],
    ...['-bf', '0', '-c:a', 'aac'],
    ...['-f', 'dash', '-seg_duration', '1', '-use_template', '1', '-use_timeline', '0'],
    ...['-dash_segment_type', 'mp4', '-frag_type', 'every_frame'],
    ...['-init_seg_name', initSegmentTemplate, '-media_seg_name', mediaSegmentTemplate],
    join(dir, 'manifest.mpd'),
  ]);
  for (const name of await readdir(dir)) {
    if (ffmpegDashNaming.parse(name)) files.set(name, await readFile(join(dir, name)));
  }
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function file(name: string): Buffer {
  const data = files.get(name);
  if (!data) throw new Error(`ffmpeg wrote no ${name}; it wrote ${[...files.keys()].join(', ')}`);
  return data;
}

function mediaNames(representation: number): string[] {
  return [...files.keys()].filter((n) => n.startsWith(`seg-${representation}-`)).sort();
}

/** Writes `name` into `store` in pieces of the given sizes (cycled), the last one whatever is left. */
function upload(
  store: SegmentStore,
  name: string,
  pieceSizes: readonly number[] = [Number.MAX_SAFE_INTEGER],
) {
  const data = file(name);
  const live = store.begin(name);
  if (!live) throw new Error(`${name} is not an ffmpeg segment name`);
  for (let off = 0, i = 0; off < data.length; i++) {
    const size = pieceSizes[i % pieceSizes.length] ?? data.length;
    live.append(data.subarray(off, off + size));
    off += size;
  }
  live.finish();
}

/** Reads one box's field by hand, as an oracle independent of mp4box. */
function boxPayload(data: Buffer, type: string): number {
  const at = data.indexOf(type, 0, 'latin1');
  if (at < 4) throw new Error(`no ${type} box`);
  return at + 4;
}

function timescaleOf(init: Buffer): number {
  const p = boxPayload(init, 'mdhd');
  // FullBox version, flags, then creation/modification times of 4 (v0) or 8 (v1) bytes each.
  return init.readUInt32BE(p + (init[p] === 1 ? 20 : 12));
}

function decodeTimeOf(segment: Buffer): number {
  const p = boxPayload(segment, 'tfdt');
  return segment[p] === 1 ? Number(segment.readBigUInt64BE(p + 4)) : segment.readUInt32BE(p + 4);
}

function expectedMeanSec(representation: number): number {
  const names = mediaNames(representation);
  const first = names[0];
  const last = names.at(-1);
  if (!first || !last || names.length < 2) throw new Error('ffmpeg wrote too few segments');
  const timescale = timescaleOf(file(`init-${representation}.m4s`));
  return (decodeTimeOf(file(last)) - decodeTimeOf(file(first))) / timescale / (names.length - 1);
}

function newTiming(): { store: SegmentStore; timing: SegmentTiming } {
  const store = new SegmentStore('cam', { naming: ffmpegDashNaming });
  return { store, timing: new SegmentTiming(store) };
}

describe('SegmentTiming (real ffmpeg CMAF)', () => {
  it('has the fixture it needs: several segments per representation', () => {
    expect(mediaNames(0).length).toBeGreaterThanOrEqual(3);
    expect(mediaNames(1).length).toBeGreaterThanOrEqual(3);
  });

  it('measures the mean segment duration of each representation from tfdt and the timescale', () => {
    const { store, timing } = newTiming();
    for (const name of ['init-0.m4s', 'init-1.m4s', ...mediaNames(0), ...mediaNames(1)]) upload(store, name);
    const durations = timing.templateDurationsSec();
    expect([...durations.keys()].sort()).toEqual([0, 1]);
    // What the keyframes make of a "1 s" segment, not what the template claims.
    expect(durations.get(0)).toBeCloseTo(gopFrames / fps, 9);
    expect(durations.get(0)).toBeCloseTo(expectedMeanSec(0), 12);
    expect(durations.get(1)).toBeCloseTo(expectedMeanSec(1), 12);
    expect(durations.get(1)).not.toBe(durations.get(0));
  });

  it('needs the init segment and two media segments of a representation', () => {
    const { store, timing } = newTiming();
    const [first, second] = mediaNames(0);
    if (!first || !second) throw new Error('too few segments');
    upload(store, first);
    upload(store, second);
    // No init segment yet: no timescale.
    expect(timing.templateDurationsSec().size).toBe(0);

    const { store: store2, timing: timing2 } = newTiming();
    upload(store2, 'init-0.m4s');
    upload(store2, first);
    expect(timing2.templateDurationsSec().size).toBe(0);
    upload(store2, second);
    expect(timing2.templateDurationsSec().get(0)).toBeCloseTo(gopFrames / fps, 9);
  });

  it('takes the init segment after the media segments too', () => {
    const { store, timing } = newTiming();
    for (const name of mediaNames(0)) upload(store, name);
    upload(store, 'init-0.m4s');
    expect(timing.templateDurationsSec().get(0)).toBeCloseTo(gopFrames / fps, 9);
  });

  it('spans from the lowest to the highest segment number, whatever order they arrive in', () => {
    const { store, timing } = newTiming();
    upload(store, 'init-0.m4s');
    for (const name of [...mediaNames(0)].reverse()) upload(store, name);
    expect(timing.templateDurationsSec().get(0)).toBeCloseTo(expectedMeanSec(0), 12);
  });

  it.each([
    ['1-byte pieces at first', [1, 1, 1, 5, 64, 1000]],
    ['7-byte pieces', [7]],
    ['pieces cutting boxes in odd places', [3, 250, 17, 4096]],
  ])('gives the same result when each file arrives in %s', (_how, pieces) => {
    const whole = newTiming();
    const split = newTiming();
    for (const name of ['init-0.m4s', 'init-1.m4s', ...mediaNames(0), ...mediaNames(1)]) {
      upload(whole.store, name);
      upload(split.store, name, pieces);
    }
    expect(split.timing.templateDurationsSec()).toEqual(whole.timing.templateDurationsSec());
    expect(split.timing.templateDurationsSec().size).toBe(2);
  });

  it('stops listening to a file once it has what it needs', () => {
    const { store } = newTiming();
    const name = mediaNames(0)[0] ?? '';
    const data = file(name);
    const live = store.begin(name);
    live?.append(data.subarray(0, 4096));
    expect(live?.listenerCount('chunk')).toBe(0);
    expect(live?.listenerCount('abort')).toBe(0);
  });
});
