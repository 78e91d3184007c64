import { describe, expect, it } from 'vitest';
import {
  defaultServerConfig,
  latencyProfiles,
  resolveConfig,
  type ServerConfig,
} from '../../../src/config/config.ts';
import { DashrelayError } from '../../../src/errors/errors.ts';

describe('resolveConfig', () => {
  it('returns the documented defaults when given nothing', () => {
    expect(resolveConfig()).toEqual(defaultServerConfig);
    expect(resolveConfig({})).toEqual(defaultServerConfig);
  });

  it('returns a frozen object', () => {
    const config = resolveConfig({ port: 9000 });
    expect(Object.isFrozen(config)).toBe(true);
    expect(() => {
      (config as { port: number }).port = 1;
    }).toThrow(TypeError);
  });

  it('does not modify the defaults', () => {
    resolveConfig({ port: 9000, host: '0.0.0.0' });
    expect(defaultServerConfig.port).toBe(8080);
    expect(defaultServerConfig.host).toBe('127.0.0.1');
  });

  it('merges overrides onto the defaults', () => {
    const config = resolveConfig({ port: 0, latency: 'normal', ffmpegPath: '/opt/ffmpeg' });
    expect(config).toEqual({ ...defaultServerConfig, port: 0, latency: 'normal', ffmpegPath: '/opt/ffmpeg' });
  });

  it('ignores overrides that are undefined', () => {
    const config = resolveConfig({
      port: undefined,
      host: undefined,
      ffmpegPath: undefined,
    } as Partial<ServerConfig>);
    expect(config).toEqual(defaultServerConfig);
    expect('ffmpegPath' in config).toBe(false);
  });

  it.each([
    { field: 'port', value: -1 },
    { field: 'port', value: 70000 },
    { field: 'port', value: 1.5 },
    { field: 'host', value: '' },
    { field: 'analysisFps', value: 0 },
    { field: 'latency', value: 'fast' },
    { field: 'colour', value: 'blue' },
  ])('rejects $field = $value with DR_ERR_CONFIG_INVALID naming the field', ({ field, value }) => {
    let caught: unknown;
    try {
      resolveConfig({ [field]: value } as Partial<ServerConfig>);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(DashrelayError);
    const err = caught as DashrelayError;
    expect(err.code).toBe('DR_ERR_CONFIG_INVALID');
    expect(err.message).toMatch(new RegExp(`^Invalid configuration: ${field}: `));
    expect(err.message).toContain(`(got ${JSON.stringify(value)})`);
  });
});

describe('latencyProfiles', () => {
  it('low: 1000 ms chunked segments', () => {
    expect(latencyProfiles.low.segmentDurationMs).toBe(1000);
    expect(latencyProfiles.low.chunked).toBe(true);
  });

  it('normal: 2000 ms whole segments', () => {
    expect(latencyProfiles.normal.segmentDurationMs).toBe(2000);
    expect(latencyProfiles.normal.chunked).toBe(false);
  });

  it('is frozen', () => {
    expect(Object.isFrozen(latencyProfiles)).toBe(true);
  });
});
