import { describe, expect, it } from 'vitest';
import { backpressureMessage, UploadMeter } from '../../../static/capture/stats.js';

describe('capture page upload figures', () => {
  it('measures what left the browser, never a negative rate', () => {
    const meter = new UploadMeter();
    expect(meter.sample(5000, 0, 500)).toBeNaN();
    meter.start(1000);
    expect(meter.sample(10_000, 2000, 2000)).toBe(64_000);
    expect(meter.sample(20_000, 0, 3000)).toBe(96_000);
    // More queued than before but less sent: the uplink stalled, not a negative rate.
    expect(meter.sample(20_000, 5000, 4000)).toBe(0);
  });

  it('names the backlog in the backpressure warning', () => {
    expect(backpressureMessage(9 * 1024 * 1024)).toMatch(
      /^Network too slow: 9\.0 MiB recorded but not yet uploaded/,
    );
  });
});
