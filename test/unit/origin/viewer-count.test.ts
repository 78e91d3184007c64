import { describe, expect, it } from 'vitest';
import { ViewerCount, viewerWindowMs } from '../../../src/origin/viewer-count.ts';

function counter(max: number) {
  const clock = { ms: 0 };
  return { clock, viewers: new ViewerCount(max, () => clock.ms) };
}

describe('ViewerCount', () => {
  it('counts an address for 10 s after its last request', () => {
    expect(viewerWindowMs).toBe(10_000);
    const { clock, viewers } = counter(10);
    expect(viewers.admit('cam', '10.0.0.1')).toBe(true);
    expect(viewers.admit('cam', '10.0.0.1')).toBe(true);
    expect(viewers.count('cam')).toBe(1);
    clock.ms = 9999;
    expect(viewers.count('cam')).toBe(1);
    clock.ms = 10_000;
    expect(viewers.count('cam')).toBe(0);
  });

  it('refuses a new address at the maximum and keeps admitting the viewers it has', () => {
    const { clock, viewers } = counter(2);
    expect(viewers.admit('cam', 'a')).toBe(true);
    expect(viewers.admit('cam', 'b')).toBe(true);
    expect(viewers.admit('cam', 'c')).toBe(false);
    expect(viewers.count('cam')).toBe(2);
    // the viewers keep playing (a request every second) for as long as they like
    for (let t = 1000; t <= 30_000; t += 1000) {
      clock.ms = t;
      expect(viewers.admit('cam', 'a')).toBe(true);
      expect(viewers.admit('cam', 'b')).toBe(true);
      expect(viewers.admit('cam', 'c')).toBe(false);
    }
  });

  it('admits a new address once a viewer has gone quiet for 10 s', () => {
    const { clock, viewers } = counter(1);
    viewers.admit('cam', 'a');
    clock.ms = 9000;
    expect(viewers.admit('cam', 'b')).toBe(false);
    clock.ms = 10_000;
    expect(viewers.admit('cam', 'b')).toBe(true);
    // and now the first one is the newcomer
    expect(viewers.admit('cam', 'a')).toBe(false);
  });

  it('counts each stream on its own', () => {
    const { viewers } = counter(1);
    expect(viewers.admit('cam', 'a')).toBe(true);
    expect(viewers.admit('door', 'b')).toBe(true);
    expect(viewers.admit('door', 'a')).toBe(false);
    expect(viewers.count('cam')).toBe(1);
    expect(viewers.count('nothing')).toBe(0);
  });
});
