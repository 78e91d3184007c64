import { describe, expect, it, vi } from 'vitest';
import { rateLimited } from '../../../src/util/rate-limit.ts';

describe('rateLimited', () => {
  it('runs at most once per interval and tells the next run how many calls it dropped', () => {
    let nowMs = 0;
    const fn = vi.fn();
    const limited = rateLimited(1000, fn, () => nowMs);
    limited('a');
    limited('b');
    limited('c');
    expect(fn).toHaveBeenCalledTimes(1);
    expect(fn).toHaveBeenLastCalledWith(0, 'a');
    nowMs = 999;
    limited('d');
    expect(fn).toHaveBeenCalledTimes(1);
    nowMs = 1000;
    limited('e');
    expect(fn).toHaveBeenLastCalledWith(3, 'e');
    nowMs = 5000;
    limited('f');
    expect(fn).toHaveBeenLastCalledWith(0, 'f');
  });
});
