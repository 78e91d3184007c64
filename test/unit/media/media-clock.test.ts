import { describe, expect, it } from 'vitest';
import { MediaClock } from '../../../src/media/media-clock.ts';
import { fixture } from '../../_setup.ts';

describe('MediaClock', () => {
  it('estimates media time 0 as the smallest arrival − block timestamp', async () => {
    const data = await fixture('h264-opus');
    let now = 1_000_000;
    const clock = new MediaClock(60_000, () => now);
    // The header and first blocks arrive 500 ms "late"; a later piece arrives right on time.
    clock.write(data.subarray(0, 20_000));
    const first = clock.mediaStartMs;
    expect(first).toBeDefined();
    expect(first).toBeLessThanOrEqual(1_000_000);
    now += 100; // the rest arrives at once, 100 ms later: its blocks (up to 4 s of media) are early
    clock.write(data.subarray(20_000));
    expect(clock.mediaStartMs).toBeLessThan(first ?? 0);
    expect(clock.mediaStartMs).toBeGreaterThan(1_000_100 - 4_100);
  });

  it('counts media time from the first block, as ffmpeg does, when the recording starts late', async () => {
    const data = await fixture('h264', 4, 5);
    let now = 2_000_000;
    const clock = new MediaClock(60_000, () => now);
    // In about real time: 4 s of media in 100 pieces, 40 ms apart.
    const piece = Math.ceil(data.length / 100);
    for (let off = 0; off < data.length; off += piece) {
      clock.write(data.subarray(off, off + piece));
      now += 40;
    }
    // Its first block is stamped 5 s; media time 0 is when that block arrived, not 5 s before.
    expect(clock.mediaStartMs).toBeGreaterThan(2_000_000 - 1000);
  });

  it('stops on bytes that are not Matroska and never throws', () => {
    const clock = new MediaClock();
    expect(clock.write(Buffer.from('definitely not EBML, just text'))).toBe(true);
    expect(clock.write(Buffer.alloc(1000, 0xff))).toBe(true);
    expect(clock.mediaStartMs).toBeUndefined();
  });
});
