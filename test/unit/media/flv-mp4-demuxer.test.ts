import { beforeAll, describe, expect, it } from 'vitest';
import { FlvDemuxer } from '../../../src/media/flv-demuxer.ts';
import type { DemuxEvent } from '../../../src/media/matroska-demuxer.ts';
import { Mp4Demuxer } from '../../../src/media/mp4-demuxer.ts';
import { generate } from './_containers.ts';

function demuxAll(
  d: { push(chunk: Buffer): readonly DemuxEvent[] },
  data: Buffer,
  piece: number,
): DemuxEvent[] {
  const out: DemuxEvent[] = [];
  for (let i = 0; i < data.length; i += piece) out.push(...d.push(data.subarray(i, i + piece)));
  return out;
}

describe.each([
  ['flv', () => new FlvDemuxer()],
  ['mp4', () => new Mp4Demuxer()],
] as const)('%s demuxer', (format, create) => {
  let data: Buffer;
  beforeAll(async () => {
    data = await generate(format);
  });

  it.each([1, 777, 1 << 20])('gives the same tracks and frames in pieces of %i bytes', (piece) => {
    const events = demuxAll(create(), data, piece);
    expect(events.filter((e) => e.type === 'error')).toEqual([]);
    const tracks = events.filter((e) => e.type === 'tracks').at(-1);
    expect(tracks?.type === 'tracks' && tracks.tracks.map((t) => [t.kind, t.codec])).toEqual([
      ['video', 'h264'],
      ['audio', 'aac'],
    ]);
    const frames = events.flatMap((e) => (e.type === 'frame' ? [e.frame] : []));
    const video = frames.filter((f) => f.kind === 'video');
    expect(video).toHaveLength(90);
    expect(video.filter((f) => f.keyframe)).toHaveLength(3);
    expect(video.every((f) => f.data.length > 0)).toBe(true);
    // Presentation times: 30 fps from the first, B-frames reordered (not monotonic in decode order).
    const pts = video.map((f) => f.timestampMs).sort((a, b) => a - b);
    expect((pts.at(-1) ?? 0) - (pts[0] ?? 0)).toBeCloseTo((89 * 1000) / 30, -1);
    expect(frames.filter((f) => f.kind === 'audio').length).toBeGreaterThan(130);
  });

  it('reports malformed input once, then ignores the rest', () => {
    const d = create();
    const first = d.push(Buffer.from('not a media stream at all'));
    expect(first.map((e) => e.type)).toEqual(['error']);
    expect(d.error?.code).toBe('DR_ERR_MEDIA_MALFORMED');
    expect(d.push(data)).toEqual([]);
  });

  it('refuses an element over the size limit instead of buffering it', () => {
    const d =
      format === 'flv'
        ? new FlvDemuxer({ maxElementBytes: 1024 })
        : new Mp4Demuxer({ maxElementBytes: 1024 });
    const events = demuxAll(d, data, 4096);
    expect(events.some((e) => e.type === 'error' && /over the limit/.test(e.error.message))).toBe(true);
  });
});
