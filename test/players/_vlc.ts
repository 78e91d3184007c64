import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasCommand, onLines, type PlayerDef, type PlayerSample, pushBounded } from './_harness.ts';

const vlcBin = process.env.DASHRELAY_VLC ?? 'vlc';

/**
 * VLC with the `rc` interface and dummy video/audio outputs, asked `get_time` every 200 ms. get_time is
 * whole seconds, so every reading counts for "playing", but only the moment it ticks over (position
 * n+1 reached now) is used for latency: that is within 200 ms of the truth.
 * VLC refuses to run as root: as root it runs as `nobody` (setpriv).
 */
export const vlcRc: PlayerDef = {
  name: 'vlc',
  positionIsPresentationTime: false,
  async missing() {
    if (!hasCommand(vlcBin)) return `${vlcBin} not found: apt-get install vlc-bin vlc-plugin-base`;
    if (process.getuid?.() === 0 && !hasCommand('setpriv'))
      return 'VLC will not run as root and setpriv (util-linux) is missing';
    return undefined;
  },
  async start(ctx) {
    const samples: PlayerSample[] = [];
    const errors: string[] = [];
    const warnings: string[] = [];
    // Its own HOME in the temp directory: when VLC runs as nobody it must be able to write there.
    const home = mkdtempSync(join(tmpdir(), 'dashrelay-vlc-'));
    chmodSync(home, 0o777);
    const vlcArgs = [
      '-I',
      'rc',
      '--rc-fake-tty',
      '--vout',
      'dummy',
      '--aout',
      'dummy',
      '--no-video-title-show',
      '--no-interact',
      ctx.manifestUrl,
    ];
    const asRoot = process.getuid?.() === 0;
    const [cmd, args] = asRoot
      ? ['setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', vlcBin, ...vlcArgs]]
      : [vlcBin, vlcArgs];
    const child = spawn(cmd, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, HOME: home, XDG_CONFIG_HOME: home, XDG_CACHE_HOME: home, XDG_DATA_HOME: home },
    });
    let last: number | null = null;
    onLines(child.stdout, (raw) => {
      const line = raw.replace(/^(>\s*)+/, '').trim();
      if (!/^\d+$/.test(line)) return;
      const t = Number(line);
      samples.push({ atMs: Date.now(), positionS: t, forLatency: last !== null && t === last + 1 });
      last = t;
    });
    child.stderr.on('data', (d: Buffer) => {
      for (const line of d.toString().split('\n')) {
        if (
          / error:/.test(line) &&
          !/(dbus|globalhotkeys|interface).*initialization failed|no suitable interface/.test(line)
        )
          pushBounded(errors, line.trim());
        else if (/ warning:|discontinuity|failed/.test(line)) pushBounded(warnings, line.trim());
      }
    });
    child.stdin.on('error', () => {});
    const poll = setInterval(() => {
      if (child.exitCode === null && child.stdin.writable) child.stdin.write('get_time\n');
    }, 200);
    const closed = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
    child.on('error', (e) => pushBounded(errors, `spawn: ${e.message}`));
    return {
      samples,
      errors,
      warnings,
      async stop() {
        clearInterval(poll);
        const exitedEarly = child.exitCode !== null;
        if (!exitedEarly) child.stdin.end('quit\n');
        const t = setTimeout(() => child.kill('SIGKILL'), 5000);
        const code = await closed;
        clearTimeout(t);
        rmSync(home, { recursive: true, force: true });
        return { exitedBeforeStop: exitedEarly, exitCode: code, runAs: asRoot ? 'nobody (setpriv)' : 'self' };
      },
    };
  },
};
