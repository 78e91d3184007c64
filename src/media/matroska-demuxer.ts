import { createError, DashrelayError } from '../errors/errors.ts';
import type { MediaCodec, MediaFrame, MediaKind, MediaTrack } from './types.ts';

/**
 * A push demuxer for live WebM/Matroska (RFC 9559 on EBML, RFC 8794): bytes in, in any split, and out
 * come the tracks once the Tracks element is complete, then one {@link MediaFrame} per coded frame.
 *
 * Why not ts-ebml's Decoder (the project's rule prefers a library to our own parser), checked on 3.0.2:
 * - it cannot be bounded: it learns an element's declared size only when the whole element has
 *   arrived, so a size field claiming 2^50 bytes makes it buffer everything that follows;
 * - it re-concatenates its pending bytes with every chunk (`concat([buffer, chunk])`), so every byte
 *   is copied at least once and a keyframe fed in small pieces is copied over and over (quadratic);
 * - on an unknown-size parent (live Segment and Cluster) it drops the parent from its stack after the
 *   first child, so it can neither tell where a Cluster ends nor catch an element overrunning its
 *   parent; only the 8-byte unknown-size marker is recognised (node-ebml's `readVint` reads a 1-byte
 *   0xFF as 127), and a non-master element of unknown size comes out as garbage;
 * - `decode` takes an ArrayBuffer, so a Node Buffer has to be copied just to be handed in.
 * The other npm EBML decoders (ebml, ebml-stream) share that design. mediabunny has a good Matroska
 * demuxer, but it is pull-based and asynchronous over a Source, a large dependency for the three dozen
 * element IDs needed here. So this is the smallest correct alternative: an EBML reader for element headers
 * (VINTs, RFC 8794 §4–6), descending only into the masters that carry track and frame data and
 * streaming past everything else without holding it.
 *
 * Bounded: a non-master element may be at most `maxElementBytes`, and so may an element of an ID it
 * does not know (skipped, not held, but in a live stream a huge one is more likely garbage than media);
 * a larger declared size is an error before a byte of it is buffered. Known masters it skips (Cues,
 * Tags, …) are streamed past whatever their size. So between pushes it never holds more than one
 * element's bytes.
 *
 * Copies: a frame that lies within one pushed chunk is a view into it; only a frame split across
 * chunks is joined (one copy of that frame).
 *
 * Malformed input (not EBML, an invalid VINT, an element overrunning its parent, a block for an
 * undeclared track, …) gives one `DR_ERR_MEDIA_MALFORMED` error event; the demuxer then ignores all
 * further input. `push` never throws.
 */
export class MatroskaDemuxer {
  private readonly maxElementBytes: number;
  private readonly queue = new ByteQueue();
  /** Absolute offset of the queue's first byte in the stream. */
  private pos = 0;
  private readonly stack: OpenElement[] = [];
  /** A non-master element whose header is consumed, waiting for its body. */
  private pending: { id: number; kind: ValueKind; size: number; start: number } | undefined;
  /** Bytes of a skipped element still to come. */
  private skipLeft = 0;
  private failure: DashrelayError | undefined;
  private ended = false;
  private out: DemuxEvent[] = [];

  /** True once an EBML header was seen anywhere: until then the first element must be one. */
  private sawEbml = false;
  /** The current EBML header's DocType, and whether that header is complete (a Segment may follow). */
  private docType = '';
  private headerDone = false;
  /** ms per Matroska tick: TimestampScale (ns, default 1 000 000) / 1e6. */
  private tickMs = 1;
  private readonly tracks = new Map<number, TrackState>();
  /** Track numbers declared with a type other than video/audio: their blocks are dropped. */
  private readonly ignoredTracks = new Set<number>();
  private entry: TrackEntryBuilder | undefined;
  private clusterTicks: number | undefined;
  private group: BlockGroupState | undefined;

