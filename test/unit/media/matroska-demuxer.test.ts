import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DemuxEvent, MatroskaDemuxer } from '../../../src/media/matroska-demuxer.ts';
import type { MediaFrame, MediaTrack } from '../../../src/media/types.ts';
import { type FixtureKind, ffmpeg, fixture } from '../../_setup.ts';
import {
  audioEntry,
  blockBody,
  ebmlHeader,
  el,
  elUnknown,
  id,
  liveHead,
  noise,
  simpleBlock,
  sizeVint,
  str,
  uint,
  unknownSize,
  videoEntry,
} from './_ebml.ts';

const run = promisify(execFile);

interface Demuxed {
  tracks: MediaTrack[][];
  frames: MediaFrame[];
  errors: string[];
}

function collect(events: readonly DemuxEvent[], into: Demuxed): Demuxed {
  for (const ev of events) {
    if (ev.type === 'tracks') into.tracks.push([...ev.tracks]);
    else if (ev.type === 'frame') into.frames.push(ev.frame);
    else into.errors.push(`${ev.error.code}: ${ev.error.message}`);
  }
  return into;
}

/** Demuxes `data` cut into the given piece lengths (the rest in one piece), then ends the stream. */
function demux(data: Buffer, pieces: Iterable<number> = [], options = {}): Demuxed {
  const d = new MatroskaDemuxer(options);
  const out: Demuxed = { tracks: [], frames: [], errors: [] };
  let off = 0;
  for (const n of pieces) {
    if (off >= data.length) break;
    collect(d.push(data.subarray(off, off + n)), out);
    off += n;
  }
  if (off < data.length) collect(d.push(data.subarray(off)), out);
  collect(d.end(), out);
  return out;
}

function* ones(): Generator<number> {
  for (;;) yield 1;
}

/** Piece lengths from 1 byte to 3 000, seeded, so a failure reproduces. */
function* randomSplits(seed: number): Generator<number> {
  let x = seed >>> 0;
  for (;;) {
    x = (Math.imul(x, 1_103_515_245) + 12_345) >>> 0;
    const r = x >>> 8;
    yield r % 4 === 0 ? 1 + (r % 7) : 1 + (r % 3000);
  }
}

