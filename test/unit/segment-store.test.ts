import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type LiveFile, parsePackagerFileName, SegmentStore } from '../../src/origin/segment-store.ts';

const b = (s: string): Buffer => Buffer.from(s);

/** Begins, fills and finishes `name`. */
function write(store: SegmentStore, name: string, ...chunks: string[]): LiveFile {
  const file = store.begin(name);
  for (const c of chunks) file.append(b(c));
  file.finish();
  return file;
}

describe('parsePackagerFileName', () => {
  it.each([
    ['manifest.mpd', { kind: 'manifest' }],
    ['init-0.m4s', { kind: 'init', representation: 0 }],
    ['init-3.m4s', { kind: 'init', representation: 3 }],
    ['seg-1-00042.m4s', { kind: 'media', representation: 1, number: 42 }],
    ['seg-0-123456.m4s', { kind: 'media', representation: 0, number: 123456 }],
  ])('%s → %o', (name, expected) => {
    expect(parsePackagerFileName(name)).toEqual(expected);
  });

  it.each(['../x', 'seg-0-1.m4s', 'manifest.mpd.tmp', 'init-a.m4s', '', 'index.html'])(
    '%j → undefined',
    (name) => {
      expect(parsePackagerFileName(name)).toBeUndefined();
    },
  );
});

