import { EventEmitter } from 'node:events';
import type { SegmentKind } from '../contracts/segments.ts';

/**
 * One segment a packager is writing or has written: an init segment or a media segment.
 * Chunks are kept as received, so a viewer that joins mid-segment gets the same bytes in the same order.
 */
export class LiveFile extends EventEmitter<{ chunk: [Buffer]; end: []; abort: [] }> {
  readonly chunks: Buffer[] = [];
  size = 0;
  complete = false;
  aborted = false;

  constructor(
    readonly name: string,
    readonly kind: SegmentKind,
  ) {
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
