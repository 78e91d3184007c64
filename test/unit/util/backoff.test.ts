import { describe, expect, it } from 'vitest';
import { Backoff } from '../../../src/util/backoff.ts';

const middle = () => 0.5; // no jitter: 1 + 0.2 × (2 × 0.5 − 1) = 1

describe('Backoff', () => {
  it('starts at 1 s, doubles, and stops at the cap', () => {
    const b = new Backoff({ random: middle });
    expect(Array.from({ length: 8 }, () => b.next())).toEqual([
      1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000,
    ]);
    expect(b.attempts).toBe(8);
  });

  it('jitters each delay by up to ±20 %, never above the cap', () => {
    const low = new Backoff({ random: () => 0 });
    const high = new Backoff({ random: () => 0.999_999 });
    expect(low.next()).toBe(800);
    expect(high.next()).toBe(1200);
    for (let i = 0; i < 10; i++) high.next();
    expect(high.next()).toBe(30_000);
    const any = new Backoff();
    for (let i = 0; i < 50; i++) {
      const d = any.next();
      expect(d).toBeGreaterThanOrEqual(Math.min(800 * 2 ** i, 24_000));
      expect(d).toBeLessThanOrEqual(30_000);
    }
  });

  it('starts over after a healthy run, not after a short one', () => {
    const b = new Backoff({ random: middle, healthyAfterMs: 30_000 });
    b.next();
    b.next();
    b.connected(0);
    b.disconnected(5000); // a flapping connection keeps backing off
    expect(b.next()).toBe(4000);
    b.connected(10_000);
    b.disconnected(40_000);
    expect(b.attempts).toBe(0);
    expect(b.next()).toBe(1000);
  });

  it('a disconnect without a connect (the server was never reached) keeps counting', () => {
    const b = new Backoff({ random: middle });
    b.next();
    b.disconnected(1e9);
    expect(b.next()).toBe(2000);
  });

  it('starts over after reset (a run the caller found healthy)', () => {
    const b = new Backoff({ initialMs: 1000, maxMs: 30_000, jitter: 0 });
    b.next();
    b.next();
    b.reset();
    expect(b.attempts).toBe(0);
    expect(b.next()).toBe(1000);
  });
});
