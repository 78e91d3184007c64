import { type ChildProcess, execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliRun, cliPath, runCli as runBuiltCli } from '../_cli.ts';
import {
  eventually,
  ffmpeg,
  fixture,
  fixtureMimeTypes,
  freePort,
  sha256,
  sleep,
  startServer,
  TestPublisher,
  type TestServer,
} from '../_setup.ts';

const cli = cliPath;
const exec = promisify(execFile);

/** The CLI with JSON logs, which the tests read. */
function runCli(args: string[], env: NodeJS.ProcessEnv = {}): CliRun {
  return runBuiltCli(args, { LOG_FORMAT: 'json', ...env });
}

describe('dashrelay CLI', () => {
  beforeAll(() => {
    if (!existsSync(cli)) throw new Error('dist/ is missing: run `npm run build` (npm test does)');
  });

  it.each([
    [['serve', '--port', 'abc'], /--port must be an integer/],
    [['serve', '--latency', 'fast'], /--latency must be one of low, normal/],
    [['serve', '--bogus'], /Unknown option '--bogus'/],
    [['publish', '--input', 'x'], /--stream is required/],
    [['publish', '--stream', 'a b', '--input', 'x'], /--stream must be/],
    [['frobnicate'], /unknown command "frobnicate"/],
  ])('%j exits 2 with a message naming the problem', async (args, message) => {
    const run = runCli(args);
    expect(await run.exited).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).toMatch(/--help/);
  });

  it.each([['serve'], ['publish'], []])('%j --help prints usage and exits 0', async (...cmd) => {
    const run = runCli([...cmd.filter(Boolean), '--help']);
    expect(await run.exited).toBe(0);
    expect(run.stdout).toMatch(/^Usage: dashrelay/);
  });

  it('explains how to get ffmpeg when it is missing', async () => {
    const run = runCli(['serve', '--port', '0'], { FFMPEG_PATH: '/nonexistent/ffmpeg' });
    expect(await run.exited).toBe(1);
    expect(run.stderr).toMatch(/ffmpeg \(\/nonexistent\/ffmpeg, from FFMPEG_PATH\) was not found/);
    expect(run.stderr).toMatch(/apt-get install ffmpeg/);
    expect(run.stderr).toMatch(/DR_ERR_FFMPEG_MISSING/);
  });

  /**
   * `dashrelay serve` on a free port with one WebSocket publisher whose fixture the server has
   * received whole; `archive()` reads the archive file once the server is gone.
   */
  async function serveOnePublisher(stream: string) {
    const port = await freePort();
    const output = await mkdtemp(join(tmpdir(), 'dashrelay-cli-'));
    const server = runCli(['serve', '--port', String(port), '--rtmp-port', '0', '--output', output]);
    await eventually(() => (server.stdout.includes('capture:') ? true : undefined), 15_000, 'server start');
    const data = await fixture('h264');
    const pub = new TestPublisher(`ws://127.0.0.1:${port}`, stream);
    await pub.hello(fixtureMimeTypes.h264);
    await pub.sendPaced(data, 16 * 1024, 20);
    await eventually(
      () =>
        pub.messages.some((m) => m.type === 'status' && m.bytesReceived === data.length) ? true : undefined,
      10_000,
      'server has every byte',
    );
    const archive = async () => {
      const dir = join(output, stream, 'archive');
      const [name] = await readdir(dir);
      return join(dir, name ?? '');
    };
    const cleanUp = async () => {
      server.child.kill('SIGKILL');
      await rm(output, { recursive: true, force: true });
    };
    return { server, data, pub, archive, cleanUp };
  }

  it('shuts down gracefully on SIGTERM: publisher told, archive closed with every byte', async () => {
    const { server, data, pub, archive, cleanUp } = await serveOnePublisher('bye');
    try {
      server.child.kill('SIGTERM');
      await pub.closed;
      expect(pub.closeCode).toBe(1001);
      expect(pub.messages.at(-1)).toMatchObject({ type: 'error', code: 'DR_ERR_SERVER_SHUTDOWN' });
      expect(await server.exited).toBe(0);
      expect(sha256(await readFile(await archive()))).toBe(sha256(data));
    } finally {
      await cleanUp();
    }
  });

  it('after kill -9 of the server the archive holds every byte received, and decodes', async () => {
    const { server, data, archive, cleanUp } = await serveOnePublisher('crash');
    try {
      server.child.kill('SIGKILL');
      await server.exited;
      const file = await archive();
      expect(sha256(await readFile(file))).toBe(sha256(data));
      const probe = await exec((await ffmpeg()).path, [
        '-hide_banner',
        '-v',
        'error',
        '-i',
        file,
        '-f',
        'null',
        '-',
      ]);
      expect(probe.stderr).toBe('');
    } finally {
      await cleanUp();
    }
  });

  describe('publish', () => {
    let t: TestServer;
    beforeAll(async () => {
      t = await startServer({ analyzers: [] });
    });
    afterAll(async () => {
      await t?.close();
    });

    it('publishes a lavfi test source with sound as a live stream', async () => {
      const run: { child: ChildProcess; exited: Promise<number | null>; stdout: string } = runCli([
        'publish',
        '--server',
        t.url,
        '--stream',
        'cli',
        '--input',
        'testsrc2=size=320x240:rate=30',
        '--input-format',
        'lavfi',
        '--audio',
        'sine=frequency=440',
        '--audio-format',
        'lavfi',
        '--duration',
        '4',
      ]);
      // live() is set once the session's sinks are wired, a moment after the registry claims the name.
      await eventually(() => t.server.live('cli'), 10_000, 'live session');
      const info = await eventually(() => t.server.registry.get('cli'), 10_000, 'publisher session');
      expect(info.info.mimeType).toBe('video/x-matroska;codecs=avc1,opus');
      const mpd = await (await fetch(`${t.url}/live/cli/manifest.mpd`)).text();
      expect(mpd).toMatch(/contentType="audio"/);
      expect(await run.exited).toBe(0);
      expect(run.stdout).toMatch(/live: watch at http:\/\/127\.0\.0\.1:\d+\/viewer\.html\?stream=cli/);
      await eventually(() => t.server.registry.get('cli') === undefined || undefined, 20_000, 'session end');
      const dir = join(t.outputDir, 'cli', 'archive');
      const [name] = await readdir(dir);
      expect((await stat(join(dir, name ?? ''))).size).toBeGreaterThan(50_000);
    });

    it('stops on SIGTERM: ffmpeg ended, the session closed, exit code 0', async () => {
      const run = runCli([
        'publish',
        '--server',
        t.url,
        '--stream',
        'cli-term',
        '--input',
        'testsrc2=size=320x240:rate=30',
        '--input-format',
        'lavfi',
        '--no-audio',
      ]);
      await eventually(() => t.server.live('cli-term'), 10_000, 'live session');
      await eventually(() => (run.stdout.includes('ffmpeg') ? true : undefined), 10_000, 'ffmpeg started');
      await sleep(1000);
      run.child.kill('SIGTERM');
      // Before: it waited for a socket flush that a closed socket never finishes, and never exited.
      expect(await run.exited).toBe(0);
      expect(run.stdout).toMatch(/stopping/);
      await eventually(
        () => t.server.registry.get('cli-term') === undefined || undefined,
        20_000,
        'session end',
      );
    });

    it('with --no-reconnect: fails clearly (exit 6) when no server listens', async () => {
      const port = await freePort();
      const run = runCli([
        'publish',
        '--server',
        `http://127.0.0.1:${port}`,
        '--stream',
        'x',
        '--input',
        'testsrc2',
        '--input-format',
        'lavfi',
        '--no-reconnect',
      ]);
      expect(await run.exited).toBe(6);
      expect(run.stderr).toMatch(/cannot reach .*Is `dashrelay serve` running\?; not reconnecting/);
    });
  });
});
