import { describe, expect, it } from 'vitest';
import { parseServeArgs } from '../../../src/cli/serve.ts';
import { UsageError } from '../../../src/cli/usage-error.ts';

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error');
}

describe('parseServeArgs', () => {
  it('returns no overrides without flags or environment', () => {
    expect(parseServeArgs([], {})).toEqual({ help: false, config: {}, analyzers: [], noAnalysis: false });
  });

  it('reads every flag', () => {
    const result = parseServeArgs(
      [
        '--host',
        '0.0.0.0',
        '--port',
        '9000',
        '--output',
        '/data/relay',
        '--latency',
        'normal',
        '--analysis-fps',
        '2.5',
        '--analysis-width',
        '640',
        '--analyzer',
        './a.js',
        '--analyzer',
        '/opt/b.mjs',
        '--no-analysis',
      ],
      {},
    );
    expect(result).toEqual({
      help: false,
      config: {
        server: { host: '0.0.0.0', port: 9000 },
        outputDir: '/data/relay',
        latency: { mode: 'normal' },
        analysis: { fps: 2.5, widthPx: 640 },
      },
      analyzers: ['./a.js', '/opt/b.mjs'],
      noAnalysis: true,
    });
  });

  it.each([
    [['--trust-proxy', 'true'], {}, true],
    [['--trust-proxy', 'false'], {}, false],
    [['--trust-proxy', '127.0.0.1,10.0.0.0/8'], {}, '127.0.0.1,10.0.0.0/8'],
    [[], { TRUST_PROXY: 'true' }, true],
  ] as const)('reads --trust-proxy %j / env %j', (argv, env, want) => {
    const r = parseServeArgs(argv, env);
    expect(r.help === false && r.config.server?.trustProxy).toBe(want);
  });

  it('accepts --flag=value', () => {
    const result = parseServeArgs(['--port=0', '--host=::'], {});
    expect(result).toMatchObject({ config: { server: { port: 0, host: '::' } } });
  });

  it('falls back to HOST, PORT, OUTPUT_DIR and LATENCY', () => {
    const result = parseServeArgs([], {
      HOST: '0.0.0.0',
      PORT: '3000',
      OUTPUT_DIR: '/srv/out',
      LATENCY: 'normal',
    });
    expect(result).toMatchObject({
      help: false,
      config: { server: { host: '0.0.0.0', port: 3000 }, outputDir: '/srv/out', latency: { mode: 'normal' } },
    });
  });

  it('lets flags win over the environment', () => {
    const result = parseServeArgs(
      ['--host', '127.0.0.2', '--port', '4000', '--output', './o', '--latency', 'low'],
      {
        HOST: '0.0.0.0',
        PORT: '3000',
        OUTPUT_DIR: '/srv/out',
        LATENCY: 'normal',
      },
    );
    expect(result).toMatchObject({
      config: { server: { host: '127.0.0.2', port: 4000 }, outputDir: './o', latency: { mode: 'low' } },
    });
  });

  it('ignores unrelated environment variables', () => {
    expect(parseServeArgs([], { PATH: '/usr/bin', FFMPEG_PATH: '/x' })).toMatchObject({ config: {} });
  });

  it.each([['--help'], ['-h'], ['--port', 'abc', '--help']])('%s → help', (...argv) => {
    expect(parseServeArgs(argv, {})).toEqual({ help: true });
  });

  it.each([
    { argv: ['--port', 'abc'], env: {}, flag: '--port', got: 'abc' },
    { argv: ['--port', '70000'], env: {}, flag: '--port', got: '70000' },
    { argv: ['--port=-1'], env: {}, flag: '--port', got: '-1' },
    { argv: ['--port', '80.5'], env: {}, flag: '--port', got: '80.5' },
    { argv: [], env: { PORT: 'eighty' }, flag: '--port', got: 'eighty' },
    { argv: ['--latency', 'fast'], env: {}, flag: '--latency', got: 'fast' },
    { argv: [], env: { LATENCY: 'ultra' }, flag: '--latency', got: 'ultra' },
    { argv: ['--analysis-fps', '0'], env: {}, flag: '--analysis-fps', got: '0' },
    { argv: ['--analysis-fps', '61'], env: {}, flag: '--analysis-fps', got: '61' },
    { argv: ['--analysis-fps', 'many'], env: {}, flag: '--analysis-fps', got: 'many' },
    { argv: ['--analysis-width', '8'], env: {}, flag: '--analysis-width', got: '8' },
  ])('$argv $env → UsageError naming $flag', ({ argv, env, flag, got }) => {
    const err = thrown(() => parseServeArgs(argv, env));
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).name).toBe('UsageError');
    expect((err as Error).message).toMatch(new RegExp(`^${flag} must `));
    expect((err as Error).message).toContain(`(got "${got}")`);
  });

  it('names the latency modes in the --latency error', () => {
    expect((thrown(() => parseServeArgs(['--latency', 'fast'], {})) as Error).message).toContain(
      'low, normal',
    );
  });

  it.each([
    { argv: ['--colour', 'red'], code: 'ERR_PARSE_ARGS_UNKNOWN_OPTION' },
    { argv: ['--prot', '8080'], code: 'ERR_PARSE_ARGS_UNKNOWN_OPTION' },
    { argv: ['extra'], code: 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL' },
    { argv: ['--port'], code: 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' },
  ])('$argv → $code', ({ argv, code }) => {
    expect(thrown(() => parseServeArgs(argv, {}))).toMatchObject({ code });
  });
});
