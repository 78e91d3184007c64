import { EventEmitter } from 'node:events';
import { createFile, MP4BoxBuffer } from 'mp4box';
import type { LiveFile } from './live-file.ts';
import type { SegmentStore } from './segment-store.ts';

/** Bytes of a file's start kept for parsing; ffmpeg's init segment and a CMAF chunk's `moof` fit easily. */
const maxHeadBytes = 64 * 1024;

/** A media segment as it began to arrive. */
export interface SegmentArrival {
  /** Representation@id. */
  readonly representation: number;
  /** Segment number ($Number$). */
  readonly number: number;
  /** `tfdt` baseMediaDecodeTime of its first chunk, ticks of `timescale`. */
  readonly decodeTime: number;
  /** Track timescale, ticks per second. */
  readonly timescale: number;
  /** When the packager began writing it, ms since the epoch. */
  readonly arrivalMs: number;
}

/** Decode times kept per Representation, for a re-anchor to look up the segment it starts at. */
const recentSegments = 64;

interface RepresentationTiming {
  /** Track timescale from the init segment's `mdhd` (ticks per second). */
  timescale?: number;
  /** Media segments whose first chunk came before the init segment's timescale. */
  waiting: { number: number; decodeTime: number; arrivalMs: number }[];
  /** Recent segment number → tfdt. */
  recent: Map<number, number>;
  /** Sizes of complete media segments whose duration is not known yet. */
  completeBytes: Map<number, number>;
  /** Bytes and ticks of complete media segments, for the measured bandwidth. */
  bytes: number;
  ticks: number;
  /** Number and `tfdt` (ticks) of the first media segment seen. */
  first?: { number: number; decodeTime: number };
  /** Number and `tfdt` (ticks) of the newest media segment seen. */
  newest?: { number: number; decodeTime: number };
}

/**
 * Measures how long the packager's media segments really last, per Representation, from the
 * `tfdt` (ISO/IEC 14496-12 §8.8.12 baseMediaDecodeTime) of each segment's first CMAF chunk and the
 * track timescale of its init segment (`mdhd`).
 *
 * Why: with a stream-copied video track, ffmpeg can only cut at the publisher's keyframes, and a
 * browser's "1000 ms" keyframe interval comes out at 1.000–1.033 s. A SegmentTemplate that promises
 * exactly 1 s then drifts from the media by up to 33 ms per segment, so a viewer joining minutes into
 * a session computes a segment number (ISO/IEC 23009-1 §5.3.9.5.3) whose media is seconds away.
 * {@link templateDurationsSec} is the duration that puts the newest segment exactly where the template
 * says it starts: `(tfdt_newest − tfdt_first) / (number_newest − number_first)`.
 */
export class SegmentTiming extends EventEmitter<{ segment: [SegmentArrival] }> {
  private readonly reps = new Map<number, RepresentationTiming>();

  /** Starts watching the files the packager writes into `store`. */
  constructor(
    store: SegmentStore,
    private readonly now: () => number = Date.now,
  ) {
    super();
    store.on('started', (file) => this.watch(file));
  }

  /** Track timescale of a Representation (ticks per second), once its init segment was read. */
  timescale(representation: number): number | undefined {
    return this.reps.get(representation)?.timescale;
  }

  /** `tfdt` of a recent media segment, ticks; `undefined` if not seen (yet) or long gone. */
  decodeTime(representation: number, number: number): number | undefined {
    return this.reps.get(representation)?.recent.get(number);
  }

  /**
   * Bits per second of a Representation's complete media segments so far (box overhead included, which
   * for one CMAF chunk per audio frame is over 40 % of the payload), or `undefined` before one completed.
   */
  measuredBandwidthBps(representation: number): number | undefined {
    const rep = this.reps.get(representation);
    if (!rep?.timescale || rep.ticks <= 0) return undefined;
    return Math.round((rep.bytes * 8 * rep.timescale) / rep.ticks);
  }

