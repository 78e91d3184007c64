/** How much to shift a segment's timeline by. */
export interface RetimeOffsets {
  /** Added to every tfdt baseMediaDecodeTime, ticks of the track's timescale (may be negative, but the result must stay >= 0). */
  readonly decodeTimeTicks: number;
  /** Added to every mfhd sequence_number (default 0). */
  readonly sequenceNumbers?: number;
}

/**
 * Shifts the timestamps of one live CMAF media segment (ISO/IEC 23000-19: `styp`, then CMAF chunks of
 * `moof` + `mdat`) while it streams through, so that a republished session continues an earlier
 * session's timeline. In every `moof`, each `traf`'s `tfdt` baseMediaDecodeTime (ISO/IEC 14496-12
 * §8.8.12; 64-bit in version 1, 32-bit in version 0) gets {@link RetimeOffsets.decodeTimeTicks} and
 * the `mfhd` sequence_number (§8.8.5, 32-bit) gets {@link RetimeOffsets.sequenceNumbers}. The fields
 * are patched in place: no box changes size, so the output has exactly the input's length.
 *
 * Only a `moof` is held back until complete, as it is the only box patched; every other top-level
 * box (`styp`, `mdat`, `prft`, `emsg`, …) is forwarded as its bytes arrive, so an `mdat` payload
 * reaches the viewer while the packager is still writing it. Returned buffers may share memory with
 * the pushed pieces, which are never modified (a `moof` is patched in a copy).
 *
 * One instance per segment. push() returns the bytes ready to forward (possibly empty); end() returns
 * what remains and throws if the segment ended mid-box. Both throw an Error on malformed box sizes, a
 * negative result, or one that does not fit its field.
 */
export class CmafRetimer {
  private readonly ticks: bigint;
  private readonly sequenceNumbers: number;
  /** Bytes held back: a top-level box header, or a whole `moof`. */
  private held: Buffer[] = [];
  private heldBytes = 0;
  /** What `held` must reach: a header (8, or 16 with a largesize), the `moof`'s size, or Infinity for a `moof` that runs to the end. */
  private need = 8;
  private inMoof = false;
  /** Bytes of the current box still to forward as they come; Infinity when it runs to the end of the segment. */
  private passing = 0;
  private passingType = '';
  /** Bytes consumed so far, and where the current top-level box began: for error messages. */
  private offset = 0;
  private boxAt = 0;
  private ended = false;

  constructor(offsets: RetimeOffsets) {
    const { decodeTimeTicks, sequenceNumbers = 0 } = offsets;
    if (!Number.isSafeInteger(decodeTimeTicks) || !Number.isSafeInteger(sequenceNumbers)) {
      throw new Error(`CMAF retime: offsets must be integers, got ${decodeTimeTicks} and ${sequenceNumbers}`);
    }
    this.ticks = BigInt(decodeTimeTicks);
    this.sequenceNumbers = sequenceNumbers;
  }

  /** Takes the next piece of the segment; returns the bytes ready to forward, in order (possibly none). */
  push(piece: Buffer): Buffer[] {
    if (this.ended) throw new Error('CMAF retime: push() after end()');
    const out: Buffer[] = [];
    let rest = piece;
    for (;;) {
      if (this.passing > 0) {
        if (rest.length === 0) break;
        const n = Math.min(this.passing, rest.length);
        out.push(rest.subarray(0, n));
        rest = rest.subarray(n);
        this.passing -= n;
        this.offset += n;
        continue;
      }
      if (this.heldBytes === 0) this.boxAt = this.offset;
      const n = Math.min(this.need - this.heldBytes, rest.length);
      if (n > 0) {
        this.held.push(rest.subarray(0, n));
        rest = rest.subarray(n);
        this.heldBytes += n;
        this.offset += n;
      }
      if (this.heldBytes < this.need) break;
      const head = Buffer.concat(this.held, this.heldBytes);
      if (this.inMoof) {
        out.push(this.patchMoof(head));
        continue;
      }
      if (head.readUInt32BE(0) === 1 && head.length < 16) {
        this.need = 16;
        continue;
      }
      const box = readHeader(head, 0, this.boxAt);
      if (box.type === 'moof') {
        this.inMoof = true;
        this.need = box.size ?? Number.POSITIVE_INFINITY;
        this.held = [head];
        continue;
      }
      out.push(head);
      this.release();
      this.passing = box.size === undefined ? Number.POSITIVE_INFINITY : box.size - box.headerBytes;
      this.passingType = box.type;
    }
    return out;
  }

  /** The segment is complete: returns what remains to forward; throws if it ended mid-box. */
  end(): Buffer[] {
    this.ended = true;
    if (this.inMoof && this.need === Number.POSITIVE_INFINITY) {
      return [this.patchMoof(Buffer.concat(this.held, this.heldBytes))];
    }
    const where = `segment ended at byte ${this.offset}`;
    if (this.inMoof) {
      throw new Error(`CMAF retime: ${where}, inside the moof at byte ${this.boxAt} of ${this.need} bytes`);
    }
    if (this.heldBytes > 0) {
      throw new Error(`CMAF retime: ${where}, inside the box header at byte ${this.boxAt}`);
    }
    if (this.passing > 0 && this.passing !== Number.POSITIVE_INFINITY) {
      throw new Error(
        `CMAF retime: ${where}, ${this.passing} bytes before the end of the ${this.passingType}`,
      );
    }
    return [];
  }

