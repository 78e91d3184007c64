import { describe, expect, it } from 'vitest';
import { expectedFfmpegWarning } from '../../../../src/packager/ffmpeg/expected-warnings.ts';

describe('expectedFfmpegWarning', () => {
  it('knows the warning our -write_prft 0 causes (as ffmpeg 5–7 print it)', () => {
    const line =
      '[dash @ 0x5575b58a9340] Low Latency mode enabled without Producer Reference Time element option! Resulting manifest may not be complaint';
    expect(expectedFfmpegWarning(line)).toMatch(/ProducerReferenceTime/);
  });

  it('leaves every other line a warning', () => {
    expect(expectedFfmpegWarning('[matroska @ 0x1] Invalid EBML number size tag 0x01')).toBeUndefined();
    expect(expectedFfmpegWarning('Non-monotonic DTS in output stream 0:1')).toBeUndefined();
  });
});
