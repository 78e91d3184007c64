import { Decoder, tools } from 'ts-ebml';
import type { MediaSink } from '../contracts/sink.ts';

/**
 * Estimates when media time 0 of a publisher's WebM/Matroska stream was live at the server, from block
 * timestamps (RFC 9559: Cluster Timestamp + SimpleBlock relative timestamp, scaled by TimestampScale)
 * and the wall clock at which each block arrived: a low percentile (2 %) of `arrival − media time`,
 * media time counted from the first block (as ffmpeg counts it).
 * The first blocks arrive late (encoder start-up), later ones right after capture, so a low value over
 * the first seconds is the tightest estimate; not the minimum, because a single block stamped ahead of
 * its time would put the live edge where no data can be yet, and a player chasing it stalls forever. The origin uses it as MPD@availabilityStartTime, so a
 * player's idea of the live edge matches when the pictures really arrived.
 *
 * It watches the stream only for its first `watchMediaMs` of media, then stops parsing. It never pushes
 * back, and a parse error only ends the estimate, never the session.
 */
export class MediaClock implements MediaSink {
  readonly name = 'media-clock';
  private readonly decoder = new Decoder();
  private clusterMs = 0;
  /** ms per Matroska timestamp tick (TimestampScale ns / 1e6; default 1 000 000 ns). */
  private tickMs = 1;
  /** `[arrival ms, media ms]` of the blocks seen while watching. */
  private readonly blocks: [number, number][] = [];
  /** The earliest media timestamp seen: ffmpeg starts its output timeline there (it zero-bases input). */
  private originMs = Number.POSITIVE_INFINITY;
  private estimate: number | undefined;
  private stopped = false;

  /** @param watchMediaMs media duration over which the estimate is refined, ms. Default 10 000. */
  constructor(
    private readonly watchMediaMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Wall-clock time of media time 0, ms since the epoch, once a block was seen. */
  get mediaStartMs(): number | undefined {
    return this.estimate;
  }

  write(chunk: Buffer): boolean {
    if (this.stopped) return true;
    const arrivedMs = this.now();
    try {
      const ab = chunk.buffer.slice(chunk.byteOffset, chunk.byteOffset + chunk.length) as ArrayBuffer;
      for (const el of this.decoder.decode(ab)) {
        if (el.type === 'u' && (el.name === 'TimestampScale' || el.name === 'TimecodeScale')) {
          this.tickMs = Number(el.value) / 1e6;
        } else if (el.type === 'u' && (el.name === 'Timestamp' || el.name === 'Timecode')) {
          this.clusterMs = Number(el.value) * this.tickMs;
        } else if (el.name === 'SimpleBlock' && el.type === 'b') {
          const mediaMs = this.clusterMs + tools.ebmlBlock(el.data).timecode * this.tickMs;
          this.blocks.push([arrivedMs, mediaMs]);
          if (mediaMs < this.originMs) this.originMs = mediaMs;
          if (mediaMs > this.watchMediaMs) this.stopped = true;
        }
      }
    } catch {
      this.stopped = true; // not parseable: the packager's own clock is used instead
    }
    if (this.blocks.length > 0) {
      // A recorder restarted on a running track stamps its first block well after 0 (seen with Chrome);
      // the DASH timeline starts at the first block, so that is media time 0 here too.
      const sorted = this.blocks
        .map(([arrived, media]) => arrived - (media - this.originMs))
        .sort((a, b) => a - b);
      this.estimate = sorted[Math.floor((sorted.length - 1) * 0.02)];
    }
    if (this.stopped) this.blocks.length = 0;
    return true;
  }

  onDrain(): void {
    // never asks the publisher to wait
  }

  async close(): Promise<void> {
    this.stopped = true;
  }
}
