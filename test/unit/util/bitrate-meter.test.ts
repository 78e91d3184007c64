import { describe, expect, it } from 'vitest';
import { BitrateMeter } from '../../../src/util/bitrate-meter.ts';

describe('BitrateMeter', () => {
  it('is 0 with no samples', () => {
    expect(new BitrateMeter().bitsPerSecond(1000)).toBe(0);
  });

  it('averages bytes over the window', () => {
    const meter = new BitrateMeter(2000);
    meter.add(1000, 0);
    meter.add(1000, 500);
    meter.add(500, 1500);
    // 2500 bytes = 20 000 bits over 2 s
    expect(meter.bitsPerSecond(1500)).toBe(10_000);
  });

  it('uses the window passed to the constructor', () => {
    const meter = new BitrateMeter(1000);
    meter.add(125, 0);
    expect(meter.bitsPerSecond(0)).toBe(1000);
  });

  it('drops samples that left the window', () => {
    const meter = new BitrateMeter(2000);
    meter.add(1000, 0);
    meter.add(250, 1500);
    expect(meter.bitsPerSecond(1999)).toBe(5000);
    // the sample at 0 is exactly one window old at 2000
    expect(meter.bitsPerSecond(2000)).toBe(1000);
    expect(meter.bitsPerSecond(3499)).toBe(1000);
    expect(meter.bitsPerSecond(3500)).toBe(0);
  });

  it('trims on add too', () => {
    const meter = new BitrateMeter(1000);
    meter.add(1000, 0);
    meter.add(1000, 5000);
    expect(meter.bitsPerSecond(5000)).toBe(8000);
  });

  it('rounds to whole bits per second', () => {
    const meter = new BitrateMeter(3000);
    meter.add(1, 0);
    expect(meter.bitsPerSecond(0)).toBe(3);
  });
});
