import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readdirSync, readlinkSync, realpathSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ArchiveSink, type ArchiveSinkOptions, archiveTimestamp } from '../../../src/archive/archive-sink.ts';
import { DashrelayError } from '../../../src/errors/errors.ts';
import { eventually } from '../../_setup.ts';

const startedAtMs = Date.UTC(2026, 10, 23, 22, 50, 0, 123);

/**
 * Makes the next writes to `path` fail with ENOSPC, as on a full disk: the descriptor the sink holds is
 * closed and reopened on /dev/full (POSIX gives `open` the lowest free descriptor, so lower free
 * ones are taken first and released after).
 */
function fillDiskUnder(path: string): void {
  const real = realpathSync(path);
  const fd = readdirSync('/proc/self/fd')
    .map(Number)
    .find((n) => {
      try {
        return readlinkSync(`/proc/self/fd/${n}`) === real;
      } catch {
        return false;
      }
    });
  if (fd === undefined) throw new Error(`no open descriptor for ${real}`);
  closeSync(fd);
  const fillers: number[] = [];
  for (;;) {
    const got = openSync('/dev/full', 'w');
    if (got === fd) break;
    fillers.push(got);
    if (got > fd) throw new Error(`descriptor ${fd} was taken before /dev/full could have it`);
  }
  for (const f of fillers) closeSync(f);
}

describe('archiveTimestamp', () => {
  it('is ISO 8601 UTC without colons', () => {
    expect(archiveTimestamp(startedAtMs)).toBe('2026-11-23T22-50-00.123Z');
  });
});

describe('ArchiveSink (temp dir)', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'dashrelay-archive-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  function options(extra: Partial<ArchiveSinkOptions> = {}): ArchiveSinkOptions {
    return {
      dir: join(root, 'cam', 'archive'),
      startedAtMs,
      extension: 'mkv',
      highWaterBytes: 64 * 1024,
      onError: () => {
        throw new Error('unexpected archive error');
      },
      ...extra,
    };
  }

  it('creates the directory and writes exactly the bytes received, in order', async () => {
    const sink = await ArchiveSink.open(options({ highWaterBytes: 1024 }));
    expect(sink.path).toBe(join(root, 'cam', 'archive', '2026-11-23T22-50-00.123Z.mkv'));
    const chunks = Array.from({ length: 200 }, (_, i) => randomBytes(1 + ((i * 7919) % 3000)));
    // Over the high-water mark `write` says "wait", but still keeps every byte.
    for (const c of chunks) sink.write(c);
    await sink.close();
    expect((await readFile(sink.path)).equals(Buffer.concat(chunks))).toBe(true);
  });

  it('names a WebM archive .webm', async () => {
    const sink = await ArchiveSink.open(options({ extension: 'webm' }));
    expect(sink.path.endsWith('2026-11-23T22-50-00.123Z.webm')).toBe(true);
    await sink.close();
    expect(await readFile(sink.path)).toHaveLength(0);
  });

  it('never overwrites an existing archive', async () => {
    const first = await ArchiveSink.open(options());
    first.write(Buffer.from('first session'));
    await first.close();
    const err = await ArchiveSink.open(options()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DashrelayError);
    expect(err).toMatchObject({ code: 'DR_ERR_ARCHIVE_WRITE', message: expect.stringContaining('EEXIST') });
    expect((await readFile(first.path)).toString()).toBe('first session');
  });

  it('fails to open with DR_ERR_ARCHIVE_WRITE when the directory cannot be created', async () => {
    const blocker = join(root, 'not-a-dir');
    await writeFile(blocker, '');
    const err = await ArchiveSink.open(options({ dir: join(blocker, 'archive') })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DashrelayError);
    expect(err).toMatchObject({ code: 'DR_ERR_ARCHIVE_WRITE' });
  });

  it('asks the publisher to wait above highWaterBytes and calls back once drained', async () => {
    const sink = await ArchiveSink.open(options({ highWaterBytes: 16 }));
    const drained = vi.fn();
    sink.onDrain(drained);
    expect(sink.write(Buffer.alloc(8, 1))).toBe(true);
    expect(sink.write(Buffer.alloc(32, 2))).toBe(false);
    await eventually(() => drained.mock.calls.length > 0 || undefined, 2000, 'drain');
    expect(drained).toHaveBeenCalledTimes(1);
    await sink.close();
    expect(await readFile(sink.path)).toEqual(Buffer.concat([Buffer.alloc(8, 1), Buffer.alloc(32, 2)]));
  });

  it.runIf(process.platform === 'linux')(
    'reports a failed write once, coded, and counts as drained so the publisher is not left paused',
    async () => {
      const onError = vi.fn();
      const sink = await ArchiveSink.open(options({ highWaterBytes: 16, onError }));
      const drained = vi.fn();
      sink.onDrain(drained);
      expect(sink.write(Buffer.from('kept'))).toBe(true);
      await eventually(
        async () => (await readFile(sink.path)).length === 4 || undefined,
        2000,
        'first write',
      );

      fillDiskUnder(sink.path);
      expect(sink.write(Buffer.alloc(32))).toBe(false);
      await eventually(() => onError.mock.calls.length > 0 || undefined, 2000, 'onError');
      expect(drained).toHaveBeenCalledTimes(1);
      const err: unknown = onError.mock.calls[0]?.[0];
      expect(err).toBeInstanceOf(DashrelayError);
      expect(err).toMatchObject({
        code: 'DR_ERR_ARCHIVE_WRITE',
        message: expect.stringMatching(/ENOSPC/),
      });
      expect((err as Error).message).toContain(sink.path);

      // Failed: later bytes are discarded without asking anyone to wait, and reported no more.
      expect(sink.write(Buffer.alloc(1024))).toBe(true);
      await sink.close();
      expect(onError).toHaveBeenCalledTimes(1);
      expect(drained).toHaveBeenCalledTimes(1);
      expect((await readFile(sink.path)).toString()).toBe('kept');
    },
  );

  it('closes idempotently, discarding writes after close', async () => {
    const sink = await ArchiveSink.open(options());
    sink.write(Buffer.from('before'));
    const closing = sink.close();
    expect(sink.close()).toBe(closing);
    expect(sink.write(Buffer.from('after'))).toBe(true);
    await closing;
    await sink.close();
    expect((await readFile(sink.path)).toString()).toBe('before');
  });
});
