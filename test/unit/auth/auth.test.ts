import { describe, expect, it } from 'vitest';
import { AddressRules, isLoopbackAddress, isLoopbackHost } from '../../../src/auth/address-rules.ts';
import { parseDurationS, signToken, TokenRefused, verifyToken } from '../../../src/auth/tokens.ts';
import { parsePublishName } from '../../../src/ingest/rtmp/stream-key.ts';
import { credentialOf } from '../../../src/util/credential.ts';

describe('AddressRules', () => {
  const rules = new AddressRules([
    'allow 192.168.1.20',
    'deny 192.168.1.0/24',
    'allow 10.0.0.0/8',
    'deny all',
  ]);
  it.each([
    ['192.168.1.20', undefined],
    ['::ffff:192.168.1.20', undefined],
    ['192.168.1.21', 'deny 192.168.1.0/24'],
    ['10.1.2.3', undefined],
    ['172.16.0.1', 'deny all'],
    ['::1', 'deny all'],
    ['not an address', 'deny all'],
  ])('%s → %s (first match wins)', (address, denied) => {
    expect(rules.denies(address)).toBe(denied);
  });
  it('allows what no rule matches, and IPv6 CIDRs', () => {
    expect(new AddressRules([]).denies('1.2.3.4')).toBeUndefined();
    expect(new AddressRules(['deny fd00::/8']).denies('fd12::1')).toBe('deny fd00::/8');
    expect(new AddressRules(['deny fd00::/8']).denies('1.2.3.4')).toBeUndefined();
  });
  it('refuses a rule that does not parse', () => {
    expect(() => new AddressRules(['deny 1.2.3.999'])).toThrow(/bad address/);
  });
  it('knows loopback', () => {
    expect(isLoopbackAddress('127.0.0.2')).toBe(true);
    expect(isLoopbackAddress('::ffff:127.0.0.1')).toBe(true);
    expect(isLoopbackAddress('192.168.1.2')).toBe(false);
    expect(isLoopbackHost('localhost')).toBe(true);
    expect(isLoopbackHost('0.0.0.0')).toBe(false);
  });
});

describe('tokens', () => {
  const secret = 'sixteen-chars-at-least';
  it('round-trips stream, action and expiry', async () => {
    const t = await signToken(secret, { stream: 'cam1', action: 'play' }, 3600);
    const v = await verifyToken(secret, t);
    expect(v).toMatchObject({ stream: 'cam1', action: 'play' });
    expect(v.expiresAtMs).toBeGreaterThan(Date.now() + 3500_000);
  });
  it('refuses another secret and garbage, saying why', async () => {
    const t = await signToken(secret, { stream: 'cam1', action: 'publish' }, 60);
    await expect(verifyToken('another-secret-entirely', t)).rejects.toThrow(TokenRefused);
    await expect(verifyToken(secret, 'a.b.c')).rejects.toThrow(/malformed/);
  });
  it.each([
    ['90s', 90],
    ['15m', 900],
    ['1h', 3600],
    ['7d', 604_800],
    ['30', 30],
    ['x', undefined],
    ['0', undefined],
  ])('parses the duration %s', (text, s) => {
    expect(parseDurationS(text)).toBe(s);
  });
});

describe('RTMP publish names', () => {
  it.each([
    ['live', 'cam1', { stream: 'cam1', credential: undefined }],
    ['live', 'cam1?token=T', { stream: 'cam1', credential: 'T' }],
    ['live', 'cam1/KEY', { stream: 'cam1', credential: 'KEY' }],
    ['live/cam1', 'KEY', { stream: 'cam1', credential: 'KEY' }],
    ['live/cam1', '?token=T', { stream: 'cam1', credential: 'T' }],
  ])('app %s, name %s', (app, name, expected) => {
    expect(parsePublishName(app, 'live', name)).toEqual({ ok: true, ...expected });
  });
  it('refuses another application', () => {
    expect(parsePublishName('other', 'live', 'cam1')).toEqual({ ok: false, app: 'other' });
  });
});

describe('credentialOf', () => {
  it('takes a Bearer header before ?token=', () => {
    expect(credentialOf('/x?token=q', { authorization: 'Bearer h' })).toBe('h');
    expect(credentialOf('/x?a=1&token=q', {})).toBe('q');
    expect(credentialOf('/x', {})).toBeUndefined();
  });
});
