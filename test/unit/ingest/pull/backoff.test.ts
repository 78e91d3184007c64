import { describe, expect, it } from 'vitest';
import { Backoff } from '../../../../src/ingest/pull/backoff.ts';

describe('Backoff', () => {
  it('starts at the first delay, doubles, and stops at the cap', () => {
    const b = new Backoff({ initialMs: 1000, maxMs: 30_000, jitter: 0 });
    expect([1, 2, 3, 4, 5, 6, 7].map(() => b.next())).toEqual([
      1000, 2000, 4000, 8000, 16_000, 30_000, 30_000,
    ]);
    expect(b.attempts).toBe(7);
  });

  it('starts over after reset (a healthy run)', () => {
    const b = new Backoff({ initialMs: 1000, maxMs: 30_000, jitter: 0 });
    b.next();
    b.next();
    b.reset();
    expect(b.attempts).toBe(0);
    expect(b.next()).toBe(1000);
  });

  it('spreads each delay by the jitter, never past the cap, the first within 2 s', () => {
    const low = new Backoff({ initialMs: 1000, maxMs: 30_000, jitter: 0.2, random: () => 0 });
    const high = new Backoff({ initialMs: 1000, maxMs: 30_000, jitter: 0.2, random: () => 0.999_999 });
    expect(low.next()).toBe(800);
    expect(high.next()).toBe(1200);
    for (let i = 0; i < 10; i++) high.next();
    expect(high.next()).toBe(30_000);
  });
});