  constructor(options: MatroskaDemuxerOptions = {}) {
    this.maxElementBytes = options.maxElementBytes ?? defaultMaxElementBytes;
  }

  /** The error that stopped the demuxer, if one did. */
  get error(): DashrelayError | undefined {
    return this.failure;
  }

  /** Feeds the next bytes of the stream; returns what they completed, in stream order. Never throws. */
  push(chunk: Buffer): readonly DemuxEvent[] {
    if (this.failure || this.ended || chunk.length === 0) return noEvents;
    this.queue.push(chunk);
    this.out = [];
    try {
      this.parse();
      // Cannot happen by construction (see the class comment); checked because the bound is a promise.
      if (this.queue.length > this.maxElementBytes) {
        throw malformed(`${this.queue.length} bytes pending at byte ${this.pos}, over the limit`);
      }
    } catch (err) {
      this.fail(err);
    }
    return this.out;
  }

  /**
   * Declares the end of the stream (further input is ignored). A stream cut inside an element (a
   * header, a body, a sized master) is reported as truncated; one ending between the elements of an
   * unknown-size Cluster is complete.
   */
  end(): readonly DemuxEvent[] {
    if (this.failure || this.ended) return noEvents;
    this.ended = true;
    this.out = [];
    const open = this.stack.find((e) => !e.unknownSize);
    if (this.pending) {
      this.fail(malformed(`the stream ends inside ${nameOf(this.pending.id)} at byte ${this.pending.start}`));
    } else if (this.queue.length > 0 || this.skipLeft > 0) {
      this.fail(malformed(`the stream ends inside an element at byte ${this.pos + this.queue.length}`));
    } else if (open) {
      this.fail(malformed(`the stream ends inside ${nameOf(open.id)} (byte ${this.pos} of ${open.end})`));
    }
    return this.out;
  }

  private fail(err: unknown): void {
    this.failure =
      err instanceof DashrelayError
        ? err
        : // A bug here must not escape `push` either; the session's other sinks go on regardless.
          new DashrelayError(
            'DR_ERR_MEDIA_MALFORMED',
            [`demuxer failure at byte ${this.pos}: ${err instanceof Error ? err.message : String(err)}`],
            { cause: err },
          );
    this.queue.clear();
    this.pending = undefined;
    this.out.push({ type: 'error', error: this.failure });
  }

  private parse(): void {
    for (;;) {
      if (this.skipLeft > 0) {
        const n = this.queue.skip(this.skipLeft);
        this.pos += n;
        this.skipLeft -= n;
        if (this.skipLeft > 0) return;
      }
      const pending = this.pending;
      if (pending) {
        if (this.queue.length < pending.size) return;
        const body = this.queue.take(pending.size);
        this.pos += pending.size;
        this.pending = undefined;
        this.value(pending.id, pending.kind, body, pending.start);
      }
      this.closeEnded();
      if (!this.header()) return;
    }
  }

  /** Closes the sized masters that end here (a BlockGroup's frame is emitted at its end). */
  private closeEnded(): void {
    for (let top = this.stack.at(-1); top && top.end <= this.pos; top = this.stack.at(-1)) {
      this.stack.pop();
      this.close(top);
    }
  }