interface ProbePacket {
  stream_index: number;
  pts_time: string;
  flags: string;
  size: string;
}
interface ProbeStream {
  index: number;
  codec_name: string;
  codec_type: string;
  width?: number;
  height?: number;
  sample_rate?: string;
  channels?: number;
  nb_read_packets: string;
}
interface Probe {
  streams: ProbeStream[];
  packets: ProbePacket[];
}

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dashrelay-demux-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** ffprobe's view of the same bytes: the reference the demuxer is held to. */
async function probe(data: Buffer, name: string): Promise<Probe> {
  const file = join(dir, name);
  await writeFile(file, data);
  const ffmpegPath = (await ffmpeg()).path;
  const sibling = join(dirname(ffmpegPath), 'ffprobe');
  const ffprobe = existsSync(sibling) ? sibling : 'ffprobe';
  const { stdout } = await run(
    ffprobe,
    [
      ...['-v', 'error', '-count_packets', '-of', 'json'],
      '-show_entries',
      'stream=index,codec_name,codec_type,width,height,sample_rate,channels,nb_read_packets:packet=stream_index,pts_time,flags,size',
      file,
    ],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  return JSON.parse(stdout) as Probe;
}

const ffprobeCodec: Record<string, string> = { h264: 'h264', vp8: 'vp8', opus: 'opus' };

/** A comparable digest of the frames: everything but the payload bytes, which are compared by length. */
function summary(frames: MediaFrame[]): string[] {
  return frames.map(
    (f) => `${f.trackId} ${f.timestampMs} ${f.keyframe} ${f.data.length} ${f.data.readUInt32BE(0)}`,
  );
}

/** Whether both runs carry the same payload bytes (Buffer#equals: vitest's deep equality walks each byte). */
function sameBytes(a: MediaFrame[], b: MediaFrame[]): boolean {
  return a.length === b.length && a.every((f, i) => f.data.equals((b[i] as MediaFrame).data));
}

describe.each<[FixtureKind, number, number]>([
  ['h264-opus', 4, 0],
  ['vp8-opus', 4, 0],
  ['h264', 4, 5],
])('MatroskaDemuxer on ffmpeg %s (%ss from %ss)', (kind, seconds, startS) => {
  let data: Buffer;
  let ref: Probe;
  let whole: Demuxed;
  beforeAll(async () => {
    data = await fixture(kind, seconds, startS);
    ref = await probe(data, `${kind}-${startS}.mkv`);
    whole = demux(data);
  });

  it('reports the tracks and codecs ffprobe sees, once', () => {
    expect(whole.errors).toEqual([]);
    expect(whole.tracks).toHaveLength(1);
    const tracks = whole.tracks[0] ?? [];
    expect(tracks.map((t) => t.kind)).toEqual(ref.streams.map((s) => s.codec_type));
    for (const [i, track] of tracks.entries()) {
      const s = ref.streams[i] as ProbeStream;
      expect(ffprobeCodec[track.codec]).toBe(s.codec_name);
      if (track.kind === 'video') {
        expect([track.width, track.height]).toEqual([s.width, s.height]);
        if (track.codec === 'h264') expect(track.codecPrivate?.[0]).toBe(1); // avcC configurationVersion
      } else {
        expect([track.sampleRate, track.channels]).toEqual([Number(s.sample_rate), s.channels]);
        expect(track.codecPrivate?.subarray(0, 8).toString()).toBe('OpusHead');
      }
    }
  });

  it('gives as many frames per track as ffprobe counts packets, with its keyframes, sizes and pts', () => {
    const tracks = whole.tracks[0] ?? [];
    for (const [i, track] of tracks.entries()) {
      const frames = whole.frames.filter((f) => f.trackId === track.id);
      const packets = ref.packets.filter((p) => p.stream_index === i);
      expect(frames.length).toBe(Number(ref.streams[i]?.nb_read_packets));
      expect(frames.length).toBe(packets.length);
      expect(frames.every((f) => f.kind === track.kind)).toBe(true);
      expect(frames.map((f) => f.keyframe)).toEqual(packets.map((p) => p.flags.includes('K')));
      expect(frames.map((f) => f.data.length)).toEqual(packets.map((p) => Number(p.size)));
      for (const [k, f] of frames.entries()) {
        expect(Math.abs(f.timestampMs - Number(packets[k]?.pts_time) * 1000)).toBeLessThanOrEqual(1);
      }
    }
    expect(whole.frames.filter((f) => f.kind === 'video' && f.keyframe).length).toBeGreaterThanOrEqual(
      seconds,
    );
  });

  it('gives the same frames when the bytes come one at a time', () => {
    const bytewise = demux(data, ones());
    expect(bytewise.errors).toEqual([]);
    expect(bytewise.tracks).toEqual(whole.tracks);
    expect(summary(bytewise.frames)).toEqual(summary(whole.frames));
    expect(sameBytes(bytewise.frames, whole.frames)).toBe(true);
  });

  it.each([1, 2, 3])('gives the same frames in random splits (seed %i)', (seed) => {
    const split = demux(data, randomSplits(seed));
    expect(split.errors).toEqual([]);
    expect(split.tracks).toEqual(whole.tracks);
    expect(summary(split.frames)).toEqual(summary(whole.frames));
    expect(sameBytes(split.frames, whole.frames)).toBe(true);
  });
});

describe('MatroskaDemuxer frames', () => {
  it('hands out a frame within one chunk as a view of it, and joins only a frame split across chunks', () => {
    const head = liveHead();
    const payload = Buffer.from('0123456789abcdef');
    const cluster = Buffer.concat([
      elUnknown(id.Cluster),
      uint(id.Timestamp, 0),
      simpleBlock(1, 0, 0x80, payload),
      simpleBlock(1, 33, 0, payload),
    ]);
    const d = new MatroskaDemuxer();
    d.push(head);
    const cut = cluster.length - 5; // inside the second block's payload
    const first = cluster.subarray(0, cut);
    const a = d.push(first);
    const b = d.push(cluster.subarray(cut));
    const [fa] = a.flatMap((e) => (e.type === 'frame' ? [e.frame] : []));
    const [fb] = b.flatMap((e) => (e.type === 'frame' ? [e.frame] : []));
    expect(fa?.data.buffer).toBe(first.buffer);
    expect(fa?.data).toEqual(payload);
    expect(fb?.data).toEqual(payload);
    expect(fb?.timestampMs).toBe(33);
  });

  it('reads sized and unknown-size Clusters, BlockGroups (keyframe = no ReferenceBlock) and skips what it does not need', () => {
    const stream = Buffer.concat([
      liveHead([videoEntry(1), audioEntry(2)]),
      el(id.Cues, el(0xbb, uint(0xb3, 0))), // a Cues element is streamed past
      el(id.Void, Buffer.alloc(10)),
      el(
        id.Cluster,
        uint(id.Timestamp, 1000),
        el(id.CRC32, Buffer.alloc(4)),
        simpleBlock(1, 0, 0x80, Buffer.from('key')),
        el(id.BlockGroup, el(id.Block, blockBody(2, 5, 0, Buffer.from('opus')))),
        el(
          id.BlockGroup,
          el(id.Block, blockBody(1, 33, 0, Buffer.from('delta'))),
          uint(id.ReferenceBlock, 0xff),
        ),
      ),
      elUnknown(id.Cluster),
      uint(id.Timestamp, 2000),
      el(0x5854, Buffer.alloc(2)), // SilentTracks: a Cluster child the demuxer does not read
      simpleBlock(1, -10, 0, Buffer.from('early')),
      elUnknown(id.Cluster), // the next Cluster ends the unknown-size one
      uint(id.Timestamp, 3000),
      simpleBlock(2, 0, 0x80, Buffer.from('last')),
    ]);
    for (const pieces of [[], ones()]) {
      const out = demux(stream, pieces);
      expect(out.errors).toEqual([]);
      expect(out.tracks[0]?.map((t) => [t.id, t.kind, t.codec])).toEqual([
        [1, 'video', 'vp8'],
        [2, 'audio', 'opus'],
      ]);
      expect(out.tracks[0]?.[0]).toMatchObject({ width: 640, height: 360 });
      expect(out.tracks[0]?.[1]).toMatchObject({ sampleRate: 48_000, channels: 2 });
      expect(
        out.frames.map((f) => [f.trackId, f.kind, f.timestampMs, f.keyframe, f.data.toString()]),
      ).toEqual([
        [1, 'video', 1000, true, 'key'],
        [2, 'audio', 1005, true, 'opus'],
        [1, 'video', 1033, false, 'delta'],
        [1, 'video', 1990, false, 'early'],
        [2, 'audio', 3000, true, 'last'],
      ]);
    }
  });

  it('scales timestamps by TimestampScale and subtracts CodecDelay', () => {
    const stream = Buffer.concat([
      liveHead([audioEntry(1, uint(0x56aa, 6_500_000))], 100_000), // 0.1 ms ticks, 6.5 ms codec delay
      elUnknown(id.Cluster),
      uint(id.Timestamp, 10_000),
      simpleBlock(1, 205, 0x80, Buffer.from('a')),
    ]);
    expect(demux(stream).frames.map((f) => f.timestampMs)).toEqual([(10_000 + 205) * 0.1 - 6.5]);
  });

  it('ignores blocks of declared tracks that are neither video nor audio', () => {
    const subtitles = el(
      id.TrackEntry,
      uint(id.TrackNumber, 3),
      uint(id.TrackType, 17),
      str(id.CodecID, 'S_TEXT/UTF8'),
    );
    const stream = Buffer.concat([
      liveHead([videoEntry(1), subtitles]),
      elUnknown(id.Cluster),
      uint(id.Timestamp, 0),
      simpleBlock(3, 0, 0x80, Buffer.from('hello')),
      simpleBlock(1, 0, 0x80, Buffer.from('v')),
    ]);
    const out = demux(stream);
    expect(out.errors).toEqual([]);
    expect(out.tracks[0]?.map((t) => t.id)).toEqual([1]);
    expect(out.frames.map((f) => f.trackId)).toEqual([1]);
  });

  it('starts over on a second EBML document (a new header and Segment)', () => {
    const doc = (codec: string): Buffer =>
      Buffer.concat([
        ebmlHeader('matroska'),
        elUnknown(id.Segment),
        el(
          id.Tracks,
          el(id.TrackEntry, uint(id.TrackNumber, 1), uint(id.TrackType, 1), str(id.CodecID, codec)),
        ),
        elUnknown(id.Cluster),
        uint(id.Timestamp, 0),
        simpleBlock(1, 0, 0x80, Buffer.from('x')),
      ]);
    const out = demux(Buffer.concat([doc('V_VP8'), doc('V_MPEG4/ISO/AVC')]));
    expect(out.errors).toEqual([]);
    expect(out.tracks.map((t) => t[0]?.codec)).toEqual(['vp8', 'h264']);
    expect(out.frames).toHaveLength(2);
  });
});

describe('MatroskaDemuxer lacing (RFC 9559 §10.3)', () => {
  const sizes = [300, 5, 260];
  const frames = sizes.map((n, i) => Buffer.alloc(n, 0x41 + i));
  const withDuration = liveHead([audioEntry(1, uint(id.DefaultDuration, 20_000_000))]);
  const clusterStart = Buffer.concat([elUnknown(id.Cluster), uint(id.Timestamp, 100)]);

  function laced(flags: number, lacingHead: Buffer): Buffer {
    return simpleBlock(1, 0, 0x80 | flags, Buffer.from([frames.length - 1]), lacingHead, ...frames);
  }

  it.each([
    // Xiph: 300 = 255 + 45, then 5; the last size is what remains
    ['Xiph', laced(0x02, Buffer.from([0xff, 45, 5]))],
    // EBML: 300 as a 2-byte VINT (0x412C), then 5 − 300 = −295 as a signed 2-byte VINT (0x5ED8)
    ['EBML', laced(0x06, Buffer.from([0x41, 0x2c, 0x5e, 0xd8]))],
  ])('splits %s lacing into frames spaced by DefaultDuration', (_name, block) => {
    const out = demux(Buffer.concat([withDuration, clusterStart, block]));
    expect(out.errors).toEqual([]);
    expect(out.frames.map((f) => f.data)).toEqual(frames);
    expect(out.frames.map((f) => f.timestampMs)).toEqual([100, 120, 140]);
    expect(out.frames.every((f) => f.keyframe)).toBe(true);
  });

  it('splits fixed-size lacing', () => {
    const same = [Buffer.from('aaaa'), Buffer.from('bbbb'), Buffer.from('cccc')];
    const block = simpleBlock(1, 0, 0x84, Buffer.from([2]), ...same);
    const out = demux(Buffer.concat([withDuration, clusterStart, block]));
    expect(out.frames.map((f) => f.data.toString())).toEqual(['aaaa', 'bbbb', 'cccc']);
  });

  it('spaces laced frames by BlockDuration when the track has no DefaultDuration', () => {
    const group = el(
      id.BlockGroup,
      el(id.Block, blockBody(1, 0, 0x04, Buffer.from([2]), Buffer.from('aabbcc'))),
      uint(id.BlockDuration, 60),
    );
    const out = demux(Buffer.concat([liveHead([audioEntry(1)]), clusterStart, group]));
    expect(out.errors).toEqual([]);
    expect(out.frames.map((f) => [f.timestampMs, f.data.toString()])).toEqual([
      [100, 'aa'],
      [120, 'bb'],
      [140, 'cc'],
    ]);
  });
});

const maxElementBytes = 4 * 1024 * 1024;
const liveCluster = Buffer.concat([liveHead(), elUnknown(id.Cluster), uint(id.Timestamp, 0)]);

describe('MatroskaDemuxer on malformed input', () => {
  const cases: [string, Buffer, RegExp, { end?: boolean }?][] = [
    ['text, not EBML', Buffer.from('definitely not EBML, just text'), /no EBML header/],
    ['an MP4 file', Buffer.from('0000001c667479706d703432', 'hex'), /no EBML header/],
    ['a Segment with no EBML header before it', Buffer.concat([elUnknown(id.Segment)]), /no EBML header/],
    ['a size VINT of first byte 0x00', Buffer.from('1a45dfa300', 'hex'), /invalid size VINT/],
    ['a VINT the stream ends in', Buffer.from('1a45dfa301ff', 'hex'), /ends inside/, { end: true }],
    [
      'an ID longer than 4 bytes',
      Buffer.concat([ebmlHeader(), Buffer.from('0811223344', 'hex')]),
      /invalid element ID/,
    ],
    [
      'a reserved ID (0xFF)',
      Buffer.concat([liveHead(), Buffer.from('ff80', 'hex')]),
      /invalid element ID 0xFF/,
    ],
    [
      `an element over maxElementBytes (${maxElementBytes}), reported from its header on`,
      Buffer.concat([liveCluster, Buffer.from([0xa3]), sizeVint(maxElementBytes + 1), Buffer.alloc(100)]),
      /SimpleBlock .* declares 4194305 bytes, over the 4194304-byte limit/,
    ],
    ['garbage after a valid EBML header', Buffer.concat([ebmlHeader(), noise(256)]), /./, { end: true }],
    ['garbage inside a live Cluster', Buffer.concat([liveCluster, noise(64 * 1024)]), /./, { end: true }],
    [
      'an element overrunning its parent',
      Buffer.concat([Buffer.from('1a45dfa384', 'hex'), str(id.DocType, 'webm')]),
      /DocType at byte 5 overruns its parent EBML/,
    ],
    [
      'a block for a track the Tracks element does not declare',
      Buffer.concat([liveCluster, simpleBlock(2, 0, 0x80, Buffer.from('x'))]),
      /track 2, which the Tracks element does not declare/,
    ],
    ['a DocType that is not Matroska', el(id.EBML, str(id.DocType, 'mp4')), /DocType "mp4"/],
    ['an EBML header without DocType', el(id.EBML, uint(0x4286, 1)), /without DocType/],
    [
      'an unknown-size Info',
      Buffer.concat([ebmlHeader(), elUnknown(id.Segment), elUnknown(id.Info)]),
      /Info at byte \d+ has an unknown size/,
    ],
    [
      'a block before its Cluster Timestamp',
      Buffer.concat([liveHead(), elUnknown(id.Cluster), simpleBlock(1, 0, 0x80, Buffer.from('x'))]),
      /before its Cluster's Timestamp/,
    ],
    [
      'a track with ContentEncodings',
      liveHead([videoEntry(1, el(id.ContentEncodings, el(0x6240, uint(0x5031, 1))))]),
      /track 1 uses ContentEncoding/,
    ],
    ['two tracks with one number', liveHead([videoEntry(1), audioEntry(1)]), /repeats track number 1/],
    [
      'a track without CodecID',
      liveHead([el(id.TrackEntry, uint(id.TrackNumber, 1), uint(id.TrackType, 1))]),
      /no CodecID/,
    ],
    [
      'a SimpleBlock too short for its header',
      Buffer.concat([liveCluster, el(id.SimpleBlock, Buffer.from([0x81, 0]))]),
      /truncated block/,
    ],
    [
      'laced frames without DefaultDuration or BlockDuration',
      Buffer.concat([liveCluster, simpleBlock(1, 0, 0x84, Buffer.from([1]), Buffer.from('aabb'))]),
      /timestamps are unknown/,
    ],
    [
      'Xiph lace sizes past the block',
      Buffer.concat([liveCluster, simpleBlock(1, 0, 0x82, Buffer.from([1, 200]), Buffer.from('ab'))]),
      /lace sizes exceed the block/,
    ],
    [
      'fixed-size lacing that does not divide',
      Buffer.concat([liveCluster, simpleBlock(1, 0, 0x84, Buffer.from([1]), Buffer.from('abc'))]),
      /do not split into 2 equal frames/,
    ],
    [
      'a stream cut inside a Block',
      Buffer.concat([liveCluster, simpleBlock(1, 0, 0x80, Buffer.alloc(50))]).subarray(0, -10),
      /ends inside SimpleBlock/,
      { end: true },
    ],
    [
      'a non-master element of unknown size',
      Buffer.concat([liveCluster, Buffer.from([0xa3]), unknownSize]),
      /SimpleBlock .* unknown size/,
    ],
    [
      'a TimestampScale of 0',
      Buffer.concat([
        ebmlHeader(),
        elUnknown(id.Segment),
        el(id.Info, el(id.TimestampScale, Buffer.from([0]))),
      ]),
      /TimestampScale 0/,
    ],
  ];

  it.each(cases)('%s → DR_ERR_MEDIA_MALFORMED, no throw', (_name, bytes, message, opts) => {
    for (const pieces of [[], ones()]) {
      const d = new MatroskaDemuxer({ maxElementBytes });
      const events: DemuxEvent[] = [];
      let off = 0;
      for (const n of pieces) {
        if (off >= bytes.length) break;
        events.push(...d.push(bytes.subarray(off, off + n)));
        off += n;
      }
      if (off < bytes.length) events.push(...d.push(bytes.subarray(off)));
      if (opts?.end) events.push(...d.end());
      const errors = events.flatMap((e) => (e.type === 'error' ? [e.error] : []));
      expect(errors).toHaveLength(1);
      expect(errors[0]?.code).toBe('DR_ERR_MEDIA_MALFORMED');
      expect(errors[0]?.message).toMatch(/^Malformed media from the publisher: /);
      expect(errors[0]?.message).toMatch(message);
      expect(d.error).toBe(errors[0]);
      // Stopped: valid media after the error is ignored, not parsed.
      expect(d.push(Buffer.concat([liveCluster, simpleBlock(1, 0, 0x80, Buffer.from('x'))]))).toEqual([]);
      expect(d.end()).toEqual([]);
    }
  });

  it('refuses an oversize element before its body arrives (nothing is buffered)', () => {
    const d = new MatroskaDemuxer({ maxElementBytes: 1000 });
    d.push(liveCluster);
    const events = d.push(Buffer.concat([Buffer.from([0xa3]), sizeVint(1001)]));
    expect(events.map((e) => e.type)).toEqual(['error']);
  });

  it('applies maxElementBytes to real frames', async () => {
    const out = demux(await fixture('h264-opus'), [], { maxElementBytes: 1000 });
    expect(out.errors).toHaveLength(1);
    expect(out.errors[0]).toMatch(/SimpleBlock at byte \d+ declares \d+ bytes, over the 1000-byte limit/);
  });

  it('accepts a stream that ends between the elements of an unknown-size Cluster', () => {
    const out = demux(Buffer.concat([liveCluster, simpleBlock(1, 0, 0x80, Buffer.from('x'))]));
    expect(out.errors).toEqual([]);
    expect(out.frames).toHaveLength(1);
  });
});
