import { describe, expect, it } from 'vitest';
import type { DashrelayError } from '../../../src/errors/errors.ts';
import { DemuxSink } from '../../../src/media/demux-sink.ts';
import type { MediaFrame, MediaTrack } from '../../../src/media/types.ts';
import { fixture } from '../../_setup.ts';
import { elUnknown, id, liveHead, simpleBlock, uint } from './_ebml.ts';

const stream = Buffer.concat([
  liveHead(),
  elUnknown(id.Cluster),
  uint(id.Timestamp, 0),
  simpleBlock(1, 0, 0x80, Buffer.from('a')),
  simpleBlock(1, 33, 0, Buffer.from('b')),
  simpleBlock(1, 67, 0, Buffer.from('c')),
]);

describe('DemuxSink', () => {
  it('fans every frame out to every listener; a throwing listener stops neither the others nor the tee', () => {
    const thrown: [unknown, string][] = [];
    const sink = new DemuxSink({ onListenerError: (err, event) => thrown.push([err, event]) });
    const seen: string[] = [];
    sink.on('frame', () => {
      throw new Error('listener bug');
    });
    sink.on('frame', (f) => seen.push(f.data.toString()));
    sink.on('tracks', () => {
      throw new Error('tracks listener bug');
    });
    expect(sink.write(stream)).toBe(true);
    expect(seen).toEqual(['a', 'b', 'c']);
    expect(thrown.map(([err, event]) => [(err as Error).message, event])).toEqual([
      ['tracks listener bug', 'tracks'],
      ['listener bug', 'frame'],
      ['listener bug', 'frame'],
      ['listener bug', 'frame'],
    ]);
  });

  it('survives a throwing onListenerError too', () => {
    const sink = new DemuxSink({
      onListenerError: () => {
        throw new Error('reporter bug');
      },
    });
    const seen: number[] = [];
    sink.on('frame', () => {
      throw new Error('listener bug');
    });
    sink.on('frame', (f) => seen.push(f.timestampMs));
    expect(() => sink.write(stream)).not.toThrow();
    expect(seen).toEqual([0, 33, 67]);
  });

  it('gives the tracks before the first frame and keeps them for late subscribers', async () => {
    const sink = new DemuxSink();
    const order: string[] = [];
    sink.on('tracks', (t) => order.push(`tracks:${t.map((x) => x.codec).join(',')}`));
    sink.on('frame', (f) => order.push(`frame:${f.kind}`));
    const data = await fixture('h264-opus');
    for (let off = 0; off < data.length; off += 1000) sink.write(data.subarray(off, off + 1000));
    expect(order[0]).toBe('tracks:h264,opus');
    expect(order.filter((o) => o.startsWith('tracks'))).toHaveLength(1);
    expect(order.length).toBeGreaterThan(300);
    expect(sink.tracks?.map((t: MediaTrack) => t.kind)).toEqual(['video', 'audio']);
  });

  it('stops delivering to a listener taken off, even during a dispatch', () => {
    const sink = new DemuxSink();
    const first: string[] = [];
    const second: string[] = [];
    const once = (f: MediaFrame): void => {
      first.push(f.data.toString());
      sink.off('frame', once);
    };
    sink.on('frame', once);
    sink.on('frame', (f) => second.push(f.data.toString()));
    sink.write(stream);
    expect(first).toEqual(['a']);
    expect(second).toEqual(['a', 'b', 'c']);
  });

  it('reports malformed media once as DR_ERR_MEDIA_MALFORMED and never pushes back', () => {
    const sink = new DemuxSink();
    const errors: DashrelayError[] = [];
    const frames: MediaFrame[] = [];
    sink.on('error', (e) => errors.push(e));
    sink.on('frame', (f) => frames.push(f));
    expect(sink.write(Buffer.from('GET / HTTP/1.1\r\n'))).toBe(true);
    expect(sink.write(stream)).toBe(true);
    expect(errors.map((e) => e.code)).toEqual(['DR_ERR_MEDIA_MALFORMED']);
    expect(sink.error).toBe(errors[0]);
    expect(frames).toEqual([]);
  });

  it('honours maxElementBytes', () => {
    const sink = new DemuxSink({ maxElementBytes: 1024 });
    const errors: string[] = [];
    sink.on('error', (e) => errors.push(e.message));
    sink.write(Buffer.concat([stream, simpleBlock(1, 100, 0, Buffer.alloc(2000))]));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/over the 1024-byte limit/);
  });

  it('delivers nothing after close', async () => {
    const sink = new DemuxSink();
    const frames: MediaFrame[] = [];
    sink.on('frame', (f) => frames.push(f));
    await sink.close();
    await sink.close();
    expect(sink.write(stream)).toBe(true);
    expect(frames).toEqual([]);
  });
});