  /** Reads one element header if complete, and acts on it. @returns false when more bytes are needed. */
  private header(): boolean {
    const q = this.queue;
    if (q.length === 0) return false;
    const start = this.pos;
    const b0 = q.byteAt(0);
    // The first element must be the EBML header (1A 45 DF A3): say so from its first byte on.
    if (!this.sawEbml && b0 !== 0x1a) throw notEbml(start);
    const idLen = vintWidth(b0);
    if (idLen > 4) throw malformed(`invalid element ID (first byte 0x${hex(b0)}) at byte ${start}`);
    if (q.length < idLen + 1) return false;
    let id = b0;
    for (let i = 1; i < idLen; i++) id = id * 256 + q.byteAt(i);
    if (isReservedId(id, idLen)) throw malformed(`invalid element ID 0x${hex(id)} at byte ${start}`);
    const s0 = q.byteAt(idLen);
    const sizeLen = vintWidth(s0);
    if (sizeLen > 8) throw malformed(`invalid size VINT (first byte 0x00) at byte ${start + idLen}`);
    const headerLen = idLen + sizeLen;
    if (q.length < headerLen) return false;
    const mask = 0xff >> sizeLen;
    let size = s0 & mask;
    let allOnes = size === mask;
    for (let i = 1; i < sizeLen; i++) {
      const b = q.byteAt(idLen + i);
      allOnes &&= b === 0xff;
      size = size * 256 + b;
    }
    const unknownSize = allOnes; // RFC 8794 §6.2: every VINT_DATA bit set
    if (!unknownSize && size > Number.MAX_SAFE_INTEGER) {
      throw malformed(`element size at byte ${start} is out of range`);
    }
    if (!this.sawEbml && id !== ids.EBML) throw notEbml(start);

    // RFC 8794 §6.2: an unknown-size element ends where an element that cannot be its child begins.
    for (let top = this.stack.at(-1); top?.unknownSize && !canContinue(top.id, id); top = this.stack.at(-1)) {
      this.stack.pop();
      this.close(top);
    }
    const parent = this.stack.at(-1);
    const kind = this.kindOf(parent, id, start);
    if (unknownSize && !(kind === 'master' && (id === ids.Segment || id === ids.Cluster))) {
      // RFC 9559 §23.2: only Segment and Cluster may be open-ended, as a live stream writes them.
      throw malformed(`${nameOf(id)} at byte ${start} has an unknown size`);
    }
    const end = unknownSize ? (parent?.end ?? Number.POSITIVE_INFINITY) : start + headerLen + size;
    if (parent && end > parent.end) {
      throw malformed(`${nameOf(id)} at byte ${start} overruns its parent ${nameOf(parent.id)}`);
    }
    if (kind !== 'master' && kind !== 'skipMaster' && size > this.maxElementBytes) {
      throw malformed(
        `${nameOf(id)} at byte ${start} declares ${size} bytes, over the ${this.maxElementBytes}-byte limit`,
      );
    }
    q.skip(headerLen);
    this.pos += headerLen;
    switch (kind) {
      case 'master':
        this.stack.push({ id, end, unknownSize });
        this.open(id, start);
        break;
      case 'skipMaster':
      case 'skip':
        if (id === ids.ContentEncodings && this.entry) this.entry.encoded = true;
        this.skipLeft = size;
        break;
      default:
        this.pending = { id, kind, size, start };
    }
    return true;
  }

  private kindOf(parent: OpenElement | undefined, id: number, start: number): Kind {
    if (parent) return schema.get(parent.id)?.get(id) ?? 'skip';
    if (id === ids.Void) return 'skip';
    if (id === ids.EBML) return 'master';
    if (id === ids.Segment) {
      if (!this.headerDone) throw malformed(`Segment at byte ${start} without an EBML header before it`);
      return 'master';
    }
    throw malformed(`unexpected top-level element 0x${hex(id)} at byte ${start}`);
  }

  private open(id: number, start: number): void {
    switch (id) {
      case ids.EBML:
        this.sawEbml = true;
        this.headerDone = false;
        this.docType = '';
        break;
      case ids.Segment:
        this.headerDone = false; // the next Segment needs its own EBML header
        this.tickMs = 1;
        this.tracks.clear();
        this.ignoredTracks.clear();
        break;
      case ids.Tracks:
        this.tracks.clear();
        this.ignoredTracks.clear();
        break;
      case ids.TrackEntry:
        this.entry = { start, encoded: false };
        break;
      case ids.Cluster:
        this.clusterTicks = undefined;
        break;
      case ids.BlockGroup:
        this.group = { block: undefined, referenced: false, durationTicks: undefined, start };
        break;
    }
  }