  /**
   * Measured mean segment duration per Representation id, seconds, once two media segments of it
   * were seen. Representations not yet measured are absent.
   */
  templateDurationsSec(): Map<number, number> {
    const out = new Map<number, number>();
    for (const [id, rep] of this.reps) {
      const { timescale, first, newest } = rep;
      if (!timescale || !first || !newest || newest.number <= first.number) continue;
      const seconds = (newest.decodeTime - first.decodeTime) / timescale / (newest.number - first.number);
      if (seconds > 0) out.set(id, seconds);
    }
    return out;
  }

  private watch(file: LiveFile): void {
    const parsed = file.kind;
    const arrivalMs = this.now();
    const rep = this.rep(parsed.representation);
    if (parsed.kind === 'media') file.once('end', () => this.countBytes(rep, parsed.number, file.size));
    const head: Buffer[] = [];
    let headBytes = 0;
    const onChunk = (chunk: Buffer): void => {
      head.push(chunk);
      headBytes += chunk.length;
      const data = Buffer.concat(head, headBytes);
      const done =
        parsed.kind === 'init'
          ? this.readTimescale(data, parsed.representation, rep)
          : this.readDecodeTime(data, parsed.representation, rep, parsed.number, arrivalMs);
      if (done || headBytes >= maxHeadBytes) stop();
    };
    const stop = (): void => {
      file.off('chunk', onChunk);
      file.off('end', stop);
      file.off('abort', stop);
    };
    file.on('chunk', onChunk);
    file.once('end', stop);
    file.once('abort', stop);
    for (const chunk of file.chunks) onChunk(chunk);
  }

  private rep(id: number): RepresentationTiming {
    let rep = this.reps.get(id);
    if (!rep) {
      rep = { waiting: [], recent: new Map(), completeBytes: new Map(), bytes: 0, ticks: 0 };
      this.reps.set(id, rep);
    }
    return rep;
  }

  private readTimescale(data: Buffer, id: number, rep: RepresentationTiming): boolean {
    const timescale = parseBoxes(data).moov?.traks?.[0]?.mdia?.mdhd?.timescale;
    if (!timescale) return false;
    rep.timescale = timescale;
    for (const w of rep.waiting.splice(0)) this.emit('segment', { representation: id, timescale, ...w });
    return true;
  }

  private readDecodeTime(
    data: Buffer,
    id: number,
    rep: RepresentationTiming,
    number: number,
    arrivalMs: number,
  ): boolean {
    const decodeTime = parseBoxes(data).moofs?.[0]?.trafs?.[0]?.tfdt?.baseMediaDecodeTime;
    if (decodeTime === undefined) return false;
    const seen = { number, decodeTime };
    if (!rep.first || number < rep.first.number) rep.first = seen;
    if (!rep.newest || number > rep.newest.number) rep.newest = seen;
    rep.recent.set(number, decodeTime);
    for (const n of rep.recent.keys()) if (n <= number - recentSegments) rep.recent.delete(n);
    for (const n of rep.completeBytes.keys()) if (n <= number - recentSegments) rep.completeBytes.delete(n);
    this.countBytes(rep, number - 1);
    if (rep.timescale) {
      this.emit('segment', { representation: id, number, decodeTime, timescale: rep.timescale, arrivalMs });
    } else {
      rep.waiting.push({ number, decodeTime, arrivalMs });
    }
    return true;
  }

  /**
   * A complete segment's bytes over its duration, which ends at the next segment's tfdt: counted when
   * both are known, whichever comes last.
   */
  private countBytes(rep: RepresentationTiming, number: number, bytes?: number): void {
    if (bytes !== undefined) rep.completeBytes.set(number, bytes);
    const size = rep.completeBytes.get(number);
    const start = rep.recent.get(number);
    const next = rep.recent.get(number + 1);
    if (size === undefined || start === undefined || next === undefined) return;
    rep.completeBytes.delete(number);
    if (next <= start) return;
    rep.bytes += size;
    rep.ticks += next - start;
  }
}

function parseBoxes(data: Buffer) {
  const file = createFile();
  const ab = data.buffer.slice(data.byteOffset, data.byteOffset + data.length) as ArrayBuffer;
  file.appendBuffer(MP4BoxBuffer.fromArrayBuffer(ab, 0));
  return file;
}
