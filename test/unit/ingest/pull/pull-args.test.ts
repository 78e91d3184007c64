import { describe, expect, it } from 'vitest';
import { buildPullArgs, schemeOf } from '../../../../src/ingest/pull/pull-args.ts';
import type { PullSource } from '../../../../src/ingest/pull/source-schema.ts';

const base: PullSource = {
  name: 'cam',
  url: 'rtsp://admin:pw@10.0.0.2:554/stream1',
  onDemand: false,
  closeAfterSeconds: 10,
  rtspTransport: 'tcp',
  video: 'copy',
  audio: 'copy',
};
const args = (source: Partial<PullSource>) =>
  buildPullArgs({ source: { ...base, ...source }, timeoutMs: 10_000, keyframeSeconds: 1 });
const optionValue = (list: string[], option: string) => list[list.indexOf(option) + 1];

describe('buildPullArgs', () => {
  it('pulls RTSP over TCP with a socket timeout in µs (ffmpeg 5: -timeout, not -stimeout), copying into live Matroska on stdout', () => {
    const a = args({});
    expect(optionValue(a, '-rtsp_transport')).toBe('tcp');
    expect(optionValue(a, '-timeout')).toBe('10000000');
    expect(a).not.toContain('-stimeout');
    expect(a).toContain('-nostdin');
    expect(a.indexOf('-rtsp_transport')).toBeLessThan(a.indexOf('-i'));
    expect(optionValue(a, '-i')).toBe(base.url);
    expect(optionValue(a, '-c:v')).toBe('copy');
    expect(optionValue(a, '-c:a')).toBe('copy');
    expect(a.slice(-7, -1)).toEqual(['-f', 'matroska', '-live', '1', '-cluster_time_limit', '100']);
    expect(a.at(-1)).toBe('pipe:1');
  });

  it('takes the transport asked for, and -rw_timeout for other network inputs', () => {
    expect(optionValue(args({ rtspTransport: 'udp' }), '-rtsp_transport')).toBe('udp');
    const http = args({ url: 'http://cam/mjpeg' });
    expect(http).not.toContain('-rtsp_transport');
    expect(optionValue(http, '-rw_timeout')).toBe('10000000');
    const device = args({ url: '/dev/video0', inputOptions: ['-f', 'v4l2'] });
    expect(device).not.toContain('-rw_timeout');
    expect(device.slice(device.indexOf('-i') - 2, device.indexOf('-i') + 2)).toEqual([
      '-f',
      'v4l2',
      '-i',
      '/dev/video0',
    ]);
  });

  it('encodes when asked: x264 live with the bitrate, AAC, or no sound', () => {
    const a = args({ video: 'h264', bitrate: '800k', audio: 'aac' });
    expect(optionValue(a, '-c:v')).toBe('libx264');
    expect(optionValue(a, '-tune')).toBe('zerolatency');
    expect(optionValue(a, '-b:v')).toBe('800k');
    expect(optionValue(a, '-bufsize')).toBe('1600k');
    expect(optionValue(a, '-c:a')).toBe('aac');
    const mute = args({ audio: 'none' });
    expect(mute).toContain('-an');
    expect(mute).not.toContain('0:a:0?');
  });
});

describe('schemeOf', () => {
  it('is the lower-case scheme of a URL, undefined for a path', () => {
    expect(schemeOf('RTSPS://cam/1')).toBe('rtsps');
    expect(schemeOf('/dev/video0')).toBeUndefined();
    expect(schemeOf('testsrc2=size=640x360')).toBeUndefined();
  });
});