  private close(el: OpenElement): void {
    switch (el.id) {
      case ids.EBML:
        if (this.docType !== 'webm' && this.docType !== 'matroska') {
          throw malformed(
            this.docType
              ? `DocType "${this.docType}" is neither webm nor matroska`
              : 'EBML header without DocType',
          );
        }
        this.headerDone = true;
        break;
      case ids.TrackEntry:
        if (this.entry) this.addTrack(this.entry);
        this.entry = undefined;
        break;
      case ids.Tracks:
        this.out.push({ type: 'tracks', tracks: [...this.tracks.values()].map((t) => t.track) });
        break;
      case ids.BlockGroup: {
        const g = this.group;
        this.group = undefined;
        if (!g?.block) break; // a BlockGroup without a Block carries no frame
        this.block(g.block.data, g.block.start, undefined, g.referenced, g.durationTicks);
        break;
      }
    }
  }

  private value(id: number, kind: ValueKind, body: Buffer, start: number): void {
    switch (kind) {
      case 'uint': {
        const v = readUint(body, id, start);
        if (v !== undefined) this.uint(id, v, start);
        return;
      }
      case 'float': {
        const v = readFloat(body, id, start);
        if (v !== undefined && id === ids.SamplingFrequency && this.entry) this.entry.sampleRate = v;
        return;
      }
      case 'string': {
        const v = body.toString('latin1').replace(/\0+$/, '');
        if (id === ids.DocType) this.docType = v;
        else if (id === ids.CodecID && this.entry) this.entry.codecId = v;
        return;
      }
      case 'binary':
        // A copy: a view would keep the whole chunk it arrived in alive for the session's life.
        if (id === ids.CodecPrivate && this.entry) this.entry.codecPrivate = Buffer.from(body);
        return;
      case 'simpleBlock':
        this.block(body, start, true, false, undefined);
        return;
      case 'block':
        if (!this.group) return;
        if (this.group.block) throw malformed(`BlockGroup at byte ${this.group.start} has two Blocks`);
        this.group.block = { data: body, start };
        return;
      case 'reference':
        if (this.group) this.group.referenced = true;
        return;
    }
  }

  private uint(id: number, v: number, start: number): void {
    const e = this.entry;
    switch (id) {
      case ids.TimestampScale:
        if (v === 0) throw malformed(`TimestampScale 0 at byte ${start}`);
        this.tickMs = v / 1e6;
        return;
      case ids.Timestamp:
        this.clusterTicks = v;
        return;
      case ids.BlockDuration:
        if (this.group) this.group.durationTicks = v;
        return;
    }
    if (!e) return;
    switch (id) {
      case ids.TrackNumber:
        e.number = v;
        break;
      case ids.TrackType:
        e.type = v;
        break;
      case ids.DefaultDuration:
        e.defaultDurationNs = v;
        break;
      case ids.CodecDelay:
        e.codecDelayNs = v;
        break;
      case ids.PixelWidth:
        e.width = v;
        break;
      case ids.PixelHeight:
        e.height = v;
        break;
      case ids.Channels:
        e.channels = v;
        break;
    }
  }

