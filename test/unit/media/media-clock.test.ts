import { describe, expect, it } from 'vitest';
import { DemuxSink } from '../../../src/media/demux-sink.ts';
import { MediaClock } from '../../../src/media/media-clock.ts';
import type { MediaFrame } from '../../../src/media/types.ts';
import { fixture } from '../../_setup.ts';

describe('MediaClock', () => {
  it('estimates media time 0 as the smallest arrival − frame timestamp', async () => {
    const data = await fixture('h264-opus');
    let now = 1_000_000;
    const demux = new DemuxSink();
    const clock = new MediaClock(demux, 60_000, () => now);
    // The header and first frames arrive 500 ms "late"; a later piece arrives right on time.
    demux.write(data.subarray(0, 20_000));
    const first = clock.mediaStartMs;
    expect(first).toBeDefined();
    expect(first).toBeLessThanOrEqual(1_000_000);
    now += 100; // the rest arrives at once, 100 ms later: its frames (up to 4 s of media) are early
    demux.write(data.subarray(20_000));
    expect(clock.mediaStartMs).toBeLessThan(first ?? 0);
    expect(clock.mediaStartMs).toBeGreaterThan(1_000_100 - 4_100);
  });

  it('counts media time from the first frame, as ffmpeg does, when the recording starts late', async () => {
    const data = await fixture('h264', 4, 5);
    let now = 2_000_000;
    const demux = new DemuxSink();
    const clock = new MediaClock(demux, 60_000, () => now);
    // In about real time: 4 s of media in 100 pieces, 40 ms apart.
    const piece = Math.ceil(data.length / 100);
    for (let off = 0; off < data.length; off += piece) {
      demux.write(data.subarray(off, off + piece));
      now += 40;
    }
    // Its first frame is stamped 5 s; media time 0 is when that frame arrived, not 5 s before.
    expect(clock.mediaStartMs).toBeGreaterThan(2_000_000 - 1000);
  });

  it('takes a low percentile, not the minimum, so one frame stamped ahead of its time does not count', () => {
    const source = new FakeFrames();
    let now = 10_000;
    const clock = new MediaClock(source, 60_000, () => now);
    // 100 frames 40 ms apart arriving 200 ms after their time, and one arriving 5 s "early".
    for (let i = 0; i < 100; i++) {
      now = 10_000 + 200 + i * 40;
      source.emit(i * 40);
    }
    now = 10_000 + 200 + 100 * 40;
    source.emit(100 * 40 + 5_000);
    expect(clock.mediaStartMs).toBe(10_200);
  });

  it('stops listening after watchMediaMs of media and keeps its estimate', () => {
    const source = new FakeFrames();
    let now = 0;
    const clock = new MediaClock(source, 1_000, () => now);
    for (let t = 3_000; t <= 4_100; t += 100) {
      now = t + 50;
      source.emit(t);
    }
    expect(source.listeners).toBe(0);
    // Every frame arrived 50 ms after its time; media time 0 is the first frame's (3 s).
    expect(clock.mediaStartMs).toBe(3_050);
  });

  it('never gives an estimate for bytes that are not Matroska, and never throws', () => {
    const demux = new DemuxSink();
    const clock = new MediaClock(demux);
    expect(demux.write(Buffer.from('definitely not EBML, just text'))).toBe(true);
    expect(demux.write(Buffer.alloc(1000, 0xff))).toBe(true);
    expect(clock.mediaStartMs).toBeUndefined();
    expect(demux.error?.code).toBe('DR_ERR_MEDIA_MALFORMED');
  });
});

class FakeFrames {
  private readonly set = new Set<(frame: MediaFrame) => void>();

  get listeners(): number {
    return this.set.size;
  }

  on(_event: 'frame', listener: (frame: MediaFrame) => void): void {
    this.set.add(listener);
  }

  off(_event: 'frame', listener: (frame: MediaFrame) => void): void {
    this.set.delete(listener);
  }

  emit(timestampMs: number): void {
    const frame: MediaFrame = {
      trackId: 1,
      kind: 'video',
      timestampMs,
      keyframe: false,
      data: Buffer.alloc(0),
    };
    for (const l of [...this.set]) l(frame);
  }
}
