/**
 * Hand-built EBML/Matroska bytes for demuxer tests (RFC 8794 element = ID, size VINT, body). Kept
 * independent of the demuxer's code: sizes are written with the shortest VINT, IDs as their bytes.
 */

export const id = {
  EBML: 0x1a45dfa3,
  DocType: 0x4282,
  Void: 0xec,
  CRC32: 0xbf,
  Segment: 0x18538067,
  Info: 0x1549a966,
  TimestampScale: 0x2ad7b1,
  Tracks: 0x1654ae6b,
  TrackEntry: 0xae,
  TrackNumber: 0xd7,
  TrackUID: 0x73c5,
  TrackType: 0x83,
  CodecID: 0x86,
  CodecPrivate: 0x63a2,
  DefaultDuration: 0x23e383,
  ContentEncodings: 0x6d80,
  Video: 0xe0,
  PixelWidth: 0xb0,
  PixelHeight: 0xba,
  Audio: 0xe1,
  SamplingFrequency: 0xb5,
  Channels: 0x9f,
  Cluster: 0x1f43b675,
  Timestamp: 0xe7,
  SimpleBlock: 0xa3,
  BlockGroup: 0xa0,
  Block: 0xa1,
  ReferenceBlock: 0xfb,
  BlockDuration: 0x9b,
  Cues: 0x1c53bb6b,
} as const;

function idBytes(n: number): Buffer {
  const out: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) out.unshift(v % 256);
  return Buffer.from(out);
}

/** The shortest size VINT for `n` (all-ones patterns mean "unknown", so those take one byte more). */
export function sizeVint(n: number): Buffer {
  for (let len = 1; len <= 8; len++) {
    if (n < 2 ** (7 * len) - 1) {
      const out = Buffer.alloc(len);
      let v = n;
      for (let i = len - 1; i >= 0; i--) {
        out[i] = v % 256;
        v = Math.floor(v / 256);
      }
      out[0] = (out[0] ?? 0) | (0x80 >> (len - 1));
      return out;
    }
  }
  throw new RangeError(`${n} is too large for a VINT`);
}

/** The 8-byte "unknown size" VINT libwebm and ffmpeg write for live Segments and Clusters. */
export const unknownSize = Buffer.from('01ffffffffffffff', 'hex');

export function el(elementId: number, ...body: Buffer[]): Buffer {
  const data = Buffer.concat(body);
  return Buffer.concat([idBytes(elementId), sizeVint(data.length), data]);
}

export function elUnknown(elementId: number, ...body: Buffer[]): Buffer {
  return Buffer.concat([idBytes(elementId), unknownSize, ...body]);
}

export function uint(elementId: number, v: number): Buffer {
  const bytes: number[] = [];
  for (let x = v; x > 0; x = Math.floor(x / 256)) bytes.unshift(x % 256);
  return el(elementId, Buffer.from(bytes.length ? bytes : [0]));
}

export function str(elementId: number, s: string): Buffer {
  return el(elementId, Buffer.from(s, 'latin1'));
}

export function float(elementId: number, v: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeDoubleBE(v);
  return el(elementId, b);
}

/** Block / SimpleBlock body: track number VINT, signed 16-bit relative timestamp, flags, then data. */
export function blockBody(track: number, relative: number, flags: number, ...data: Buffer[]): Buffer {
  const head = Buffer.alloc(3);
  head.writeInt16BE(relative, 0);
  head[2] = flags;
  return Buffer.concat([sizeVint(track), head, ...data]);
}

export function simpleBlock(track: number, relative: number, flags: number, ...data: Buffer[]): Buffer {
  return el(id.SimpleBlock, blockBody(track, relative, flags, ...data));
}

export function ebmlHeader(docType = 'webm'): Buffer {
  return el(id.EBML, uint(0x4286, 1), str(id.DocType, docType));
}

export function videoEntry(track: number, ...extra: Buffer[]): Buffer {
  return el(
    id.TrackEntry,
    uint(id.TrackNumber, track),
    uint(id.TrackUID, 1234 + track),
    uint(id.TrackType, 1),
    str(id.CodecID, 'V_VP8'),
    el(id.Video, uint(id.PixelWidth, 640), uint(id.PixelHeight, 360)),
    ...extra,
  );
}

export function audioEntry(track: number, ...extra: Buffer[]): Buffer {
  return el(
    id.TrackEntry,
    uint(id.TrackNumber, track),
    uint(id.TrackType, 2),
    str(id.CodecID, 'A_OPUS'),
    el(id.CodecPrivate, Buffer.from('OpusHead')),
    el(id.Audio, float(id.SamplingFrequency, 48_000), uint(id.Channels, 2)),
    ...extra,
  );
}

/** EBML header, an unknown-size Segment, Info and Tracks: what a live recorder sends first. */
export function liveHead(entries: Buffer[] = [videoEntry(1)], timestampScaleNs = 1_000_000): Buffer {
  return Buffer.concat([
    ebmlHeader(),
    idBytes(id.Segment),
    unknownSize,
    el(id.Info, uint(id.TimestampScale, timestampScaleNs)),
    el(id.Tracks, ...entries),
  ]);
}

/** A deterministic byte sequence that is not media (xorshift32). */
export function noise(length: number, seed = 0x9e3779b9): Buffer {
  const out = Buffer.alloc(length);
  let x = seed >>> 0;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}
