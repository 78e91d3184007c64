import { describe, expect, it, vi } from 'vitest';
import {
  type FfmpegExit,
  FfmpegProcess,
  type FfmpegProcessOptions,
} from '../../../src/ffmpeg/ffmpeg-process.ts';
import { eventually } from '../../_setup.ts';

/** Fake ffmpegs: small node scripts standing in for the real binary. */
const scripts = {
  /** Reads stdin to its end, then exits 3. */
  readThenExit3: `process.stdin.on('data', () => {}); process.stdin.on('end', () => process.exit(3));`,
  exit2: 'process.exit(2);',
  /** Never reads stdin; exits after a while, like a packager that died with input pending. */
  neverReadsThenExits: 'setTimeout(() => process.exit(0), 300);',
  /** Never reads stdin and stays. */
  neverReads: 'setInterval(() => {}, 1000);',
  /** Reads stdin but does not exit at its end (a hung ffmpeg); says when it is listening. */
  ignoresEof: `process.stdin.resume(); setInterval(() => {}, 1000); process.stdout.write('ready');`,
  ignoresEofAndSigterm: `process.on('SIGTERM', () => {}); process.stdin.resume(); setInterval(() => {}, 1000); process.stdout.write('ready');`,
};

function start(script: string, extra: Partial<FfmpegProcessOptions> = {}) {
  const exits: FfmpegExit[] = [];
  let resolveExit: (exit: FfmpegExit) => void = () => {};
  const exited = new Promise<FfmpegExit>((resolve) => {
    resolveExit = resolve;
  });
  const stdout: Buffer[] = [];
  const proc = new FfmpegProcess({
    ffmpegPath: process.execPath,
    args: ['-e', script],
    highWaterBytes: 1024 * 1024,
    onStdout: (chunk) => stdout.push(chunk),
    onExit: (exit) => {
      exits.push(exit);
      resolveExit(exit);
    },
    ...extra,
  });
  const ready = () =>
    eventually(() => Buffer.concat(stdout).toString().includes('ready') || undefined, 10_000, 'child ready');
  return { proc, exits, exited, stdout, ready };
}

