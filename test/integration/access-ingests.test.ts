import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signToken } from '../../src/auth/tokens.ts';
import { type CliRun, cliPath, runCli } from '../_cli.ts';
import { eventually, fixture, pushRtmp, startServer, type TestServer } from '../_setup.ts';

/**
 * The same publish credentials on the other ingests: RTMP (the stream key as OBS sends it) and
 * `dashrelay publish`, against a server on 0.0.0.0 with a secret, as it would run on a LAN.
 */

const secret = 'an-ingest-test-secret-16+';
const key = 'the-key-of-keyed';

describe('publish credentials on RTMP and dashrelay publish', () => {
  let t: TestServer;
  let file: string;
  const children: ChildProcess[] = [];
  const runs: CliRun[] = [];

  /** ffmpeg pushing 4 s of H.264 as FLV to `url`, as OBS or a Pi would. */
  const push = async (url: string, rtmpOptions: string[] = []) => {
    const pushed = await pushRtmp(file, url, rtmpOptions);
    children.push(pushed.child);
    return pushed;
  };
  const publish = (args: string[], env: NodeJS.ProcessEnv = {}) => {
    const p = runCli(
      ['publish', '--server', t.url, '--preset', 'test', '--size', '320x240', '--duration', '4', ...args],
      { DASHRELAY_TOKEN: '', ...env },
    );
    runs.push(p);
    return p;
  };

  beforeAll(async () => {
    if (!existsSync(cliPath)) throw new Error('dist/ is missing: run `npm run build` (npm test does)');
    file = join(tmpdir(), `dashrelay-access-ingests-${process.pid}.mkv`);
    await writeFile(file, await fixture('h264', 4));
    t = await startServer({
      analyzers: [],
      config: {
        server: { host: '0.0.0.0' },
        auth: { secret, publishKeys: { keyed: key }, maxFailuresPerMinute: 100 },
      },
    });
  });
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    for (const p of runs) p.child.kill('SIGKILL');
    await t?.close();
  });

  const live = (stream: string) => eventually(() => t.server.registry.get(stream), 15_000, `${stream} live`);

  it('RTMP: takes cam1?token=<token> as the stream key, and names the stream cam1 everywhere', async () => {
    const token = await signToken(secret, { stream: 'cam1', action: 'publish' }, 60);
    const child = await push(`${t.server.rtmpUrl}/cam1?token=${token}`);
    await live('cam1');
    const mpd = await eventually(async () => {
      const res = await fetch(`${t.url}/live/cam1/manifest.mpd`);
      return res.ok ? res.text() : undefined;
    });
    const api = await (await fetch(`${t.url}/api/streams`)).text();
    for (const text of [mpd, api]) expect(text).not.toContain(token);
    expect(JSON.parse(api).streams).toEqual([expect.objectContaining({ name: 'cam1' })]);
    expect(await child.exited).toBe(0);
  });

  it('RTMP: takes a stream key as keyed/<key>, and as OBS sends Server …/live/keyed with Key <key>', async () => {
    // OBS connects to the application `live/keyed` and publishes the name `<key>`.
    const obs = ['-rtmp_app', `${t.server.rtmpUrl?.split('/').pop()}/keyed`, '-rtmp_playpath', key];
    for (const [url, options] of [
      [`${t.server.rtmpUrl}/keyed/${key}`, []],
      [`${t.server.rtmpUrl}/keyed`, obs],
    ] as const) {
      const child = await push(url, [...options]);
      await live('keyed');
      const api = await (await fetch(`${t.url}/api/streams`)).text();
      expect(api).not.toContain(key);
      expect(await child.exited).toBe(0);
      await eventually(
        () => t.server.registry.get('keyed') === undefined || undefined,
        15_000,
        'keyed ended',
      );
    }
  });

  it.each([
    ['no credential', async () => 'cam2'],
    ['a wrong key', async () => 'keyed/not-the-key'],
    [
      'a token for another stream',
      async () => `cam2?token=${await signToken(secret, { stream: 'cam3', action: 'publish' }, 60)}`,
    ],
    [
      'a play token',
      async () => `cam2?token=${await signToken(secret, { stream: 'cam2', action: 'play' }, 60)}`,
    ],
    [
      'a token of another secret',
      async () =>
        `cam2?token=${await signToken('some-other-secret-xx', { stream: 'cam2', action: 'publish' }, 60)}`,
    ],
  ])('RTMP: refuses %s (ffmpeg exits with an error, the stream never appears)', async (_why, name) => {
    const child = await push(`${t.server.rtmpUrl}/${await name()}`);
    expect(await child.exited).not.toBe(0);
    expect(child.stderr()).not.toBe('');
    expect(t.server.registry.get('cam2')).toBeUndefined();
    expect(t.server.registry.get('keyed')).toBeUndefined();
  });

  it('dashrelay publish: --token and DASHRELAY_TOKEN publish; the token is never printed', {
    timeout: 60_000,
  }, async () => {
    const token = await signToken(secret, { stream: 'cli1', action: 'publish' }, 60);
    const withFlag = publish(['--stream', 'cli1', '--token', token]);
    await live('cli1');
    expect(await withFlag.exited).toBe(0);
    expect(withFlag.stdout + withFlag.stderr).not.toContain(token);
    await eventually(() => t.server.registry.get('cli1') === undefined || undefined, 15_000, 'cli1 ended');
    const fromEnv = publish(['--stream', 'cli1'], { DASHRELAY_TOKEN: token });
    await live('cli1');
    expect(await fromEnv.exited).toBe(0);
    expect(fromEnv.stdout + fromEnv.stderr).not.toContain(token);
  });

  it('dashrelay publish: a wrong token ends at once with exit code 5 and says why, without the token', {
    timeout: 60_000,
  }, async () => {
    const wrong = await signToken('some-other-secret-xx', { stream: 'cli2', action: 'publish' }, 60);
    const p = publish(['--stream', 'cli2', '--token', wrong]);
    expect(await p.exited).toBe(5);
    const out = p.stdout + p.stderr;
    expect(out).toMatch(/DR_ERR_AUTH_INVALID/);
    expect(out).not.toContain(wrong);
    const none = publish(['--stream', 'cli2']);
    expect(await none.exited).toBe(5);
    expect(none.stdout + none.stderr).toMatch(/DR_ERR_AUTH_MISSING/);
    expect(t.server.registry.get('cli2')).toBeUndefined();
  });
});
