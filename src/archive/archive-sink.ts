import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { MediaSink } from '../contracts/sink.ts';
import { createError } from '../errors/errors.ts';

/** `2026-11-23T22-50-00.123Z`: ISO 8601 UTC with `:` replaced, safe in file names on every OS. */
export function archiveTimestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/:/g, '-');
}

export interface ArchiveSinkOptions {
  /** `output/<stream>/archive`. Created if missing. */
  readonly dir: string;
  /** Session start, ms since the epoch: names the file. */
  readonly startedAtMs: number;
  /** The file type of what was received: `webm`/`mkv` (WebSocket), `flv` (RTMP), `mp4` (MP4 MediaRecorder). */
  readonly extension: 'webm' | 'mkv' | 'flv' | 'mp4';
  /** Bytes pending before `write` returns false (the publisher is paused, never a byte dropped). */
  readonly highWaterBytes: number;
  /** A write failed (full disk, permissions): the session must end, as bytes can no longer be kept. */
  readonly onError: (err: Error) => void;
}

/**
 * The raw archive: exactly the bytes received, in order, in
 * `output/<stream>/archive/<UTC timestamp>.<webm|mkv>`.
 */
export class ArchiveSink implements MediaSink {
  readonly name = 'archive';
  readonly path: string;
  private stream: WriteStream | undefined;
  private closing: Promise<void> | undefined;
  private failed = false;
  private readonly drainCallbacks: (() => void)[] = [];

  private constructor(private readonly opts: ArchiveSinkOptions) {
    this.path = join(opts.dir, `${archiveTimestamp(opts.startedAtMs)}.${opts.extension}`);
  }

  /** Creates the directory and opens the file (exclusive: an existing file is never overwritten). */
  /** @throws DashrelayError `DR_ERR_ARCHIVE_WRITE` when the directory or file cannot be created. */
  static async open(opts: ArchiveSinkOptions): Promise<ArchiveSink> {
    const sink = new ArchiveSink(opts);
    const stream = await mkdir(opts.dir, { recursive: true })
      .then(
        () =>
          new Promise<WriteStream>((resolve, reject) => {
            const s = createWriteStream(sink.path, { flags: 'wx', highWaterMark: opts.highWaterBytes });
            s.once('open', () => resolve(s));
            s.once('error', reject);
          }),
      )
      .catch((err: Error) => {
        throw createError('DR_ERR_ARCHIVE_WRITE', sink.path, err.message);
      });
    stream.on('error', (err) => sink.fail(err));
    sink.stream = stream;
    return sink;
  }

  write(chunk: Buffer): boolean {
    if (!this.stream || this.failed || this.closing) return true;
    return this.stream.write(chunk);
  }

  onDrain(callback: () => void): void {
    this.drainCallbacks.push(callback);
    this.stream?.on('drain', callback);
  }

  close(): Promise<void> {
    const stream = this.stream;
    this.closing ??= new Promise<void>((resolve) => {
      if (!stream || stream.destroyed) return resolve();
      stream.end(() => resolve());
      stream.once('error', () => resolve());
    });
    return this.closing;
  }

  private fail(err: Error): void {
    if (this.failed) return;
    this.failed = true;
    // A failed file drains no more; later writes are discarded, so nobody may wait for it.
    for (const callback of this.drainCallbacks) callback();
    this.opts.onError(createError('DR_ERR_ARCHIVE_WRITE', this.path, err.message));
  }
}