  private addTrack(e: TrackEntryBuilder): void {
    const at = `TrackEntry at byte ${e.start}`;
    if (!e.number) throw malformed(`${at} has no TrackNumber`);
    if (this.tracks.has(e.number) || this.ignoredTracks.has(e.number)) {
      throw malformed(`${at} repeats track number ${e.number}`);
    }
    if (e.type === undefined) throw malformed(`${at} has no TrackType`);
    if (e.codecId === undefined) throw malformed(`${at} has no CodecID`);
    const kind: MediaKind | undefined = e.type === 1 ? 'video' : e.type === 2 ? 'audio' : undefined;
    if (!kind) {
      this.ignoredTracks.add(e.number); // subtitles, metadata, …: not media this layer serves
      return;
    }
    if (e.encoded) {
      // RFC 9559 §5.1.4.1 ContentEncodings: frames would be compressed or encrypted; say so, not garble.
      throw malformed(`track ${e.number} uses ContentEncoding (compression or encryption), not supported`);
    }
    const base = {
      id: e.number,
      codec: codecFromId(e.codecId),
      codecId: e.codecId,
      ...(e.codecPrivate ? { codecPrivate: e.codecPrivate } : {}),
    };
    const track: MediaTrack =
      kind === 'video'
        ? { ...base, kind, width: e.width ?? 0, height: e.height ?? 0 }
        : { ...base, kind, sampleRate: e.sampleRate ?? 8000, channels: e.channels ?? 1 };
    this.tracks.set(e.number, {
      track,
      kind,
      codecDelayMs: (e.codecDelayNs ?? 0) / 1e6,
      defaultDurationMs: e.defaultDurationNs === undefined ? undefined : e.defaultDurationNs / 1e6,
    });
  }

  /**
   * Emits the frames of one Block or SimpleBlock (RFC 9559 §10.1–10.3).
   * @param simpleKey for a SimpleBlock `true` (its flags say); `undefined` for a BlockGroup's Block
   */
  private block(
    body: Buffer,
    start: number,
    simpleKey: true | undefined,
    referenced: boolean,
    durationTicks: number | undefined,
  ): void {
    const v = readVint(body, 0);
    if (!v || v.unknown || body.length < v.length + 3) throw malformed(`truncated block at byte ${start}`);
    const trackNumber = v.value;
    const track = this.tracks.get(trackNumber);
    if (!track) {
      if (this.ignoredTracks.has(trackNumber)) return;
      throw malformed(
        `block at byte ${start} for track ${trackNumber}, which the Tracks element does not declare`,
      );
    }
    if (this.clusterTicks === undefined)
      throw malformed(`block at byte ${start} before its Cluster's Timestamp`);
    const relative = body.readInt16BE(v.length);
    const flags = body[v.length + 2] ?? 0;
    const keyframe = simpleKey ? (flags & 0x80) !== 0 : !referenced;
    const timestampMs = (this.clusterTicks + relative) * this.tickMs - track.codecDelayMs;
    const payloadStart = v.length + 3;
    const lacing = (flags >> 1) & 3;
    if (lacing === 0) {
      this.frame(track, timestampMs, keyframe, body.subarray(payloadStart));
      return;
    }
    const frames = unlace(body, payloadStart, lacing, start);
    const frameMs =
      track.defaultDurationMs ??
      (durationTicks === undefined ? undefined : (durationTicks * this.tickMs) / frames.length);
    if (frameMs === undefined) {
      throw malformed(
        `laced block at byte ${start} on track ${trackNumber} without DefaultDuration or BlockDuration: its frames' timestamps are unknown`,
      );
    }
    for (let i = 0; i < frames.length; i++) {
      this.frame(track, timestampMs + i * frameMs, keyframe, frames[i] as Buffer);
    }
  }

  private frame(track: TrackState, timestampMs: number, keyframe: boolean, data: Buffer): void {
    const frame: MediaFrame = { trackId: track.track.id, kind: track.kind, timestampMs, keyframe, data };
    this.out.push({ type: 'frame', frame });
  }
}

/** What one push (or `end`) produced, in stream order. */
export type DemuxEvent =
  | { readonly type: 'tracks'; readonly tracks: readonly MediaTrack[] }
  | { readonly type: 'frame'; readonly frame: MediaFrame }
  | { readonly type: 'error'; readonly error: DashrelayError };

export interface MatroskaDemuxerOptions {
  /**
   * Largest element held in memory, bytes (a frame is one element). The server passes its WebSocket
   * message limit, `maxMessageBytes`. Default 4 MiB, that limit's default.
   */
  readonly maxElementBytes?: number | undefined;
}

export const defaultMaxElementBytes = 4 * 1024 * 1024;

