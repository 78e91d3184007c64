import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { serveHelp } from '../../../src/cli/serve.ts';
import {
  activeProfile,
  type ConfigInput,
  defaultConfig,
  latencyProfiles,
  resolveConfig,
} from '../../../src/config/config.ts';
import { defaultAt, readOptions, serveOptions } from '../../../src/config/options.ts';
import { configKeys, configurationReference } from '../../../src/config/reference.ts';
import { DashrelayError } from '../../../src/errors/errors.ts';

const root = new URL('../../../', import.meta.url);
const readme = readFileSync(new URL('README.md', root), 'utf8');

describe('resolveConfig', () => {
  it('fills every key from the schema when given nothing', () => {
    expect(resolveConfig()).toEqual(defaultConfig);
    expect(resolveConfig({})).toEqual(defaultConfig);
    expect(defaultConfig.server).toMatchObject({ host: '127.0.0.1', port: 8080, trustProxy: false });
    expect(defaultConfig.ingest.maxMessageBytes).toBe(4 * 1024 * 1024);
    expect(defaultConfig.origin.holdStartMs).toBe(5000);
  });

  it('returns a deeply frozen object', () => {
    const config = resolveConfig({ server: { port: 9000 } });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.server)).toBe(true);
    expect(Object.isFrozen(config.latency.low)).toBe(true);
    expect(() => {
      (config.server as { port: number }).port = 1;
    }).toThrow(TypeError);
  });

  it('merges a partial section onto its defaults and leaves the input and the defaults alone', () => {
    const input: ConfigInput = {
      server: { port: 0 },
      latency: { mode: 'normal', low: { playerLiveDelayMs: 180 } },
    };
    const config = resolveConfig(input);
    expect(config.server).toEqual({ ...defaultConfig.server, port: 0 });
    expect(config.latency.mode).toBe('normal');
    expect(config.latency.low).toEqual({ ...defaultConfig.latency.low, playerLiveDelayMs: 180 });
    expect(input).toEqual({
      server: { port: 0 },
      latency: { mode: 'normal', low: { playerLiveDelayMs: 180 } },
    });
    expect(defaultConfig.server.port).toBe(8080);
  });

  it('treats undefined as not set', () => {
    expect(resolveConfig({ server: { port: undefined }, ffmpeg: { path: undefined } })).toEqual(
      defaultConfig,
    );
  });

  it.each([
    [{ server: { port: -1 } }, 'server.port', -1],
    [{ server: { port: 70000 } }, 'server.port', 70000],
    [{ server: { port: 1.5 } }, 'server.port', 1.5],
    [{ server: { host: '' } }, 'server.host', ''],
    [{ analysis: { fps: 0 } }, 'analysis.fps', 0],
    [{ latency: { mode: 'fast' } }, 'latency.mode', 'fast'],
    [{ latency: { low: { segmentDurationMs: 10 } } }, 'latency.low.segmentDurationMs', 10],
    [{ colour: 'blue' }, 'colour', 'blue'],
    [{ origin: { colour: 'blue' } }, 'origin.colour', 'blue'],
  ])('rejects %j with DR_ERR_CONFIG_INVALID naming %s', (input, key, value) => {
    let caught: unknown;
    try {
      resolveConfig(input as ConfigInput);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(DashrelayError);
    const err = caught as DashrelayError;
    expect(err.code).toBe('DR_ERR_CONFIG_INVALID');
    expect(err.message).toMatch(new RegExp(`^Invalid configuration: ${key.replaceAll('.', '\\.')}: `));
    expect(err.message).toContain(`(got ${JSON.stringify(value)})`);
  });
});

describe('latency profiles', () => {
  it('low: 1000 ms chunked segments; normal: 2000 ms whole segments', () => {
    expect(latencyProfiles.low).toMatchObject({
      segmentDurationMs: 1000,
      chunked: true,
      playerLiveDelayMs: 150,
    });
    expect(latencyProfiles.normal).toMatchObject({ segmentDurationMs: 2000, chunked: false });
    expect(Object.isFrozen(latencyProfiles)).toBe(true);
  });

  it('the active one follows latency.mode and its overrides', () => {
    const config = resolveConfig({ latency: { mode: 'normal', normal: { windowSegments: 20 } } });
    expect(activeProfile(config)).toEqual({ ...latencyProfiles.normal, windowSegments: 20 });
  });
});

describe('readOptions (flags and environment onto keys)', () => {
  it('converts text by the key’s type and nests it', () => {
    const read = readOptions(
      serveOptions,
      { port: '9000', 'analysis-fps': '2.5', 'trust-proxy': 'true' },
      {},
    );
    expect(read).toEqual({ config: { server: { port: 9000, trustProxy: true }, analysis: { fps: 2.5 } } });
  });

  it('takes the environment when the flag is absent, the flag when both are given', () => {
    expect(readOptions(serveOptions, {}, { PORT: '81', LOG_FORMAT: 'json' })).toEqual({
      config: { server: { port: 81 }, log: { format: 'json' } },
    });
    expect(readOptions(serveOptions, { port: '82' }, { PORT: '81' })).toEqual({
      config: { server: { port: 82 } },
    });
  });

  it('says what the key accepts, in words taken from the schema', () => {
    expect(readOptions(serveOptions, { port: '80.5' }, {})).toEqual({
      error: '--port must be an integer from 0 to 65535 (got "80.5")',
    });
    expect(readOptions(serveOptions, { 'analysis-fps': '0' }, {})).toEqual({
      error: '--analysis-fps must be a number in (0, 60] (got "0")',
    });
    expect(readOptions(serveOptions, { 'log-format': 'xml' }, {})).toEqual({
      error: '--log-format must be one of pretty, json (got "xml")',
    });
  });
});

describe('documented defaults', () => {
  it('docs/configuration.md is the schema’s reference (run `npm run docs:config` after changing the schema)', () => {
    expect(readFileSync(new URL('docs/configuration.md', root), 'utf8')).toBe(configurationReference());
  });

  it('documents every key, each with a description', () => {
    const keys = configKeys();
    expect(keys.length).toBeGreaterThan(30);
    for (const k of keys) expect(k.description, k.path).not.toBe('');
  });

  it.each(serveOptions.map((o) => [o.flag, o] as const))(
    '%s: README table row and --help give its default',
    (_flag, o) => {
      const row = readme.split('\n').find((line) => line.startsWith(`| \`${o.flag}`));
      expect(row, `README row for ${o.flag}`).toBeDefined();
      const cells = (row ?? '').split('|').map((c) => c.trim());
      expect(cells[2]).toBe(o.env ? `\`${o.env}\`` : '');
      const value = defaultAt(o.path);
      // A key without a default (`--sources`) has an empty cell and "default none" in --help.
      expect(cells[3]).toBe(value === undefined ? '' : `\`${String(value)}\``);
      const helpLine = serveHelp.split('\n').find((line) => line.trimStart().startsWith(`${o.flag} `));
      expect(helpLine).toContain(`(default ${value === undefined ? 'none' : String(value)})`);
      if (o.env) expect(helpLine).toContain(`[${o.env}]`);
    },
  );
});
