import { EventEmitter } from 'node:events';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { manifestName, packagerFilePattern } from '../packager/ffmpeg-args.ts';

/**
 * One file the packager is writing or has written: the manifest, an init segment or a media segment.
 * Chunks are kept as received, so a viewer that joins mid-segment gets the same bytes in the same order.
 */
export class LiveFile extends EventEmitter<{ chunk: [Buffer]; end: []; abort: [] }> {
  readonly chunks: Buffer[] = [];
  size = 0;
  complete = false;
  aborted = false;

  constructor(readonly name: string) {
    super();
    // Every waiting viewer listens here; the count is bounded by the server's connection limit instead.
    this.setMaxListeners(0);
  }

  append(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    this.emit('chunk', chunk);
  }

  finish(): void {
    this.complete = true;
    this.emit('end');
  }

  abort(): void {
    this.aborted = true;
    this.emit('abort');
  }

  body(): Buffer {
    return this.chunks.length === 1 && this.chunks[0]
      ? this.chunks[0]
      : Buffer.concat(this.chunks, this.size);
  }
}

export interface SegmentStoreOptions {
  /** Directory for the on-disk copy (`output/<stream>/live`); `undefined` keeps everything in memory only. */
  readonly diskDir?: string | undefined;
  /** Media segments kept in memory per Representation, whatever ffmpeg deletes. Default 30. */
  readonly maxSegmentsPerRepresentation?: number;
  /** Called when a disk write fails (full disk…); the live path never waits for the disk. */
  readonly onDiskError?: (err: Error) => void;
}

/** Parsed packager file name. */
export type PackagerFile =
  | { kind: 'manifest' }
  | { kind: 'init'; representation: number }
  | { kind: 'media'; representation: number; number: number };

export function parsePackagerFileName(name: string): PackagerFile | undefined {
  const m = packagerFilePattern.exec(name);
  if (!m) return undefined;
  if (name === manifestName) return { kind: 'manifest' };
  if (m[1] !== undefined) return { kind: 'init', representation: Number(m[1]) };
  return { kind: 'media', representation: Number(m[2]), number: Number(m[3]) };
}

/**
 * The origin's memory for one live stream: the newest complete MPD, init segments, and the recent media
 * segments (complete or still arriving). Many viewers share one copy. Disk writes happen after a file
 * completes, serialized, off the live path.
 */
export class SegmentStore extends EventEmitter<{ started: [LiveFile]; manifest: [Buffer] }> {
  private readonly files = new Map<string, LiveFile>();
  private readonly newestNumber = new Map<number, number>();
  private manifestBody: Buffer | undefined;
  private diskQueue: Promise<void> = Promise.resolve();
  private diskReady: Promise<void> | undefined;
  private readonly maxSegments: number;
  closed = false;

  constructor(
    readonly stream: string,
    private readonly options: SegmentStoreOptions = {},
  ) {
    super();
    this.setMaxListeners(0);
    this.maxSegments = options.maxSegmentsPerRepresentation ?? 30;
  }

  /** The newest complete manifest, if any. */
  get manifest(): Buffer | undefined {
    return this.manifestBody;
  }

  get(name: string): LiveFile | undefined {
    return this.files.get(name);
  }

  /** Highest media segment number seen for a Representation (also after deletion). */
  newestSegmentNumber(representation: number): number | undefined {
    return this.newestNumber.get(representation);
  }

  /** The packager starts writing `name`. A manifest being rewritten stays served until complete. */
  begin(name: string): LiveFile {
    const parsed = parsePackagerFileName(name);
    const file = new LiveFile(name);
    if (parsed?.kind === 'manifest') {
      file.once('end', () => this.setManifest(file.body()));
      return file;
    }
    this.files.get(name)?.abort();
    this.files.set(name, file);
    if (parsed?.kind === 'media') {
      const prev = this.newestNumber.get(parsed.representation) ?? 0;
      if (parsed.number > prev) this.newestNumber.set(parsed.representation, parsed.number);
      this.evictOld(parsed.representation, parsed.number);
    }
    file.once('end', () => this.persist(name, file.body()));
    this.emit('started', file);
    return file;
  }

  /** The packager deleted `name` (it left the window). */
  remove(name: string): void {
    if (name === manifestName) return; // keep the last MPD on disk for post-mortem; the session end clears it
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

  private setManifest(body: Buffer): void {
    this.manifestBody = body;
    this.emit('manifest', body);
    // Written whole to a temporary name and renamed, so a web server reading the directory never sees half an MPD.
    this.enqueueDisk(async (dir) => {
      const tmp = join(dir, `${manifestName}.tmp`);
      await writeFile(tmp, body);
      await rename(tmp, join(dir, manifestName));
    });
  }

  private persist(name: string, body: Buffer): void {
    this.enqueueDisk(async (dir) => writeFile(join(dir, name), body));
  }

  private evictOld(representation: number, newest: number): void {
    const oldest = newest - this.maxSegments;
    for (const [name, file] of this.files) {
      const p = parsePackagerFileName(name);
      if (p?.kind === 'media' && p.representation === representation && p.number <= oldest) {
        this.files.delete(name);
        if (!file.complete) file.abort();
      }
    }
  }

  private enqueueDisk(op: (dir: string) => Promise<unknown>): void {
    const dir = this.options.diskDir;
    if (!dir) return;
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