describe('SegmentStore (memory only)', () => {
  it('emits started when a media segment begins and keeps its chunks as received', () => {
    const store = new SegmentStore('cam1');
    const started = vi.fn();
    store.on('started', started);
    const file = store.begin('seg-0-00001.m4s');
    expect(started).toHaveBeenCalledTimes(1);
    expect(started).toHaveBeenCalledWith(file);
    expect(store.get('seg-0-00001.m4s')).toBe(file);
    expect(file.complete).toBe(false);

    const onChunk = vi.fn();
    file.on('chunk', onChunk);
    file.append(b('ab'));
    file.append(b('cde'));
    expect(onChunk).toHaveBeenCalledTimes(2);
    expect(file.chunks.map(String)).toEqual(['ab', 'cde']);
    expect(file.size).toBe(5);

    const onEnd = vi.fn();
    file.on('end', onEnd);
    file.finish();
    expect(onEnd).toHaveBeenCalledTimes(1);
    expect(file.complete).toBe(true);
    expect(file.body().toString()).toBe('abcde');
  });

  it('emits started for init segments too', () => {
    const store = new SegmentStore('cam1');
    const started = vi.fn();
    store.on('started', started);
    write(store, 'init-0.m4s', 'moov');
    expect(started).toHaveBeenCalledTimes(1);
    expect(store.get('init-0.m4s')?.body().toString()).toBe('moov');
  });

  it('tracks the newest media segment number per representation', () => {
    const store = new SegmentStore('cam1');
    expect(store.newestSegmentNumber(0)).toBeUndefined();
    store.begin('seg-0-00001.m4s');
    expect(store.newestSegmentNumber(0)).toBe(1);
    store.begin('seg-0-00002.m4s');
    store.begin('seg-1-00007.m4s');
    expect(store.newestSegmentNumber(0)).toBe(2);
    expect(store.newestSegmentNumber(1)).toBe(7);
    // an older number does not move it back
    store.begin('seg-0-00001.m4s');
    expect(store.newestSegmentNumber(0)).toBe(2);
  });

  it('serves a manifest only once it is complete, and the old one meanwhile', () => {
    const store = new SegmentStore('cam1');
    const onManifest = vi.fn();
    store.on('manifest', onManifest);
    const started = vi.fn();
    store.on('started', started);

    expect(store.manifest).toBeUndefined();
    const first = store.begin('manifest.mpd');
    first.append(b('<MPD v1'));
    expect(store.manifest).toBeUndefined();
    first.append(b('/>'));
    first.finish();
    expect(store.manifest?.toString()).toBe('<MPD v1/>');
    expect(onManifest).toHaveBeenCalledTimes(1);

    const second = store.begin('manifest.mpd');
    second.append(b('<MPD v2'));
    expect(store.manifest?.toString()).toBe('<MPD v1/>');
    second.append(b('/>'));
    second.finish();
    expect(store.manifest?.toString()).toBe('<MPD v2/>');
    expect(onManifest).toHaveBeenCalledTimes(2);
    expect(onManifest).toHaveBeenLastCalledWith(b('<MPD v2/>'));

    // the manifest is not a segment: no `started`, not in get()
    expect(started).not.toHaveBeenCalled();
    expect(store.get('manifest.mpd')).toBeUndefined();
  });

  it('keeps the old manifest when a rewrite is aborted', () => {
    const store = new SegmentStore('cam1');
    write(store, 'manifest.mpd', '<MPD v1/>');
    const partial = store.begin('manifest.mpd');
    partial.append(b('<MPD v2'));
    partial.abort();
    expect(store.manifest?.toString()).toBe('<MPD v1/>');
  });

  it('remove drops a segment', () => {
    const store = new SegmentStore('cam1');
    write(store, 'seg-0-00001.m4s', 'x');
    write(store, 'seg-0-00002.m4s', 'y');
    store.remove('seg-0-00001.m4s');
    expect(store.get('seg-0-00001.m4s')).toBeUndefined();
    expect(store.get('seg-0-00002.m4s')).toBeDefined();
    // the newest number is remembered after deletion
    store.remove('seg-0-00002.m4s');
    expect(store.newestSegmentNumber(0)).toBe(2);
  });

  it('remove of the manifest keeps serving it', () => {
    const store = new SegmentStore('cam1');
    write(store, 'manifest.mpd', '<MPD/>');
    store.remove('manifest.mpd');
    expect(store.manifest?.toString()).toBe('<MPD/>');
  });

  it('remove of an unknown name is harmless', () => {
    const store = new SegmentStore('cam1');
    expect(() => store.remove('seg-0-00009.m4s')).not.toThrow();
  });

  it('a segment begun again replaces the earlier, incomplete one and aborts it', () => {
    const store = new SegmentStore('cam1');
    const first = store.begin('seg-0-00001.m4s');
    const onAbort = vi.fn();
    first.on('abort', onAbort);
    const second = store.begin('seg-0-00001.m4s');
    expect(onAbort).toHaveBeenCalledTimes(1);
    expect(first.aborted).toBe(true);
    expect(store.get('seg-0-00001.m4s')).toBe(second);
  });

  it('evicts media segments beyond maxSegmentsPerRepresentation, per representation', () => {
    const store = new SegmentStore('cam1', { maxSegmentsPerRepresentation: 3 });
    write(store, 'init-0.m4s', 'init');
    write(store, 'seg-1-00001.m4s', 'other');
    for (let n = 1; n <= 4; n++) write(store, `seg-0-${String(n).padStart(5, '0')}.m4s`, `s${n}`);
    const incomplete = store.begin('seg-0-00005.m4s');

    expect(store.get('seg-0-00001.m4s')).toBeUndefined();
    expect(store.get('seg-0-00002.m4s')).toBeUndefined();
    expect(store.get('seg-0-00003.m4s')).toBeDefined();
    expect(store.get('seg-0-00004.m4s')).toBeDefined();
    expect(store.get('seg-0-00005.m4s')).toBe(incomplete);
    // init segments and other representations are untouched
    expect(store.get('init-0.m4s')).toBeDefined();
    expect(store.get('seg-1-00001.m4s')).toBeDefined();
  });

  it('aborts an incomplete segment when it is evicted', () => {
    const store = new SegmentStore('cam1', { maxSegmentsPerRepresentation: 1 });
    const stalled = store.begin('seg-0-00001.m4s');
    store.begin('seg-0-00002.m4s');
    expect(store.get('seg-0-00001.m4s')).toBeUndefined();
    expect(stalled.aborted).toBe(true);
  });

  it('keeps 30 segments per representation by default', () => {
    const store = new SegmentStore('cam1');
    for (let n = 1; n <= 31; n++) write(store, `seg-0-${String(n).padStart(5, '0')}.m4s`, 'x');
    expect(store.get('seg-0-00001.m4s')).toBeUndefined();
    expect(store.get('seg-0-00002.m4s')).toBeDefined();
  });

  it('close() aborts incomplete files and leaves complete ones', async () => {
    const store = new SegmentStore('cam1');
    const done = write(store, 'seg-0-00001.m4s', 'x');
    const open = store.begin('seg-0-00002.m4s');
    const onAbort = vi.fn();
    open.on('abort', onAbort);
    await store.close();
    expect(store.closed).toBe(true);
    expect(onAbort).toHaveBeenCalledTimes(1);
    expect(open.aborted).toBe(true);
    expect(done.aborted).toBe(false);
  });
});

