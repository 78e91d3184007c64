import { EventEmitter } from 'node:events';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PublishedManifest, SegmentKind, SegmentNaming } from '../contracts/segments.ts';
import { LiveFile } from './live-file.ts';

/** The MPD's file name in the disk copy (and in the origin's URL, `/live/<stream>/manifest.mpd`). */
export const manifestFileName = 'manifest.mpd';

export interface SegmentStoreOptions {
  /** The packager's segment names. */
  readonly naming: SegmentNaming;
  /** Directory for the on-disk copy (`output/<stream>/live`); `undefined` keeps everything in memory only. */
  readonly diskDir?: string | undefined;
  /** Media segments kept in memory per Representation, whatever ffmpeg deletes. Default 30. */
  readonly maxSegmentsPerRepresentation?: number;
  /** Called when a disk write fails (full disk…); the live path never waits for the disk. */
  readonly onDiskError?: (err: Error) => void;
}

/**
 * The live output of one session, in memory: the newest complete MPD, init segments, and the recent
 * media segments (complete or still arriving). A packager writes it; the origin serves it, and many
 * viewers share one copy. File names are the packager's, known through its {@link SegmentNaming}. Disk writes happen after a file
 * completes, serialized, off the live path.
 */
export class SegmentStore extends EventEmitter<{ started: [LiveFile]; manifest: [PublishedManifest] }> {
  private readonly files = new Map<string, LiveFile>();
  private readonly newestNumber = new Map<number, number>();
  private current: PublishedManifest | undefined;
  private diskQueue: Promise<void> = Promise.resolve();
  private diskReady: Promise<void> | undefined;
  private readonly maxSegments: number;
  closed = false;

  constructor(
    readonly stream: string,
    private readonly options: SegmentStoreOptions,
  ) {
    super();
    this.setMaxListeners(0);
    this.maxSegments = options.maxSegmentsPerRepresentation ?? 30;
  }

  /** The newest complete manifest, if any. */
  get manifest(): PublishedManifest | undefined {
    return this.current;
  }

  /** What a segment name is, in the packager's naming; `undefined` for a name it never writes. */
  classify(name: string): SegmentKind | undefined {
    return this.options.naming.parse(name);
  }

  get(name: string): LiveFile | undefined {
    return this.files.get(name);
  }

  /** The file of a segment, whatever the packager named it. */
  find(kind: SegmentKind): LiveFile | undefined {
    for (const file of this.files.values()) if (sameSegment(file.kind, kind)) return file;
    return undefined;
  }

  /** Highest media segment number seen for a Representation (also after deletion). */
  newestSegmentNumber(representation: number): number | undefined {
    return this.newestNumber.get(representation);
  }

  /**
   * The packager starts writing the segment `name`; a file of the same name still being served is
   * aborted. `undefined` for a name the packager's naming does not know.
   */
  begin(name: string): LiveFile | undefined {
    const kind = this.classify(name);
    if (!kind) return undefined;
    const file = new LiveFile(name, kind);
    this.files.get(name)?.abort();
    this.files.set(name, file);
    if (kind.kind === 'media') {
      const prev = this.newestNumber.get(kind.representation) ?? 0;
      if (kind.number > prev) this.newestNumber.set(kind.representation, kind.number);
      this.evictOld(kind.representation, kind.number);
    }
    file.once('end', () => this.persist(name, file.body()));
    this.emit('started', file);
    return file;
  }

  /** A new complete MPD: served from now on, and written to the disk copy. */
  publishManifest(manifest: PublishedManifest): void {
    this.current = manifest;
    this.emit('manifest', manifest);
    // Written whole to a temporary name and renamed, so a web server reading the directory never sees half an MPD.
    this.enqueueDisk(async (dir) => {
      const tmp = join(dir, `${manifestFileName}.tmp`);
      await writeFile(tmp, manifest.raw);
      await rename(tmp, join(dir, manifestFileName));
    });
  }

  /** The packager deleted `name` (it left the window). */
  remove(name: string): void {
    const file = this.files.get(name);
    if (file) this.files.delete(name);
    this.enqueueDisk(async (dir) => rm(join(dir, name), { force: true }));
  }

  /** Stops serving: waiting viewers of incomplete files are ended. Disk writes already queued finish. */
  async close(): Promise<void> {
    this.closed = true;
    for (const f of this.files.values()) if (!f.complete) f.abort();
    await this.diskQueue;
  }

  private persist(name: string, body: Buffer): void {
    this.enqueueDisk(async (dir) => writeFile(join(dir, name), body));
  }

  private evictOld(representation: number, newest: number): void {
    const oldest = newest - this.maxSegments;
    for (const [name, file] of this.files) {
      const p = file.kind;
      if (p.kind === 'media' && p.representation === representation && p.number <= oldest) {
        this.files.delete(name);
        if (!file.complete) file.abort();
      }
    }
  }

  private enqueueDisk(op: (dir: string) => Promise<unknown>): void {
    const dir = this.options.diskDir;
    // After close nothing new is written: close() resolving means the directory is left alone.
    if (!dir || this.closed) return;
    this.diskReady ??= mkdir(dir, { recursive: true }).then(() => undefined);
    const ready = this.diskReady;
    this.diskQueue = this.diskQueue
      .then(() => ready)
      .then(() => op(dir))
      .then(
        () => undefined,
        (err: Error) => this.options.onDiskError?.(err),
      );
  }
}

/** Whether two segment kinds name the same segment. */
export function sameSegment(a: SegmentKind, b: SegmentKind): boolean {
  if (a.kind !== b.kind || a.representation !== b.representation) return false;
  return a.kind === 'init' || (b.kind === 'media' && a.number === b.number);
}
