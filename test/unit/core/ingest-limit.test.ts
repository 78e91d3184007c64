import { describe, expect, it } from 'vitest';
import { IngestBitrateLimit, ingestLimitWindowMs } from '../../../src/core/ingest-limit.ts';

describe('IngestBitrateLimit', () => {
  it('averages over 5 s by default', () => {
    expect(new IngestBitrateLimit(1000).windowMs).toBe(ingestLimitWindowMs);
    expect(ingestLimitWindowMs).toBe(5000);
  });

  it('lets a rate at the limit through, however long', () => {
    // 100 000 bit/s = 12 500 B/s: 1250 B every 100 ms
    const limit = new IngestBitrateLimit(100_000);
    for (let t = 0; t < 60_000; t += 100) expect(limit.add(1250, t)).toBeUndefined();
  });

  it('trips with the measured rate once the window holds more than the limit', () => {
    const limit = new IngestBitrateLimit(100_000);
    // 5 s × 100 000 bit/s = 62 500 bytes is the most a window may hold
    expect(limit.add(62_500, 0)).toBeUndefined();
    expect(limit.add(1, 10)).toBe(100_002);
  });

  it('lets a burst through that the 5 s average absorbs', () => {
    const limit = new IngestBitrateLimit(1_000_000);
    // a 300 KB keyframe (2.4 Mbit) in one read, then nothing: 480 000 bit/s over the window
    expect(limit.add(300_000, 0)).toBeUndefined();
    for (let t = 100; t < 10_000; t += 100) expect(limit.add(100, t)).toBeUndefined();
  });

  it('forgets bytes that left the window', () => {
    const limit = new IngestBitrateLimit(100_000);
    expect(limit.add(60_000, 0)).toBeUndefined();
    // the 60 000 bytes at 0 are out of the window at 5000
    expect(limit.add(60_000, 5000)).toBeUndefined();
    expect(limit.add(10_000, 6000)).toBe(112_000);
  });

  it('trips once', () => {
    const limit = new IngestBitrateLimit(100_000, 1000);
    expect(limit.add(100_000, 0)).toBe(800_000);
    expect(limit.add(100_000, 1)).toBeUndefined();
  });
});
