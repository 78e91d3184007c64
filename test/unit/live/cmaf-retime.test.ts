import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CmafRetimer, retimeSegment } from '../../../src/live/cmaf-retime.ts';

/** Every tfdt and mfhd value of a segment with its byte offset, by an independent box walk. */
function fields(segment: Buffer): {
  tfdt: { at: number; value: bigint }[];
  mfhd: { at: number; value: number }[];
} {
  const tfdt: { at: number; value: bigint }[] = [];
  const mfhd: { at: number; value: number }[] = [];
  const walk = (from: number, to: number): void => {
    for (let at = from; at + 8 <= to; ) {
      const size = segment.readUInt32BE(at);
      const type = segment.toString('latin1', at + 4, at + 8);
      if (type === 'tfdt') {
        const v1 = segment[at + 8] === 1;
        tfdt.push({
          at: at + 12,
          value: v1 ? segment.readBigUInt64BE(at + 12) : BigInt(segment.readUInt32BE(at + 12)),
        });
      }
      if (type === 'mfhd') mfhd.push({ at: at + 12, value: segment.readUInt32BE(at + 12) });
      if (type === 'moof' || type === 'traf') walk(at + 8, at + size);
      at += size;
    }
  };
  walk(0, segment.length);
  return { tfdt, mfhd };
}

/** A seeded generator of piece sizes, so a failure replays. */
function pieces(buf: Buffer, seed: number, max: number): Buffer[] {
  let x = seed;
  const out: Buffer[] = [];
  for (let at = 0; at < buf.length; ) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    const n = 1 + (x % max);
    out.push(buf.subarray(at, at + n));
    at += n;
  }
  return out;
}

let dir: string;
let video: Buffer;
let audio: Buffer;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'retime-'));
  // What the packager writes: low-latency dashenc, one CMAF chunk per frame, 1 s segments.
  execFileSync('ffmpeg', [
    ...['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=30'],
    ...['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', '3', '-map', '0:v', '-map', '1:a'],
    ...['-c:v', 'libx264', '-g', '30', '-c:a', 'aac', '-f', 'dash', '-ldash', '1', '-streaming', '1'],
    ...['-seg_duration', '1', '-frag_type', 'every_frame', '-use_template', '1', '-use_timeline', '0'],
    ...[
      '-init_seg_name',
      'init-$RepresentationID$.m4s',
      '-media_seg_name',
      'seg-$RepresentationID$-$Number%05d$.m4s',
    ],
    join(dir, 'manifest.mpd'),
  ]);
  video = readFileSync(join(dir, 'seg-0-00002.m4s'));
  audio = readFileSync(join(dir, 'seg-1-00002.m4s'));
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('CmafRetimer', () => {
  it('adds the offsets to every tfdt and mfhd and changes no other byte', () => {
    for (const segment of [video, audio]) {
      const before = fields(segment);
      expect(before.tfdt.length).toBeGreaterThan(1); // one per CMAF chunk
      const out = retimeSegment(segment, { decodeTimeTicks: 7 * 15360, sequenceNumbers: 1000 });
      expect(out.length).toBe(segment.length);
      const after = fields(out);
      expect(after.tfdt.map((f) => f.value)).toEqual(before.tfdt.map((f) => f.value + BigInt(7 * 15360)));
      expect(after.mfhd.map((f) => f.value)).toEqual(before.mfhd.map((f) => f.value + 1000));
      const patched = new Set([
        ...before.tfdt.flatMap((f) => range(f.at, 8)),
        ...before.mfhd.flatMap((f) => range(f.at, 4)),
      ]);
      for (let i = 0; i < segment.length; i++) if (!patched.has(i)) expect(out[i]).toBe(segment[i]);
      // The packager's bytes, shared by every viewer, are never written to.
      expect(fields(segment).tfdt).toEqual(before.tfdt);
    }
  });

  it('gives the same bytes however the segment is cut into pieces', () => {
    const whole = retimeSegment(video, { decodeTimeTicks: 123_456 });
    for (const [seed, max] of [
      [1, 1],
      [2, 7],
      [3, 64],
      [4, 5000],
    ] as const) {
      const r = new CmafRetimer({ decodeTimeTicks: 123_456 });
      const out = [...pieces(video, seed, max).flatMap((p) => r.push(p)), ...r.end()];
      expect(Buffer.concat(out).equals(whole)).toBe(true);
    }
  });

  it('forwards media data as it comes, before its mdat is complete', () => {
    const mdat = video.indexOf('mdat', 0, 'latin1') - 4;
    const size = video.readUInt32BE(mdat);
    const r = new CmafRetimer({ decodeTimeTicks: 1 });
    const out = Buffer.concat(r.push(video.subarray(0, mdat + 8 + Math.floor((size - 8) / 2))));
    expect(out.length).toBe(mdat + 8 + Math.floor((size - 8) / 2));
  });

  it('throws on a segment cut inside a box, a negative result, and a version 0 overflow', () => {
    const r = new CmafRetimer({ decodeTimeTicks: 0 });
    r.push(video.subarray(0, video.length - 3));
    expect(() => r.end()).toThrow(/ended inside a box/);
    expect(() => retimeSegment(video, { decodeTimeTicks: -1e12 })).toThrow(/negative/);
    const v0 = Buffer.from(video);
    const first = fields(v0).tfdt[0];
    if (!first) throw new Error('no tfdt');
    // Turn the first tfdt into version 0 with a 32-bit time (and a shorter box, as a packager writing v0 would).
    const box = first.at - 12;
    const v0box = Buffer.alloc(16);
    v0box.writeUInt32BE(16, 0);
    v0box.write('tfdt', 4, 'latin1');
    v0box.writeUInt32BE(0xfffffff0, 12);
    const moofStart = v0.indexOf('moof', 0, 'latin1') - 4;
    const moofSize = v0.readUInt32BE(moofStart);
    const trafStart = v0.indexOf('traf', 0, 'latin1') - 4;
    const trafSize = v0.readUInt32BE(trafStart);
    const edited = Buffer.concat([v0.subarray(0, box), v0box, v0.subarray(box + 20)]);
    edited.writeUInt32BE(moofSize - 4, moofStart);
    edited.writeUInt32BE(trafSize - 4, trafStart);
    expect(() =>
      retimeSegment(edited.subarray(0, moofStart + moofSize - 4), { decodeTimeTicks: 100 }),
    ).toThrow(/version 0/);
  });
});

function range(from: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => from + i);
}