describe('FfmpegProcess (fake ffmpeg: a node script)', () => {
  it('reports an exit it did not ask for', async () => {
    const { proc, exited, exits } = start(scripts.exit2);
    expect(proc.pid).toBeTypeOf('number');
    expect(await exited).toEqual({ code: 2, signal: null, requested: false, stderrTail: '' });
    expect(proc.alive).toBe(false);
    expect(exits).toHaveLength(1);
  });

  it('stop() ends stdin: the child finishes reading and its exit is marked requested', async () => {
    const { proc, exited } = start(scripts.readThenExit3);
    expect(proc.write(Buffer.from('last bytes'))).toBe(true);
    await proc.stop();
    expect(await exited).toMatchObject({ code: 3, signal: null, requested: true });
  });

  it('passes stderr on line by line and keeps its tail for the exit', async () => {
    const lines: string[] = [];
    const { exited } = start(
      `process.stderr.write('first\\nsecond\\r\\nthi');
       setTimeout(() => { process.stderr.write('rd\\rfourth\\n\\n  \\nError: fatal\\n'); process.exit(1); }, 30);`,
      { onStderrLine: (line) => lines.push(line) },
    );
    const exit = await exited;
    expect(lines).toEqual(['first', 'second', 'third', 'fourth', 'Error: fatal']);
    expect(exit.code).toBe(1);
    expect(exit.stderrTail.split(/\r?\n|\r/).at(-1)).toBe('Error: fatal');
  });

  it('keeps only the last 2000 characters of stderr', async () => {
    const { exited } = start(`process.stderr.write('x'.repeat(5000) + '\\nthe end\\n');`);
    const { stderrTail } = await exited;
    expect(stderrTail.length).toBeLessThanOrEqual(2000);
    expect(stderrTail.endsWith('\nthe end')).toBe(true);
  });

  it('hands stdout to onStdout', async () => {
    const { exited, stdout } = start(
      `process.stdout.write(Buffer.from([0, 1, 2])); process.stdout.write('frame');`,
    );
    await exited;
    expect(Buffer.concat(stdout)).toEqual(Buffer.from([0, 1, 2, ...Buffer.from('frame')]));
  });

  it('discards stdout without onStdout, so a chatty child never blocks on it', async () => {
    const exits: FfmpegExit[] = [];
    const proc = new FfmpegProcess({
      ffmpegPath: process.execPath,
      args: ['-e', `process.stdout.write(Buffer.alloc(4 * 1024 * 1024));`],
      highWaterBytes: 1024,
      onExit: (exit) => exits.push(exit),
    });
    await eventually(() => exits[0], 10_000, 'exit');
    expect(exits[0]?.code).toBe(0);
    expect(proc.alive).toBe(false);
  });

  it('counts pending stdin bytes and answers false only past highWaterBytes', async () => {
    const roomy = start(scripts.neverReads, { highWaterBytes: 4 * 1024 * 1024 });
    const tight = start(scripts.neverReads, { highWaterBytes: 16 * 1024 });
    try {
      const mib = Buffer.alloc(1024 * 1024);
      // The pipe takes at most its capacity (64 KiB on Linux); the rest waits in the stream.
      expect(roomy.proc.write(mib)).toBe(true);
      expect(roomy.proc.pendingBytes).toBeGreaterThan(512 * 1024);
      expect(roomy.proc.pendingBytes).toBeLessThanOrEqual(mib.length);
      expect(tight.proc.write(mib)).toBe(false);
      expect(tight.proc.pendingBytes).toBeGreaterThan(16 * 1024);
    } finally {
      await roomy.proc.kill();
      await tight.proc.kill();
    }
  });

  // Regression: a publisher stayed paused for ever after the packager died with its stdin full.
  it('calls the drain callbacks once when the child exits with input pending', async () => {
    const journal: string[] = [];
    const { proc } = start(scripts.neverReadsThenExits, {
      highWaterBytes: 16 * 1024,
      onExit: () => journal.push('exit'),
    });
    proc.onDrain(() => journal.push('drain a'));
    proc.onDrain(() => journal.push('drain b'));
    expect(proc.write(Buffer.alloc(1024 * 1024))).toBe(false);
    await eventually(() => journal.includes('exit') || undefined, 10_000, 'exit');
    expect(journal).toEqual(['drain a', 'drain b', 'exit']);
  });

  it('discards writes after exit and says to go on', async () => {
    const { proc, exited } = start(scripts.exit2);
    await exited;
    expect(proc.write(Buffer.alloc(8 * 1024 * 1024))).toBe(true);
    expect(proc.write(Buffer.from('more'))).toBe(true);
  });

  it('stop() sends SIGTERM after stopTimeoutMs to a child that ignores the end of stdin', async () => {
    const { proc, exited, ready } = start(scripts.ignoresEof, { stopTimeoutMs: 100 });
    await ready();
    const t0 = performance.now();
    await proc.stop();
    const ms = performance.now() - t0;
    expect(await exited).toMatchObject({ code: null, signal: 'SIGTERM', requested: true });
    expect(ms).toBeGreaterThanOrEqual(90);
    expect(ms).toBeLessThan(1500);
  });

  it('stop() escalates to SIGKILL 2 s later for a child that ignores SIGTERM too', async () => {
    const { proc, exited, ready } = start(scripts.ignoresEofAndSigterm, { stopTimeoutMs: 50 });
    await ready();
    const t0 = performance.now();
    await proc.stop();
    const ms = performance.now() - t0;
    expect(await exited).toMatchObject({ signal: 'SIGKILL', requested: true });
    expect(ms).toBeGreaterThanOrEqual(2000);
    expect(ms).toBeLessThan(4000);
  });

  it('kill() kills at once; kill and stop are idempotent and report one exit', async () => {
    const { proc, exits, ready } = start(scripts.ignoresEofAndSigterm, { stopTimeoutMs: 10_000 });
    await ready();
    const t0 = performance.now();
    await Promise.all([proc.kill(), proc.kill(), proc.stop()]);
    expect(performance.now() - t0).toBeLessThan(1500);
    await proc.kill();
    await proc.stop();
    expect(exits).toEqual([{ code: null, signal: 'SIGKILL', requested: true, stderrTail: '' }]);
  });

  it('stop() waits for a child that exits by itself', async () => {
    const { proc, exits } = start(scripts.readThenExit3);
    await Promise.all([proc.stop(), proc.stop()]);
    await proc.stop();
    expect(exits).toHaveLength(1);
    expect(exits[0]?.code).toBe(3);
  });

  it('reports a binary that cannot be started as an exit with the reason in the tail', async () => {
    const onExit = vi.fn();
    const proc = new FfmpegProcess({
      ffmpegPath: '/nonexistent/ffmpeg',
      args: [],
      highWaterBytes: 1024,
      onExit,
    });
    expect(proc.write(Buffer.from('x'))).toBe(true);
    await eventually(() => onExit.mock.calls.length > 0 || undefined, 5000, 'exit');
    expect(onExit).toHaveBeenCalledWith({
      code: null,
      signal: null,
      requested: false,
      stderrTail: expect.stringContaining('ENOENT'),
    });
    expect(proc.alive).toBe(false);
    await proc.stop();
    await proc.kill();
    expect(onExit).toHaveBeenCalledTimes(1);
  });
});
