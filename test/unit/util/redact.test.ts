import { describe, expect, it } from 'vitest';
import { redactStreamKey, redactText, redactUrl, secretsOf } from '../../../src/util/redact.ts';

const seed003 = 'rtsp://admin:Yijian@2018!@192.168.40.105:554/h264/ch1/main/av_stream';

describe('redactUrl', () => {
  it('masks the whole userinfo, up to the last @ before the host (a password may contain @)', () => {
    expect(redactUrl(seed003)).toBe('rtsp://***@192.168.40.105:554/h264/ch1/main/av_stream');
    expect(redactUrl('rtsps://user:p%40ss@cam.local/stream')).toBe('rtsps://***@cam.local/stream');
    expect(redactUrl('rtsp://admin@cam/1')).toBe('rtsp://***@cam/1');
  });

  it('masks secret query parameters', () => {
    expect(redactUrl('http://cam/videostream.cgi?user=admin&pwd=s3cret&rate=0')).toBe(
      'http://cam/videostream.cgi?user=***&pwd=***&rate=0',
    );
    expect(redactUrl('https://cdn/x.m3u8?token=abc.def&sig=1')).toBe('https://cdn/x.m3u8?token=***&sig=***');
  });

  it('leaves URLs without credentials, and inputs that are not URLs, as they are', () => {
    expect(redactUrl('rtsp://192.168.1.5:554/stream1')).toBe('rtsp://192.168.1.5:554/stream1');
    expect(redactUrl('rtsp://cam/path@with-at')).toBe('rtsp://cam/path@with-at');
    expect(redactUrl('/dev/video0')).toBe('/dev/video0');
    expect(redactUrl('testsrc2=size=640x360:rate=30')).toBe('testsrc2=size=640x360:rate=30');
  });
});

describe('redactText', () => {
  it("masks URLs in ffmpeg's lines", () => {
    expect(redactText(`${seed003}: Connection refused`)).toBe(
      'rtsp://***@192.168.40.105:554/h264/ch1/main/av_stream: Connection refused',
    );
    expect(redactText('[tcp @ 0x55] Connection to tcp://127.0.0.1:554?timeout=5000000 failed')).toBe(
      '[tcp @ 0x55] Connection to tcp://127.0.0.1:554?timeout=5000000 failed',
    );
    expect(redactText('contact admin@example.com about rtsp://cam:554/x')).toBe(
      'contact admin@example.com about rtsp://cam:554/x',
    );
  });

  it('masks the known secrets wherever they appear, decoded too', () => {
    const secrets = secretsOf('rtsp://admin:p%40ss%21word@cam/1');
    expect(secrets).toEqual(expect.arrayContaining(['admin:p%40ss%21word', 'p%40ss%21word', 'p@ss!word']));
    expect(redactText('auth failed for password p@ss!word (user admin)', secrets)).toBe(
      'auth failed for password *** (user admin)',
    );
  });

  it('knows the secrets of seed 003', () => {
    const secrets = secretsOf(seed003);
    expect(secrets).toContain('Yijian@2018!');
    expect(redactText(`Yijian@2018! and ${seed003}`, secrets)).not.toContain('Yijian');
  });
});

describe('redactStreamKey', () => {
  it('masks the stream key of an RTMP target as well as credentials', () => {
    expect(redactStreamKey('rtmp://a.rtmp.youtube.com/live2/abcd-efgh-ijkl')).toBe(
      'rtmp://a.rtmp.youtube.com/live2/***',
    );
    expect(redactStreamKey('rtmps://u:p@live.example:443/app/live_123?token=x')).toBe(
      'rtmps://***@live.example:443/app/***?token=***',
    );
  });

  it('leaves a URL without a path as it is', () => {
    expect(redactStreamKey('rtmp://host')).toBe('rtmp://host');
    expect(redactStreamKey('rtmp://host/')).toBe('rtmp://host/');
  });
});
