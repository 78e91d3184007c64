import { createFile, MP4BoxBuffer } from 'mp4box';
import type { LiveFile } from '../../live/live-file.ts';
import type { SegmentStore } from '../../live/segment-store.ts';

/** Bytes of a file's start kept for parsing; ffmpeg's init segment and a CMAF chunk's `moof` fit easily. */
const maxHeadBytes = 64 * 1024;

interface RepresentationTiming {
  /** Track timescale from the init segment's `mdhd` (ticks per second). */
  timescale?: number;
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
export class SegmentTiming {
  private readonly reps = new Map<number, RepresentationTiming>();

  /** Starts watching the files the packager writes into `store`. */
  constructor(store: SegmentStore) {
    store.on('started', (file) => this.watch(file));
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
    const rep = this.rep(parsed.representation);
    const head: Buffer[] = [];
    let headBytes = 0;
    const onChunk = (chunk: Buffer): void => {
      head.push(chunk);
      headBytes += chunk.length;
      const data = Buffer.concat(head, headBytes);
      const done =
        parsed.kind === 'init'
          ? this.readTimescale(data, rep)
          : this.readDecodeTime(data, rep, parsed.number);
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
      rep = {};
      this.reps.set(id, rep);
    }
    return rep;
  }

  private readTimescale(data: Buffer, rep: RepresentationTiming): boolean {
    const timescale = parseBoxes(data).moov?.traks?.[0]?.mdia?.mdhd?.timescale;
    if (!timescale) return false;
    rep.timescale = timescale;
    return true;
  }

  private readDecodeTime(data: Buffer, rep: RepresentationTiming, number: number): boolean {
    const decodeTime = parseBoxes(data).moofs?.[0]?.trafs?.[0]?.tfdt?.baseMediaDecodeTime;
    if (decodeTime === undefined) return false;
    const seen = { number, decodeTime };
    if (!rep.first || number < rep.first.number) rep.first = seen;
    if (!rep.newest || number > rep.newest.number) rep.newest = seen;
    return true;
  }
}

function parseBoxes(data: Buffer) {
  const file = createFile();
  const ab = data.buffer.slice(data.byteOffset, data.byteOffset + data.length) as ArrayBuffer;
  file.appendBuffer(MP4BoxBuffer.fromArrayBuffer(ab, 0));
  return file;
}
