import { describe, expect, it } from 'vitest';
import { isOwnName, publicBaseUrl, splitHost } from '../../../src/app/public-base-url.ts';

const names = () => ({
  dnsNames: ['localhost', 'pi', 'pi.local'],
  ipAddresses: ['127.0.0.1', '::1', '192.168.1.5', 'fd00::2'],
});

describe('the base URL of absolute URLs in the MPD', () => {
  const unknown: string[] = [];
  const forRequest = publicBaseUrl({
    trustProxy: false,
    scheme: 'https',
    listenHost: '192.168.1.5',
    port: () => 8443,
    names,
    onUnknownHost: (h) => unknown.push(h),
  });

  it.each([
    ['localhost:8443', 'https://localhost:8443'],
    ['192.168.1.5:8443', 'https://192.168.1.5:8443'],
    ['[fd00::2]:8443', 'https://[fd00::2]:8443'],
    ['PI.LAN:8443', 'https://pi.lan:8443'],
    ['pi.fritz.box:8443', 'https://pi.fritz.box:8443'],
  ])('uses Host %s, a name of this machine at its port', (host, url) => {
    expect(forRequest({ protocol: 'http', host })).toBe(url);
  });

  it.each([
    'evil.example:6666',
    'evil.example:8443',
    'localhost:6666',
    '192.168.1.6:8443',
    'localhost.evil.example:8443',
    'pi.local:8443/x',
    '',
  ])('never echoes Host %j: the listener URL instead, told once', (host) => {
    expect(forRequest({ protocol: 'https', host })).toBe('https://192.168.1.5:8443');
    forRequest({ protocol: 'https', host });
    expect(unknown.filter((h) => h === host)).toHaveLength(1);
  });

  it('uses server.publicUrl for every request, and the forwarded host behind a trusted proxy', () => {
    const fixed = publicBaseUrl({
      publicUrl: 'https://cams.example.org/',
      trustProxy: false,
      scheme: 'http',
      listenHost: '127.0.0.1',
      port: () => 8080,
      names,
    });
    expect(fixed({ protocol: 'http', host: 'evil.example' })).toBe('https://cams.example.org');
    const proxied = publicBaseUrl({
      trustProxy: true,
      scheme: 'http',
      listenHost: '127.0.0.1',
      port: () => 8080,
      names,
    });
    expect(proxied({ protocol: 'https', host: 'cams.example.org' })).toBe('https://cams.example.org');
  });

  it('splits host headers and knows its own names', () => {
    expect(splitHost('[::1]:80')).toEqual({ name: '::1', port: 80 });
    expect(splitHost('Pi.Local.')).toEqual({ name: 'pi.local', port: 0 });
    expect(splitHost('a b')).toBeUndefined();
    expect(splitHost('host:123456')).toBeUndefined();
    expect(isOwnName('::ffff:127.0.0.1', names(), '0.0.0.0')).toBe(true);
    expect(isOwnName('0.0.0.0', names(), '0.0.0.0')).toBe(false);
    expect(isOwnName('cam-box', names(), 'cam-box')).toBe(true);
    expect(isOwnName('pie.lan', names(), '0.0.0.0')).toBe(false);
  });
});