  private release(): void {
    this.held = [];
    this.heldBytes = 0;
    this.need = 8;
    this.inMoof = false;
  }

  private patchMoof(moof: Buffer): Buffer {
    const at = this.boxAt;
    this.release();
    for (const child of children(moof, readHeader(moof, 0, at).headerBytes, moof.length, at)) {
      if (child.type === 'mfhd') {
        patchField(moof, child, 4, BigInt(this.sequenceNumbers), 'sequence_number');
      } else if (child.type === 'traf') {
        for (const box of children(moof, child.payload, child.end, at)) {
          if (box.type !== 'tfdt') continue;
          const version = box.end - box.payload >= 4 ? moof[box.payload] : undefined;
          if (version !== 0 && version !== 1) {
            throw new Error(`CMAF retime: tfdt at byte ${box.at} has ${version ?? 'no'} version, not 0 or 1`);
          }
          patchField(moof, box, version === 1 ? 8 : 4, this.ticks, 'baseMediaDecodeTime');
        }
      }
    }
    return moof;
  }
}

/** Rewrites a complete segment in one go, by the same rules as {@link CmafRetimer}. */
export function retimeSegment(segment: Buffer, offsets: RetimeOffsets): Buffer {
  const retimer = new CmafRetimer(offsets);
  return Buffer.concat([...retimer.push(segment), ...retimer.end()]);
}

interface BoxHeader {
  readonly type: string;
  readonly headerBytes: number;
  /** Undefined for size 0: the box runs to the end of its container (or of the segment). */
  readonly size: number | undefined;
}

/** ISO/IEC 14496-12 §4.2: 32-bit size, 4-character type, and a 64-bit largesize when size is 1. */
function readHeader(buf: Buffer, start: number, at: number): BoxHeader {
  const type = buf.toString('latin1', start + 4, start + 8);
  const size32 = buf.readUInt32BE(start);
  if (size32 === 0) return { type, headerBytes: 8, size: undefined };
  const headerBytes = size32 === 1 ? 16 : 8;
  const size = size32 === 1 ? buf.readBigUInt64BE(start + 8) : BigInt(size32);
  if (size < headerBytes) {
    throw new Error(
      `CMAF retime: box '${type}' at byte ${at} has size ${size}, less than its ${headerBytes}-byte header`,
    );
  }
  if (size > Number.MAX_SAFE_INTEGER) {
    throw new Error(`CMAF retime: box '${type}' at byte ${at} has size ${size}, too large to be real`);
  }
  return { type, headerBytes, size: Number(size) };
}

interface ChildBox {
  readonly type: string;
  /** Where its payload begins and the box ends, in the buffer. */
  readonly payload: number;
  readonly end: number;
  /** Where it began in the segment, for error messages. */
  readonly at: number;
}

/** The boxes in `buf[from, to)`; `at` is where `buf` began in the segment. */
function* children(buf: Buffer, from: number, to: number, at: number): Generator<ChildBox> {
  for (let start = from; start < to; ) {
    const left = to - start;
    if (left < 8 || (left < 16 && buf.readUInt32BE(start) === 1)) {
      throw new Error(`CMAF retime: box header at byte ${at + start} is cut off by the end of its container`);
    }
    const box = readHeader(buf, start, at + start);
    const end = box.size === undefined ? to : start + box.size;
    if (end > to) {
      throw new Error(
        `CMAF retime: box '${box.type}' at byte ${at + start} of size ${box.size} overruns its container by ${end - to} bytes`,
      );
    }
    yield { type: box.type, payload: start + box.headerBytes, end, at: at + start };
    start = end;
  }
}

/** Adds `delta` to the unsigned big-endian field of `bytes` bytes after a full box's version and flags. */
function patchField(buf: Buffer, box: ChildBox, bytes: 4 | 8, delta: bigint, name: string): void {
  const field = box.payload + 4;
  const { type } = box;
  if (box.end - field < bytes) {
    throw new Error(`CMAF retime: ${type} at byte ${box.at} is too small for its ${bytes * 8}-bit ${name}`);
  }
  const old = bytes === 8 ? buf.readBigUInt64BE(field) : BigInt(buf.readUInt32BE(field));
  const value = old + delta;
  if (value < 0n) {
    throw new Error(`CMAF retime: ${type} at byte ${box.at}: ${name} ${old} + ${delta} is negative`);
  }
  if (value >= 1n << BigInt(bytes * 8)) {
    throw new Error(
      `CMAF retime: ${type} at byte ${box.at}: ${name} ${old} + ${delta} = ${value} does not fit its ${bytes * 8} bits` +
        (type === 'tfdt' && bytes === 4 ? ' (a version 0 tfdt)' : ''),
    );
  }
  if (bytes === 8) buf.writeBigUInt64BE(value, field);
  else buf.writeUInt32BE(Number(value), field);
}
