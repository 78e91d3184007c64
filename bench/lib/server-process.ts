import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from '../../test/_setup.ts';
import { childPids } from './proc-cpu.ts';

/** `dashrelay serve` as its own process (as a user runs it), so its CPU and memory can be measured. */
export async function startServerProcess(extraArgs: readonly string[] = []) {
  const port = await freePort();
  const output = await mkdtemp(join(tmpdir(), 'dashrelay-bench-'));
  const child: ChildProcess = spawn(
    process.execPath,
    [
      resolve('dist/cli/main.js'),
      'serve',
      '--port',
      String(port),
      '--rtmp-port',
      '0',
      '--output',
      output,
      ...extraArgs,
    ],
    {
      env: { ...process.env, LOG_FORMAT: 'json', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  let exit: string | undefined;
  let closing = false;
  child.once('exit', (code, signal) => {
    exit = signal ? `signal ${signal}` : `code ${code}`;
    if (!closing) console.error(`bench: the dashrelay server exited by itself (${exit})`);
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      if ((await fetch(`${url}/api/streams`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline || child.exitCode !== null)
      throw new Error('the dashrelay server did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    pid: child.pid ?? 0,
    ffmpegPids: () => childPids(child.pid ?? 0, 'ffmpeg'),
    /** How the server exited, if it did (`code 1`, `signal SIGKILL`). */
    exited: () => exit,
    async close() {
      closing = true;
      // A server that already exited has nothing to wait for ('close' would never come again).
      if (child.exitCode === null && child.signalCode === null) {
        const closed = new Promise((r) => child.once('close', r));
        child.kill('SIGTERM');
        await closed;
      }
      await rm(output, { recursive: true, force: true });
    },
  };
}
