/**
 * Shifts the timestamps of a live CMAF media segment (ISO/IEC 23000-19) while it streams, so that a
 * returning publisher's segments can be served as the continuation of an earlier session's timeline.
 * Boxes ahead of media data (`styp`, `moof`, `prft`, `emsg`…) are held until complete, patched and
 * forwarded; `mdat` payload bytes go out the moment they come, so a chunk is not delayed.
 */

/** What to add, per segment (one Representation = one track). */
export interface RetimeOffsets {
  /** Added to every `tfdt` baseMediaDecodeTime (ISO/IEC 14496-12 §8.8.12), ticks of the track's timescale. */
  readonly decodeTimeTicks: number;
  /** Added to every `mfhd` sequence_number (§8.8.5); default 0. */
  readonly sequenceNumbers?: number;
}

const headerBytes = 8;

/** A streaming rewrite of one media segment: `push` what arrives, forward what it returns. */
export class CmafRetimer {
  private pending: Buffer = Buffer.alloc(0);
  /** Bytes of the current `mdat` (or a box to the end of the segment) still to pass through. */
  private passThrough = 0;
  private toEnd = false;

  constructor(private readonly offsets: RetimeOffsets) {}

  /** The bytes ready to forward after `piece` (possibly none). Throws on a malformed box. */
  push(piece: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let data = piece;
    while (data.length > 0) {
      if (this.toEnd) {
        out.push(data);
        return out;
      }
      if (this.passThrough > 0) {
        const n = Math.min(this.passThrough, data.length);
        out.push(data.subarray(0, n));
        this.passThrough -= n;
        data = data.subarray(n);
        continue;
      }
      this.pending = this.pending.length > 0 ? Buffer.concat([this.pending, data]) : data;
      data = Buffer.alloc(0);
      for (;;) {
        const box = readHeader(this.pending, 0);
        if (!box) break;
        if (box.type === 'mdat' || box.size === 0) {
          // Media data is never held: its header goes now, its payload as it comes.
          out.push(this.pending.subarray(0, box.headerSize));
          const rest = this.pending.subarray(box.headerSize);
          this.pending = Buffer.alloc(0);
          if (box.size === 0) this.toEnd = true;
          else this.passThrough = box.size - box.headerSize;
          data = rest;
          break;
        }
        if (this.pending.length < box.size) break;
        const whole = Buffer.from(this.pending.subarray(0, box.size));
        if (box.type === 'moof') this.patchMoof(whole, box.headerSize);
        out.push(whole);
        this.pending = this.pending.subarray(box.size);
      }
    }
    return out;
  }

  /** The rest, once the segment is complete. Throws if it ended inside a box. */
  end(): Buffer[] {
    if (this.passThrough > 0 || this.pending.length > 0) {
      throw new Error(
        `CMAF segment ended inside a box (${this.passThrough || this.pending.length} bytes short or left)`,
      );
    }
    return [];
  }

  private patchMoof(moof: Buffer, from: number): void {
    for (const child of children(moof, from, moof.length)) {
      if (child.type === 'mfhd') this.patchSequence(moof, child.at + child.headerSize);
      if (child.type !== 'traf') continue;
      for (const box of children(moof, child.at + child.headerSize, child.at + child.size)) {
        if (box.type === 'tfdt')
          this.patchDecodeTime(moof, box.at + box.headerSize, box.size - box.headerSize);
      }
    }
  }

  private patchSequence(buf: Buffer, body: number): void {
    const add = this.offsets.sequenceNumbers ?? 0;
    if (add === 0) return;
    // FullBox: version and flags, then the 32-bit sequence_number.
    const value = buf.readUInt32BE(body + 4) + add;
    if (value < 0 || value > 0xffffffff) throw new Error(`mfhd sequence_number ${value} out of range`);
    buf.writeUInt32BE(value, body + 4);
  }

  private patchDecodeTime(buf: Buffer, body: number, bodySize: number): void {
    const version = buf[body];
    const add = BigInt(this.offsets.decodeTimeTicks);
    if (version === 1 && bodySize >= 12) {
      const value = buf.readBigUInt64BE(body + 4) + add;
      if (value < 0n) throw new Error(`tfdt would become negative (${value})`);
      buf.writeBigUInt64BE(value, body + 4);
    } else if (version === 0 && bodySize >= 8) {
      const value = BigInt(buf.readUInt32BE(body + 4)) + add;
      if (value < 0n) throw new Error(`tfdt would become negative (${value})`);
      // Growing the box to version 1 would move every offset after it (trun data_offset): refuse.
      if (value > 0xffffffffn) throw new Error(`tfdt ${value} does not fit a version 0 box`);
      buf.writeUInt32BE(Number(value), body + 4);
    } else {
      throw new Error(`tfdt version ${version} with ${bodySize} body bytes is not ISO/IEC 14496-12`);
    }
  }
}

/** Rewrites a complete media segment (same rules as CmafRetimer). */
export function retimeSegment(segment: Buffer, offsets: RetimeOffsets): Buffer {
  const retimer = new CmafRetimer(offsets);
  return Buffer.concat([...retimer.push(segment), ...retimer.end()]);
}

interface BoxHeader {
  readonly type: string;
  /** Whole box, bytes; 0 = to the end of the enclosing data (§4.2). */
  readonly size: number;
  readonly headerSize: number;
}

/** The header of the box at `at`, or `undefined` while its header is incomplete. Throws on a bad size. */
function readHeader(buf: Buffer, at: number): BoxHeader | undefined {
  if (buf.length - at < headerBytes) return undefined;
  const size32 = buf.readUInt32BE(at);
  const type = buf.toString('latin1', at + 4, at + 8);
  if (size32 === 1) {
    if (buf.length - at < 16) return undefined;
    const size = Number(buf.readBigUInt64BE(at + 8));
    if (size < 16) throw new Error(`box ${type} of ${size} bytes is smaller than its header`);
    return { type, size, headerSize: 16 };
  }
  if (size32 !== 0 && size32 < headerBytes) {
    throw new Error(`box ${type} of ${size32} bytes is smaller than its header`);
  }
  return { type, size: size32, headerSize: headerBytes };
}

/** The boxes inside [from, to) of a complete buffer. */
function* children(buf: Buffer, from: number, to: number): Generator<BoxHeader & { at: number }> {
  for (let at = from; at < to; ) {
    const box = readHeader(buf, at);
    if (!box) throw new Error('truncated box inside moof');
    const size = box.size === 0 ? to - at : box.size;
    if (at + size > to) throw new Error(`box ${box.type} runs past its parent`);
    yield { ...box, size, at };
    at += size;
  }
}
