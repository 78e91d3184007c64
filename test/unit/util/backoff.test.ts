import { describe, expect, it } from 'vitest';
import { Backoff } from '../../../src/util/backoff.ts';

describe('Backoff', () => {
  it('doubles from the first delay up to the ceiling', () => {
    const b = new Backoff({ initialMs: 1000, maxMs: 5000, jitter: 0 });
    expect([b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([1000, 2000, 4000, 5000, 5000]);
    expect(b.attempts).toBe(5);
  });

  it('draws up to `jitter` of each delay off at random', () => {
    expect(new Backoff({ initialMs: 1000, jitter: 0.2, random: () => 0.5 }).next()).toBe(900);
    expect(new Backoff({ initialMs: 1000, jitter: 0.2, random: () => 0 }).next()).toBe(1000);
  });

  it('starts over after a healthy attempt, not after a short one', () => {
    const b = new Backoff({ initialMs: 1000, jitter: 0, healthyAfterMs: 10_000 });
    b.next();
    b.next();
    b.ended(2000);
    expect(b.next()).toBe(4000);
    b.ended(10_000);
    expect(b.next()).toBe(1000);
  });
});
