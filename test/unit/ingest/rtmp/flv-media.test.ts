import { describe, expect, it } from 'vitest';
import { audioCodecOfMetadata, pictureOfMetadata } from '../../../../src/ingest/rtmp/flv-media.ts';

describe('onMetaData', () => {
  it('gives the picture size and frame rate an encoder announces', () => {
    expect(pictureOfMetadata({ width: 1280, height: 720, framerate: 29.97 })).toEqual({
      width: 1280,
      height: 720,
      fps: 29.97,
    });
    expect(pictureOfMetadata({ width: 640, height: 360, videoframerate: 15 })).toEqual({
      width: 640,
      height: 360,
      fps: 15,
    });
  });

  it('leaves out what is missing, zero or not a number', () => {
    expect(pictureOfMetadata({ width: 0, height: '720', framerate: Number.NaN })).toEqual({});
    expect(pictureOfMetadata({})).toEqual({});
  });

  it('reads the audio codec id (FLV id 10 or the FourCC of Enhanced RTMP)', () => {
    expect(audioCodecOfMetadata({ audiocodecid: 10 })).toBe('aac');
    expect(audioCodecOfMetadata({ audiocodecid: 'mp4a' })).toBe('aac');
    expect(audioCodecOfMetadata({ audiocodecid: 2 })).toBe('unknown');
    expect(audioCodecOfMetadata({})).toBe('none');
  });
});
