import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { PublishedManifest } from '../../../src/contracts/segments.ts';
import type { LiveFile } from '../../../src/live/live-file.ts';
import { SegmentStore, type SegmentStoreOptions } from '../../../src/live/segment-store.ts';
import { ffmpegDashNaming } from '../../../src/packager/ffmpeg/file-names.ts';

const b = (s: string): Buffer => Buffer.from(s);

/** A store with ffmpeg's segment names. */
function storeWith(options: Partial<SegmentStoreOptions> = {}): SegmentStore {
  return new SegmentStore('cam1', { naming: ffmpegDashNaming, ...options });
}

/** Begins `name`, which must be a segment name of the store's naming. */
function begin(store: SegmentStore, name: string): LiveFile {
  const file = store.begin(name);
  if (!file) throw new Error(`${name} is not a segment name`);
  return file;
}

/** Begins, fills and finishes `name`. */
function write(store: SegmentStore, name: string, ...chunks: string[]): LiveFile {
  const file = begin(store, name);
  for (const c of chunks) file.append(b(c));
  file.finish();
  return file;
}

/** A packager manifest with no media description (the store does not read it). */
function mpd(text: string): PublishedManifest {
  return { raw: b(text), adaptationSets: [] };
}

describe('SegmentStore (memory only)', () => {
  it('emits started when a media segment begins and keeps its chunks as received', () => {
    const store = storeWith();
    const started = vi.fn();
    store.on('started', started);
    const file = begin(store, 'seg-0-00001.m4s');
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
    const store = storeWith();
    const started = vi.fn();
    store.on('started', started);
    write(store, 'init-0.m4s', 'moov');
    expect(started).toHaveBeenCalledTimes(1);
    expect(store.get('init-0.m4s')?.body().toString()).toBe('moov');
  });

  it('tracks the newest media segment number per representation', () => {
    const store = storeWith();
    expect(store.newestSegmentNumber(0)).toBeUndefined();
    begin(store, 'seg-0-00001.m4s');
    expect(store.newestSegmentNumber(0)).toBe(1);
    begin(store, 'seg-0-00002.m4s');
    begin(store, 'seg-1-00007.m4s');
    expect(store.newestSegmentNumber(0)).toBe(2);
    expect(store.newestSegmentNumber(1)).toBe(7);
    // an older number does not move it back
    begin(store, 'seg-0-00001.m4s');
    expect(store.newestSegmentNumber(0)).toBe(2);
  });

  it('serves the newest published manifest and announces it', () => {
    const store = storeWith();
    const onManifest = vi.fn();
    store.on('manifest', onManifest);
    const started = vi.fn();
    store.on('started', started);
    expect(store.manifest).toBeUndefined();
    const v1 = mpd('<MPD v1/>');
    store.publishManifest(v1);
    expect(store.manifest).toBe(v1);
    const v2 = mpd('<MPD v2/>');
    store.publishManifest(v2);
    expect(store.manifest?.raw.toString()).toBe('<MPD v2/>');
    expect(onManifest).toHaveBeenLastCalledWith(v2);
    // the manifest is not a segment: no `started`, not in get()
    expect(started).not.toHaveBeenCalled();
    expect(store.get('manifest.mpd')).toBeUndefined();
  });

  it('refuses a name its naming does not know', () => {
    const store = storeWith();
    expect(store.begin('manifest.mpd')).toBeUndefined();
    expect(store.begin('../etc/passwd')).toBeUndefined();
    expect(store.classify('seg-0-00001.m4s')).toEqual({ kind: 'media', representation: 0, number: 1 });
  });

  it('gives each file its kind', () => {
    const store = storeWith();
    expect(write(store, 'init-1.m4s', 'x').kind).toEqual({ kind: 'init', representation: 1 });
  });

  it('remove drops a segment', () => {
    const store = storeWith();
    write(store, 'seg-0-00001.m4s', 'x');
    write(store, 'seg-0-00002.m4s', 'y');
    store.remove('seg-0-00001.m4s');
    expect(store.get('seg-0-00001.m4s')).toBeUndefined();
    expect(store.get('seg-0-00002.m4s')).toBeDefined();
    // the newest number is remembered after deletion
    store.remove('seg-0-00002.m4s');
    expect(store.newestSegmentNumber(0)).toBe(2);
  });

  it('remove of an unknown name is harmless', () => {
    const store = storeWith();
    expect(() => store.remove('seg-0-00009.m4s')).not.toThrow();
  });

  it('a segment begun again replaces the earlier, incomplete one and aborts it', () => {
    const store = storeWith();
    const first = begin(store, 'seg-0-00001.m4s');
    const onAbort = vi.fn();
    first.on('abort', onAbort);
    const second = begin(store, 'seg-0-00001.m4s');
    expect(onAbort).toHaveBeenCalledTimes(1);
    expect(first.aborted).toBe(true);
    expect(store.get('seg-0-00001.m4s')).toBe(second);
  });

  it('evicts media segments beyond maxSegmentsPerRepresentation, per representation', () => {
    const store = storeWith({ maxSegmentsPerRepresentation: 3 });
    write(store, 'init-0.m4s', 'init');
    write(store, 'seg-1-00001.m4s', 'other');
    for (let n = 1; n <= 4; n++) write(store, `seg-0-${String(n).padStart(5, '0')}.m4s`, `s${n}`);
    const incomplete = begin(store, 'seg-0-00005.m4s');

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
    const store = storeWith({ maxSegmentsPerRepresentation: 1 });
    const stalled = begin(store, 'seg-0-00001.m4s');
    begin(store, 'seg-0-00002.m4s');
    expect(store.get('seg-0-00001.m4s')).toBeUndefined();
    expect(stalled.aborted).toBe(true);
  });

  it('keeps 30 segments per representation by default', () => {
    const store = storeWith();
    for (let n = 1; n <= 31; n++) write(store, `seg-0-${String(n).padStart(5, '0')}.m4s`, 'x');
    expect(store.get('seg-0-00001.m4s')).toBeUndefined();
    expect(store.get('seg-0-00002.m4s')).toBeDefined();
  });

  it('close() aborts incomplete files and leaves complete ones', async () => {
    const store = storeWith();
    const done = write(store, 'seg-0-00001.m4s', 'x');
    const open = begin(store, 'seg-0-00002.m4s');
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
    const store = storeWith({ diskDir });
    write(store, 'init-0.m4s', 'in', 'it');
    write(store, 'seg-0-00001.m4s', 'seg', 'ment');
    await store.close();
    expect(await readFile(join(diskDir, 'init-0.m4s'), 'utf8')).toBe('init');
    expect(await readFile(join(diskDir, 'seg-0-00001.m4s'), 'utf8')).toBe('segment');
  });

  it('does not write an incomplete segment', async () => {
    const store = storeWith({ diskDir: root });
    begin(store, 'seg-0-00001.m4s').append(b('half'));
    await store.close();
    expect(existsSync(join(root, 'seg-0-00001.m4s'))).toBe(false);
  });

  it('writes the manifest whole, leaving no temporary file', async () => {
    const store = storeWith({ diskDir: root });
    store.publishManifest(mpd('<MPD v1/>'));
    store.publishManifest(mpd('<MPD v2/>'));
    await store.close();
    expect(await readFile(join(root, 'manifest.mpd'), 'utf8')).toBe('<MPD v2/>');
    expect(await readdir(root)).toEqual(['manifest.mpd']);
  });

  it('remove deletes the file from disk', async () => {
    const store = storeWith({ diskDir: root });
    write(store, 'seg-0-00001.m4s', 'a');
    write(store, 'seg-0-00002.m4s', 'b');
    store.remove('seg-0-00001.m4s');
    await store.close();
    expect((await readdir(root)).sort()).toEqual(['seg-0-00002.m4s']);
  });

  it('writes nothing to disk after close() resolved, so the directory can be removed', async () => {
    const diskDir = join(root, 'cam1', 'live');
    const store = storeWith({ diskDir });
    write(store, 'seg-0-00001.m4s', 'a');
    await store.close();
    await rm(join(root, 'cam1'), { recursive: true });
    store.publishManifest(mpd('<MPD late/>'));
    write(store, 'seg-0-00002.m4s', 'late');
    await store.close();
    expect(existsSync(join(root, 'cam1'))).toBe(false);
  });

  it('reports an unwritable diskDir through onDiskError without throwing', async () => {
    const blocker = join(root, 'not-a-directory');
    await writeFile(blocker, 'x');
    const onDiskError = vi.fn();
    const store = storeWith({ diskDir: join(blocker, 'live'), onDiskError });
    expect(() => {
      write(store, 'seg-0-00001.m4s', 'a');
      store.publishManifest(mpd('<MPD/>'));
      store.remove('seg-0-00001.m4s');
    }).not.toThrow();
    await expect(store.close()).resolves.toBeUndefined();
    expect(onDiskError).toHaveBeenCalled();
    const err = onDiskError.mock.calls[0]?.[0] as NodeJS.ErrnoException | undefined;
    expect(err).toBeInstanceOf(Error);
    expect(err?.code).toMatch(/ENOTDIR|EEXIST/);
    // memory delivery is unaffected
    expect(store.manifest?.raw.toString()).toBe('<MPD/>');
  });

  it('without onDiskError a disk failure is swallowed', async () => {
    const blocker = join(root, 'file');
    await writeFile(blocker, 'x');
    const store = storeWith({ diskDir: join(blocker, 'live') });
    write(store, 'seg-0-00001.m4s', 'a');
    await expect(store.close()).resolves.toBeUndefined();
  });
});