const noEvents: readonly DemuxEvent[] = Object.freeze([]);

/** Matroska element IDs (RFC 9559 §5; EBML header and global elements RFC 8794 §11). */
const ids = {
  EBML: 0x1a45dfa3,
  DocType: 0x4282,
  Void: 0xec,
  Segment: 0x18538067,
  SeekHead: 0x114d9b74,
  Info: 0x1549a966,
  TimestampScale: 0x2ad7b1,
  Tracks: 0x1654ae6b,
  TrackEntry: 0xae,
  TrackNumber: 0xd7,
  TrackType: 0x83,
  CodecID: 0x86,
  CodecPrivate: 0x63a2,
  CodecDelay: 0x56aa,
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
  Attachments: 0x1941a469,
  Chapters: 0x1043a770,
  Tags: 0x1254c367,
} as const;

const names = new Map<number, string>(Object.entries(ids).map(([name, id]) => [id, name]));

function nameOf(id: number): string {
  return names.get(id) ?? `element 0x${hex(id)}`;
}

type ValueKind = 'uint' | 'float' | 'string' | 'binary' | 'simpleBlock' | 'block' | 'reference';
/** `master`: descend; `skipMaster`: a known master streamed past; `skip`: anything else not needed. */
type Kind = 'master' | 'skipMaster' | 'skip' | ValueKind;

/** The elements read, by parent. IDs not listed under their parent are skipped. */
const schema = new Map<number, Map<number, Kind>>([
  [ids.EBML, new Map([[ids.DocType, 'string']])],
  [
    ids.Segment,
    new Map<number, Kind>([
      [ids.Info, 'master'],
      [ids.Tracks, 'master'],
      [ids.Cluster, 'master'],
      [ids.SeekHead, 'skipMaster'],
      [ids.Cues, 'skipMaster'],
      [ids.Attachments, 'skipMaster'],
      [ids.Chapters, 'skipMaster'],
      [ids.Tags, 'skipMaster'],
    ]),
  ],
  [ids.Info, new Map([[ids.TimestampScale, 'uint']])],
  [ids.Tracks, new Map([[ids.TrackEntry, 'master']])],
  [
    ids.TrackEntry,
    new Map<number, Kind>([
      [ids.TrackNumber, 'uint'],
      [ids.TrackType, 'uint'],
      [ids.CodecID, 'string'],
      [ids.CodecPrivate, 'binary'],
      [ids.CodecDelay, 'uint'],
      [ids.DefaultDuration, 'uint'],
      [ids.Video, 'master'],
      [ids.Audio, 'master'],
      [ids.ContentEncodings, 'skipMaster'],
    ]),
  ],
  [
    ids.Video,
    new Map<number, Kind>([
      [ids.PixelWidth, 'uint'],
      [ids.PixelHeight, 'uint'],
    ]),
  ],
  [
    ids.Audio,
    new Map<number, Kind>([
      [ids.SamplingFrequency, 'float'],
      [ids.Channels, 'uint'],
    ]),
  ],
  [
    ids.Cluster,
    new Map<number, Kind>([
      [ids.Timestamp, 'uint'],
      [ids.SimpleBlock, 'simpleBlock'],
      [ids.BlockGroup, 'master'],
    ]),
  ],
  [
    ids.BlockGroup,
    new Map<number, Kind>([
      [ids.Block, 'block'],
      [ids.ReferenceBlock, 'reference'],
      [ids.BlockDuration, 'uint'],
    ]),
  ],
]);

/** Elements that can only be children of a Segment: each ends an unknown-size Cluster. */
const segmentChildren = new Set<number>([
  ids.SeekHead,
  ids.Info,
  ids.Tracks,
  ids.Cluster,
  ids.Cues,
  ids.Attachments,
  ids.Chapters,
  ids.Tags,
]);

/** Whether element `id` can follow inside the open unknown-size element `parent`. */
function canContinue(parent: number, id: number): boolean {
  if (id === ids.EBML || id === ids.Segment) return false;
  if (parent === ids.Cluster) return !segmentChildren.has(id);
  return true;
}

