import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { DashrelayError } from '../../../src/errors/errors.ts';
import { startsWithEbmlHeader, startsWithFtyp } from '../../../src/ingest/websocket/messages.ts';
import { FlvDemuxer } from '../../../src/media/flv-demuxer.ts';
import { type DemuxEvent, MatroskaDemuxer } from '../../../src/media/matroska-demuxer.ts';
import { Mp4Demuxer } from '../../../src/media/mp4-demuxer.ts';
import { fixture } from '../../_setup.ts';
import { generate } from './_containers.ts';

/**
 * Property-based tests (fast-check) of every parser the server runs on publisher bytes: whatever
 * arrives, in whatever split, push() never throws, reports at most one error and nothing after it,
 * and a valid stream gives the same frames however it is cut. Runs are bounded so the file takes
 * seconds, not minutes.
 */

interface Demuxer {
  push(chunk: Buffer): readonly DemuxEvent[];
}
const maxElementBytes = 256 * 1024;
const demuxers: Record<string, () => Demuxer> = {
  matroska: () => new MatroskaDemuxer({ maxElementBytes }),
  flv: () => new FlvDemuxer({ maxElementBytes }),
  mp4: () => new Mp4Demuxer({ maxElementBytes }),
};
const samples: Record<string, Buffer> = {};

/** Feeds `data` cut at `cuts` (positions, any order, may repeat); every event in order. */
function feed(d: Demuxer, data: Buffer, cuts: readonly number[]): DemuxEvent[] {
  const at = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
  const out: DemuxEvent[] = [];
  let from = 0;
  for (const to of [...at, data.length]) {
    out.push(...d.push(data.subarray(from, to)));
    from = to;
  }
  return out;
}

const frameKey = (events: readonly DemuxEvent[]) =>
  events.flatMap((e) =>
    e.type === 'frame'
      ? [`${e.frame.trackId}:${e.frame.timestampMs}:${e.frame.keyframe}:${e.frame.data.length}`]
      : [],
  );

/** At most one error, a coded DashrelayError, and nothing after it. */
function expectWellBehaved(events: readonly DemuxEvent[]): void {
  const firstError = events.findIndex((e) => e.type === 'error');
  if (firstError < 0) return;
  expect(firstError).toBe(events.length - 1);
  const last = events[firstError];
  expect(last?.type === 'error' && last.error).toBeInstanceOf(DashrelayError);
  expect(last?.type === 'error' && last.error.code).toMatch(/^DR_ERR_MEDIA_/);
}

/** A byte-level change to a valid stream: flip, overwrite, insert, delete or truncate. */
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({
    kind: fc.constant('set' as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
  }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }),
  }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

function mutate(data: Buffer, changes: readonly Mutation[]): Buffer {
  let out = Buffer.from(data);
  for (const c of changes) {
    const at = out.length === 0 ? 0 : c.at % out.length;
    if (c.kind === 'flip') out[at] = (out[at] ?? 0) ^ (1 << c.bit);
    else if (c.kind === 'set') out.set(c.bytes.subarray(0, out.length - at), at);
    else if (c.kind === 'insert')
      out = Buffer.concat([out.subarray(0, at), Buffer.from(c.bytes), out.subarray(at)]);
    else if (c.kind === 'delete') out = Buffer.concat([out.subarray(0, at), out.subarray(at + c.count)]);
    else out = out.subarray(0, at);
  }
  return out;
}

describe('publisher-byte parsers under fast-check', () => {
  beforeAll(async () => {
    // The first ~100 kB of real streams: headers, tracks and the first frames of each container.
    samples.matroska = (await fixture('h264-opus', 2)).subarray(0, 100_000);
    samples.flv = (await generate('flv')).subarray(0, 100_000);
    samples.mp4 = (await generate('mp4')).subarray(0, 100_000);
  });

  describe.each(Object.keys(demuxers))('%s', (name) => {
    const make = demuxers[name] as () => Demuxer;

    it('gives the same frames however a valid stream is split', () => {
      const data = samples[name] as Buffer;
      const whole = feed(make(), data, []);
      expect(whole.some((e) => e.type === 'error')).toBe(false);
      const expected = frameKey(whole);
      expect(expected.length).toBeGreaterThan(10);
      fc.assert(
        fc.property(fc.array(fc.nat(), { maxLength: 200 }), (cuts) => {
          const events = feed(make(), data, cuts);
          expect(events.some((e) => e.type === 'error')).toBe(false);
          expect(frameKey(events)).toEqual(expected);
        }),
        { numRuns: 40 },
      );
    });

    it('never throws on a mutated stream, reports at most one coded error and nothing after it', () => {
      const data = samples[name] as Buffer;
      fc.assert(
        fc.property(
          fc.array(mutation, { minLength: 1, maxLength: 6 }),
          fc.array(fc.nat(), { maxLength: 50 }),
          (changes, cuts) => {
            const events = feed(make(), mutate(data, changes), cuts);
            expectWellBehaved(events);
          },
        ),
        { numRuns: 150 },
      );
    });

    it('never throws on random bytes, and finds no frames in them', () => {
      fc.assert(
        fc.property(
          fc.uint8Array({ maxLength: 4096 }),
          fc.array(fc.nat(), { maxLength: 20 }),
          (bytes, cuts) => {
            const events = feed(make(), Buffer.from(bytes), cuts);
            expectWellBehaved(events);
          },
        ),
        { numRuns: 300 },
      );
    });
  });

  it('refuses a Matroska element that declares more than the limit at its header, before buffering it', () => {
    const data = samples.matroska as Buffer;
    // The real header and tracks, then a SimpleBlock (0xA3) in an unknown-size Cluster declaring 256 MiB.
    const firstCluster = data.indexOf(Buffer.from([0x1f, 0x43, 0xb6, 0x75]));
    expect(firstCluster).toBeGreaterThan(0);
    const head = data.subarray(0, firstCluster);
    const cluster = Buffer.from([0x1f, 0x43, 0xb6, 0x75, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    const timestamp = Buffer.from([0xe7, 0x81, 0x00]);
    const hugeBlock = Buffer.from([0xa3, 0x10, 0x00, 0x00, 0x00]); // 4-byte size: 256 MiB
    const d = new MatroskaDemuxer({ maxElementBytes });
    d.push(head);
    const events = d.push(Buffer.concat([cluster, timestamp, hugeBlock]));
    expect(events.at(-1)).toMatchObject({ type: 'error', error: { code: 'DR_ERR_MEDIA_MALFORMED' } });
    expect(d.push(Buffer.alloc(1024 * 1024))).toEqual([]);
  });

  it('the header checks of the WebSocket ingest never throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const b = Buffer.from(bytes);
        expect(typeof startsWithEbmlHeader(b)).toBe('boolean');
        expect(typeof startsWithFtyp(b)).toBe('boolean');
      }),
      { numRuns: 500 },
    );
  });
});