describe('SegmentStore (with diskDir)', () => {
  let root: string;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'dashrelay-segment-store-'));
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('writes a finished segment to disk (creating the directory)', async () => {
    const diskDir = join(root, 'cam1', 'live');
    const store = new SegmentStore('cam1', { diskDir });
    write(store, 'init-0.m4s', 'in', 'it');
    write(store, 'seg-0-00001.m4s', 'seg', 'ment');
    await store.close();
    expect(await readFile(join(diskDir, 'init-0.m4s'), 'utf8')).toBe('init');
    expect(await readFile(join(diskDir, 'seg-0-00001.m4s'), 'utf8')).toBe('segment');
  });

  it('does not write an incomplete segment', async () => {
    const store = new SegmentStore('cam1', { diskDir: root });
    store.begin('seg-0-00001.m4s').append(b('half'));
    await store.close();
    expect(existsSync(join(root, 'seg-0-00001.m4s'))).toBe(false);
  });

  it('writes the manifest whole, leaving no temporary file', async () => {
    const store = new SegmentStore('cam1', { diskDir: root });
    write(store, 'manifest.mpd', '<MPD ', 'v1/>');
    write(store, 'manifest.mpd', '<MPD ', 'v2/>');
    await store.close();
    expect(await readFile(join(root, 'manifest.mpd'), 'utf8')).toBe('<MPD v2/>');
    expect(await readdir(root)).toEqual(['manifest.mpd']);
  });

  it('remove deletes the file from disk', async () => {
    const store = new SegmentStore('cam1', { diskDir: root });
    write(store, 'seg-0-00001.m4s', 'a');
    write(store, 'seg-0-00002.m4s', 'b');
    store.remove('seg-0-00001.m4s');
    await store.close();
    expect((await readdir(root)).sort()).toEqual(['seg-0-00002.m4s']);
  });

  it('reports an unwritable diskDir through onDiskError without throwing', async () => {
    const blocker = join(root, 'not-a-directory');
    await writeFile(blocker, 'x');
    const onDiskError = vi.fn();
    const store = new SegmentStore('cam1', { diskDir: join(blocker, 'live'), onDiskError });
    expect(() => {
      write(store, 'seg-0-00001.m4s', 'a');
      write(store, 'manifest.mpd', '<MPD/>');
      store.remove('seg-0-00001.m4s');
    }).not.toThrow();
    await expect(store.close()).resolves.toBeUndefined();
    expect(onDiskError).toHaveBeenCalled();
    const err = onDiskError.mock.calls[0]?.[0] as NodeJS.ErrnoException | undefined;
    expect(err).toBeInstanceOf(Error);
    expect(err?.code).toMatch(/ENOTDIR|EEXIST/);
    // memory delivery is unaffected
    expect(store.manifest?.toString()).toBe('<MPD/>');
  });

  it('without onDiskError a disk failure is swallowed', async () => {
    const blocker = join(root, 'file');
    await writeFile(blocker, 'x');
    const store = new SegmentStore('cam1', { diskDir: join(blocker, 'live') });
    write(store, 'seg-0-00001.m4s', 'a');
    await expect(store.close()).resolves.toBeUndefined();
  });
});