interface OpenElement {
  readonly id: number;
  /** Absolute offset where the element ends; an unknown-size one ends with its parent (or never). */
  readonly end: number;
  readonly unknownSize: boolean;
}

interface TrackState {
  readonly track: MediaTrack;
  readonly kind: MediaKind;
  readonly codecDelayMs: number;
  readonly defaultDurationMs: number | undefined;
}

interface TrackEntryBuilder {
  readonly start: number;
  number?: number;
  type?: number;
  codecId?: string;
  codecPrivate?: Buffer;
  codecDelayNs?: number;
  defaultDurationNs?: number;
  width?: number;
  height?: number;
  sampleRate?: number;
  channels?: number;
  encoded: boolean;
}

interface BlockGroupState {
  block: { data: Buffer; start: number } | undefined;
  referenced: boolean;
  durationTicks: number | undefined;
  readonly start: number;
}

export function codecFromId(codecId: string): MediaCodec {
  switch (codecId) {
    case 'V_MPEG4/ISO/AVC':
      return 'h264';
    case 'V_VP8':
      return 'vp8';
    case 'V_VP9':
      return 'vp9';
    case 'V_AV1':
      return 'av1';
    case 'A_OPUS':
      return 'opus';
    case 'A_VORBIS':
      return 'vorbis';
  }
  if (codecId === 'A_AAC' || codecId.startsWith('A_AAC/')) return 'aac';
  if (codecId.startsWith('A_PCM/')) return 'pcm';
  return 'unknown';
}

/** VINT_WIDTH from the first byte (RFC 8794 §4.1): 1–8, or 9 for 0x00, which is no valid VINT. */
function vintWidth(firstByte: number): number {
  return Math.clz32(firstByte) - 23;
}

/** RFC 8794 §5: an Element ID's VINT_DATA may be neither all zeros nor all ones. */
function isReservedId(id: number, len: number): boolean {
  const dataBits = 7 * len;
  const data = id - 2 ** dataBits; // drop the marker bit
  return data === 0 || data === 2 ** dataBits - 1;
}

/** A VINT inside a block (track number, lace sizes). `undefined` when invalid or cut short. */
function readVint(buf: Buffer, at: number): { value: number; length: number; unknown: boolean } | undefined {
  const b0 = buf[at];
  if (b0 === undefined) return undefined;
  const length = vintWidth(b0);
  if (length > 8 || at + length > buf.length) return undefined;
  const mask = 0xff >> length;
  let value = b0 & mask;
  let unknown = value === mask;
  for (let i = 1; i < length; i++) {
    const b = buf[at + i] as number;
    unknown &&= b === 0xff;
    value = value * 256 + b;
  }
  return { value, length, unknown };
}

/** Splits a laced block's payload into its frames (RFC 9559 §10.3), as views. */
function unlace(body: Buffer, from: number, lacing: number, start: number): Buffer[] {
  const bad = (why: string): DashrelayError => malformed(`laced block at byte ${start}: ${why}`);
  let at = from;
  const countByte = body[at++];
  if (countByte === undefined) throw bad('no frame count');
  const count = countByte + 1;
  const sizes: number[] = [];
  if (lacing === 2) {
    // fixed-size lacing
    const rest = body.length - at;
    if (rest % count !== 0) throw bad(`${rest} bytes do not split into ${count} equal frames`);
    for (let i = 0; i < count - 1; i++) sizes.push(rest / count);
  } else if (lacing === 1) {
    // Xiph lacing: each size is a run of 255s and a final byte below 255
    for (let i = 0; i < count - 1; i++) {
      let size = 0;
      let b: number | undefined;
      do {
        b = body[at++];
        if (b === undefined) throw bad('lace sizes run past the block');
        size += b;
      } while (b === 0xff);
      sizes.push(size);
    }
  } else {
    // EBML lacing: the first size as a VINT, each next one as a signed VINT difference
    let size = 0;
    for (let i = 0; i < count - 1; i++) {
      const v = readVint(body, at);
      if (!v || v.unknown) throw bad('invalid lace size');
      at += v.length;
      size = i === 0 ? v.value : size + v.value - (2 ** (7 * v.length - 1) - 1);
      if (size < 0) throw bad('negative lace size');
      sizes.push(size);
    }
  }
  const frames: Buffer[] = [];
  for (const size of sizes) {
    if (at + size > body.length) throw bad('lace sizes exceed the block');
    frames.push(body.subarray(at, at + size));
    at += size;
  }
  frames.push(body.subarray(at));
  return frames;
}

