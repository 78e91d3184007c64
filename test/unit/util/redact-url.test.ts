import { describe, expect, it } from 'vitest';
import { redactUrl } from '../../../src/util/redact-url.ts';

describe('redactUrl', () => {
  it('hides user and password, also a password with @ in it (seed 003)', () => {
    expect(redactUrl('rtsp://admin:Yijian@2018!@192.168.40.105:554/h264/ch1/main/av_stream')).toBe(
      'rtsp://***@192.168.40.105:554/h264/ch1/main/av_stream',
    );
    expect(redactUrl('rtsp://u:p/w@cam.local/stream1')).toBe('rtsp://***@cam.local/stream1');
  });

  it('hides query values and, asked to, the stream key', () => {
    expect(redactUrl('rtmp://a.rtmp.youtube.com/live2/abcd-efgh-ijkl', { hideKey: true })).toBe(
      'rtmp://a.rtmp.youtube.com/live2/***',
    );
    expect(
      redactUrl('rtmps://live.twitch.tv:443/app/live_123?bandwidthtest=true&k=x', { hideKey: true }),
    ).toBe('rtmps://live.twitch.tv:443/app/***?bandwidthtest=***&k=***');
    expect(redactUrl('http://cam/video.mjpg?user=admin&pwd=secret')).toBe(
      'http://cam/video.mjpg?user=***&pwd=***',
    );
  });

  it('leaves a URL without secrets, and text that is not a URL, as it is', () => {
    expect(redactUrl('rtsp://cam.local:8554/stream')).toBe('rtsp://cam.local:8554/stream');
    expect(redactUrl('rtmp://host', { hideKey: true })).toBe('rtmp://host');
    expect(redactUrl('/dev/video0')).toBe('/dev/video0');
  });
});
