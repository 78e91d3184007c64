import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createFile, MP4BoxBuffer } from 'mp4box';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CmafRetimer, type RetimeOffsets, retimeSegment } from '../../../src/live/cmaf-retime.ts';
import { ffmpeg } from '../../_setup.ts';

const run = promisify(execFile);

let dir: string;
/** A video (Representation 0) and an AAC (Representation 1) media segment, one CMAF chunk per frame. */
let video: Buffer;
let audio: Buffer;

/** Real low-latency CMAF from ffmpeg's dash muxer, as the live packager writes it. */
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dashrelay-retime-'));
  await run((await ffmpeg()).path, [
    ...['-hide_banner', '-loglevel', 'error', '-nostdin'],
    ...['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=30'],
    ...['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000'],
    ...['-t', '3', '-map', '0:v', '-map', '1:a', '-c:v', 'libx264', '-g', '30', '-c:a', 'aac'],
    ...['-f', 'dash', '-ldash', '1', '-streaming', '1', '-seg_duration', '1', '-frag_type', 'every_frame'],
    ...['-use_template', '1', '-use_timeline', '0'],
    ...['-init_seg_name', 'init-$RepresentationID$.m4s'],
    ...['-media_seg_name', 'seg-$RepresentationID$-$Number%05d$.m4s'],
    join(dir, 'manifest.mpd'),
  ]);
  video = await readFile(join(dir, 'seg-0-00002.m4s'));
  audio = await readFile(join(dir, 'seg-1-00002.m4s'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Field {
  readonly type: 'tfdt' | 'mfhd';
  /** Byte offset of the field and its width. */
  readonly at: number;
  readonly bytes: 4 | 8;
}

/** An independent walk: where the tfdt and mfhd fields are (32-bit box sizes, as ffmpeg writes them). */
function fieldsOf(data: Buffer, from = 0, to = data.length): Field[] {
  const found: Field[] = [];
  for (let at = from; at < to; ) {
    const size = data.readUInt32BE(at);
    const type = data.toString('latin1', at + 4, at + 8);
    if (size < 8) throw new Error(`test walk: box size ${size} at ${at}`);
    if (type === 'moof' || type === 'traf') found.push(...fieldsOf(data, at + 8, at + size));
    if (type === 'mfhd') found.push({ type, at: at + 12, bytes: 4 });
    if (type === 'tfdt') found.push({ type, at: at + 12, bytes: data[at + 8] === 1 ? 8 : 4 });
    at += size;
  }
  return found;
}

function read(data: Buffer, f: Field): bigint {
  return f.bytes === 8 ? data.readBigUInt64BE(f.at) : BigInt(data.readUInt32BE(f.at));
}

/** mp4box's reading of every chunk's tfdt and sequence_number. */
function parsed(data: Buffer): { decodeTimes: number[]; sequenceNumbers: number[] } {
  const file = createFile();
  const ab = data.buffer.slice(data.byteOffset, data.byteOffset + data.length) as ArrayBuffer;
  file.appendBuffer(MP4BoxBuffer.fromArrayBuffer(ab, 0));
  return {
    decodeTimes: file.moofs.flatMap((m) => m.trafs.map((t) => t.tfdt.baseMediaDecodeTime)),
    sequenceNumbers: file.moofs.map((m) => m.mfhd.sequence_number),
  };
}

/** Feeds `data` in pieces of the given sizes (the last one whatever is left). */
function stream(data: Buffer, offsets: RetimeOffsets, sizes: Iterable<number>): Buffer {
  const retimer = new CmafRetimer(offsets);
  const out: Buffer[] = [];
  let off = 0;
  for (const size of sizes) {
    if (off >= data.length) break;
    out.push(...retimer.push(data.subarray(off, off + size)));
    off += size;
  }
  if (off < data.length) out.push(...retimer.push(data.subarray(off)));
  out.push(...retimer.end());
  return Buffer.concat(out);
}

/** The first `count` top-level boxes of a segment: a small segment just as valid. */
function firstBoxes(data: Buffer, count: number): Buffer {
  let end = 0;
  for (let i = 0; i < count; i++) end += data.readUInt32BE(end);
  return data.subarray(0, end);
}

/** mulberry32: reproducible piece sizes. */
function* randomSizes(seed: number, max: number): Generator<number> {
  let s = seed >>> 0;
  for (;;) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    yield 1 + (((t ^ (t >>> 14)) >>> 0) % max);
  }
}

/** A box: 32-bit size, type, payload. */
function box(type: string, ...payload: Buffer[]): Buffer {
  const body = Buffer.concat(payload);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(8 + body.length);
  head.write(type, 4, 'latin1');
  return Buffer.concat([head, body]);
}

/** A full box's version, flags and one unsigned field. */
function fullBox(type: string, version: number, value: bigint, bytes: 4 | 8): Buffer {
  const p = Buffer.alloc(4 + bytes);
  p[0] = version;
  if (bytes === 8) p.writeBigUInt64BE(value, 4);
  else p.writeUInt32BE(Number(value), 4);
  return box(type, p);
}

/** A hand-made segment with a version 0 tfdt and two traf in its moof. */
function handMade(decodeTime: number): Buffer {
  const traf = (v: 0 | 1) =>
    box('traf', box('tfhd', Buffer.alloc(8)), fullBox('tfdt', v, BigInt(decodeTime), v === 1 ? 8 : 4));
  return Buffer.concat([
    box('styp', Buffer.from('msdh\0\0\0\0msdh', 'latin1')),
    box('moof', fullBox('mfhd', 0, 7n, 4), traf(0), traf(1)),
    box('mdat', Buffer.from('payload')),
  ]);
}

const offsets = { decodeTimeTicks: 2 ** 40 + 12_345, sequenceNumbers: 1_000 } as const;

describe('retimeSegment (real ffmpeg CMAF)', () => {
  it.each([
    ['video', () => video],
    ['audio', () => audio],
  ])('shifts every tfdt and mfhd of a %s segment by its offset and changes no other byte', (_, segment) => {
    const input = segment();
    const fields = fieldsOf(input);
    // One chunk per frame: many moofs, each with an mfhd and a version 1 tfdt.
    expect(fields.filter((f) => f.type === 'tfdt' && f.bytes === 8).length).toBeGreaterThan(10);
    const output = retimeSegment(input, offsets);

    expect(output.length).toBe(input.length);
    for (const f of fields) {
      const delta = f.type === 'tfdt' ? offsets.decodeTimeTicks : offsets.sequenceNumbers;
      expect(read(output, f)).toBe(read(input, f) + BigInt(delta));
    }
    const restored = Buffer.from(output);
    for (const f of fields) input.copy(restored, f.at, f.at, f.at + f.bytes);
    expect(restored.equals(input)).toBe(true);

    const before = parsed(input);
    const after = parsed(output);
    expect(after.decodeTimes.length).toBe(fields.filter((f) => f.type === 'tfdt').length);
    expect(after.decodeTimes).toEqual(before.decodeTimes.map((t) => t + offsets.decodeTimeTicks));
    expect(after.sequenceNumbers).toEqual(before.sequenceNumbers.map((n) => n + offsets.sequenceNumbers));
  });

  it('leaves its input unmodified', () => {
    const copy = Buffer.from(video);
    retimeSegment(video, offsets);
    expect(video.equals(copy)).toBe(true);
  });

  it('takes a negative offset down to 0, and throws below it', () => {
    const first = parsed(video).decodeTimes[0] ?? 0;
    expect(first).toBeGreaterThan(0);
    expect(parsed(retimeSegment(video, { decodeTimeTicks: -first })).decodeTimes[0]).toBe(0);
    expect(() => retimeSegment(video, { decodeTimeTicks: -first - 1 })).toThrow(/negative/);
    expect(() => retimeSegment(video, { decodeTimeTicks: 0, sequenceNumbers: -1e6 })).toThrow(/negative/);
  });
});

describe('CmafRetimer streaming', () => {
  it('gives the same bytes split at every single point of a segment', () => {
    const small = firstBoxes(audio, 1 + 2 * 4); // styp and 4 chunks
    const whole = retimeSegment(small, offsets);
    for (let cut = 0; cut <= small.length; cut++) {
      const out = stream(small, offsets, [cut]);
      if (!out.equals(whole)) expect.fail(`split at ${cut} differs`);
    }
  });

  it.each([1, 2, 3])('gives the same bytes in random pieces of 1..64 bytes (seed %i)', (seed) => {
    for (const segment of [video, audio]) {
      expect(stream(segment, offsets, randomSizes(seed, 64)).equals(retimeSegment(segment, offsets))).toBe(
        true,
      );
    }
  });

  it('gives the same bytes one byte at a time', () => {
    expect(stream(audio, offsets, randomSizes(0, 1)).equals(retimeSegment(audio, offsets))).toBe(true);
  });

  it('forwards mdat payload bytes before the mdat is complete, and holds a moof until it is', () => {
    const whole = retimeSegment(video, offsets);
    const styp = video.readUInt32BE(0);
    const moof = video.readUInt32BE(styp);
    const mdatAt = styp + moof;
    expect(video.toString('latin1', mdatAt + 4, mdatAt + 8)).toBe('mdat');
    const mdatSize = video.readUInt32BE(mdatAt);

    const retimer = new CmafRetimer(offsets);
    // Half a moof: only the styp is ready.
    expect(Buffer.concat(retimer.push(video.subarray(0, styp + moof / 2)))).toEqual(video.subarray(0, styp));
    const halfMdat = mdatAt + mdatSize / 2;
    const out = Buffer.concat(retimer.push(video.subarray(styp + moof / 2, halfMdat)));
    // The patched moof, the mdat header and half its payload, all without the rest of the mdat.
    expect(out.equals(whole.subarray(styp, halfMdat))).toBe(true);
    expect(Buffer.concat(retimer.push(video.subarray(halfMdat, halfMdat + 1)))).toEqual(
      video.subarray(halfMdat, halfMdat + 1),
    );
  });
});

describe('CmafRetimer errors and edge cases', () => {
  it('throws at end() when the segment ends mid-box', () => {
    const mdatAt = video.readUInt32BE(0) + video.readUInt32BE(video.readUInt32BE(0));
    for (const cut of [3, video.readUInt32BE(0) + 20, mdatAt + 4, mdatAt + 100, video.length - 1]) {
      const retimer = new CmafRetimer(offsets);
      retimer.push(video.subarray(0, cut));
      expect(() => retimer.end(), `cut at ${cut}`).toThrow(/segment ended at byte/);
    }
    expect(() => retimeSegment(video.subarray(0, video.length - 1), offsets)).toThrow(/ended/);
  });

  it('patches a version 0 tfdt when the result fits 32 bits, and every traf of a moof', () => {
    const input = handMade(1_000);
    const output = retimeSegment(input, { decodeTimeTicks: 2 ** 32 - 1_001, sequenceNumbers: 3 });
    const fields = fieldsOf(output);
    expect(fields.map((f) => [f.type, f.bytes, read(output, f)])).toEqual([
      ['mfhd', 4, 10n],
      ['tfdt', 4, 2n ** 32n - 1n],
      ['tfdt', 8, 2n ** 32n - 1n],
    ]);
    expect(output.length).toBe(input.length);
  });

  it('throws when a version 0 tfdt would overflow its 32 bits', () => {
    expect(() => retimeSegment(handMade(1_000), { decodeTimeTicks: 2 ** 32 - 1_000 })).toThrow(
      /does not fit its 32 bits \(a version 0 tfdt\)/,
    );
  });

  it('throws on a box smaller than its header, and on a child box overrunning its moof', () => {
    const tiny = handMade(0);
    tiny.writeUInt32BE(4, 0);
    expect(() => retimeSegment(tiny, offsets)).toThrow(
      /box 'styp' at byte 0 has size 4, less than its 8-byte header/,
    );

    const overrun = handMade(0);
    const moofAt = overrun.readUInt32BE(0);
    overrun.writeUInt32BE(1_000, moofAt + 8); // the mfhd
    expect(() => retimeSegment(overrun, offsets)).toThrow(
      /box 'mfhd' at byte \d+ of size 1000 overruns its container/,
    );
  });

  it('reads a 64-bit largesize and a size 0 box that runs to the end', () => {
    const input = handMade(5);
    const moofAt = input.readUInt32BE(0);
    const moof = input.subarray(moofAt, moofAt + input.readUInt32BE(moofAt));
    // The same moof with a largesize header, then an mdat of size 0 ("to the end").
    const large = Buffer.alloc(16);
    large.writeUInt32BE(1);
    large.write('moof', 4, 'latin1');
    large.writeBigUInt64BE(BigInt(moof.length + 8), 8);
    const mdat = Buffer.concat([
      Buffer.from([0, 0, 0, 0]),
      Buffer.from('mdat', 'latin1'),
      Buffer.alloc(300, 7),
    ]);
    const segment = Buffer.concat([large, moof.subarray(8), mdat]);

    for (const sizes of [[segment.length], randomSizes(9, 5)]) {
      const out = stream(segment, { decodeTimeTicks: 10 }, sizes);
      expect(out.length).toBe(segment.length);
      const tfdts = fieldsOf(out, 16, 16 + moof.length - 8).filter((f) => f.type === 'tfdt');
      expect(tfdts.map((f) => read(out, f))).toEqual([15n, 15n]);
      expect(out.subarray(16 + moof.length - 8).equals(mdat)).toBe(true);
    }
  });

  it('rejects offsets that are not integers', () => {
    expect(() => new CmafRetimer({ decodeTimeTicks: 1.5 })).toThrow(/integers/);
  });
});