function readUint(body: Buffer, id: number, start: number): number | undefined {
  if (body.length === 0) return undefined; // RFC 8794 §7: empty means the default value
  if (body.length > 8) throw malformed(`${nameOf(id)} at byte ${start} is a ${body.length}-byte integer`);
  if (body.length <= 6) return body.readUIntBE(0, body.length);
  let v = 0; // above 2^53 inexact, which no value read here reaches
  for (const b of body) v = v * 256 + b;
  return v;
}

function readFloat(body: Buffer, id: number, start: number): number | undefined {
  if (body.length === 0) return undefined;
  if (body.length === 4) return body.readFloatBE(0);
  if (body.length === 8) return body.readDoubleBE(0);
  throw malformed(`${nameOf(id)} at byte ${start} is a ${body.length}-byte float`);
}

function malformed(detail: string): DashrelayError {
  return createError('DR_ERR_MEDIA_MALFORMED', detail);
}

function notEbml(at: number): DashrelayError {
  return malformed(`not WebM/Matroska: no EBML header (1A 45 DF A3) at byte ${at}`);
}

function hex(n: number): string {
  return n.toString(16).toUpperCase().padStart(2, '0');
}

/**
 * The unconsumed bytes, as the chunks they arrived in: reading within one chunk is a view, and only an
 * element split across chunks is joined, once, when it is complete.
 */
class ByteQueue {
  private chunks: Buffer[] = [];
  private head = 0;
  /** Offset of the first unconsumed byte in `chunks[head]`. */
  private offset = 0;
  length = 0;

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  /** The byte `i` bytes ahead (`i < length`). */
  byteAt(i: number): number {
    let k = i + this.offset;
    for (let c = this.head; c < this.chunks.length; c++) {
      const chunk = this.chunks[c] as Buffer;
      if (k < chunk.length) return chunk[k] as number;
      k -= chunk.length;
    }
    throw new RangeError(`byteAt(${i}) past ${this.length} queued bytes`);
  }

  /** The next `n` bytes (`n <= length`), consumed. */
  take(n: number): Buffer {
    const first = this.chunks[this.head];
    if (first && first.length - this.offset >= n) {
      const view = first.subarray(this.offset, this.offset + n);
      this.skip(n);
      return view;
    }
    const joined = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[this.head] as Buffer;
      const part = Math.min(n - filled, chunk.length - this.offset);
      chunk.copy(joined, filled, this.offset, this.offset + part);
      filled += part;
      this.skip(part);
    }
    return joined;
  }

  /** Consumes up to `n` bytes; returns how many. */
  skip(n: number): number {
    let left = Math.min(n, this.length);
    const done = left;
    while (left > 0) {
      const chunk = this.chunks[this.head] as Buffer;
      const avail = chunk.length - this.offset;
      if (left < avail) {
        this.offset += left;
        break;
      }
      left -= avail;
      this.head++;
      this.offset = 0;
    }
    this.length -= done;
    if (this.head === this.chunks.length) this.clear();
    else if (this.head > 64) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
    return done;
  }

  clear(): void {
    this.chunks = [];
    this.head = 0;
    this.offset = 0;
    this.length = 0;
  }
}
