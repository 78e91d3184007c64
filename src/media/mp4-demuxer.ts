import { createFile, Log, MP4BoxBuffer } from 'mp4box';
import { createError, type DashrelayError } from '../errors/errors.ts';
import { BufferedDemuxer } from './buffered-demuxer.ts';
import type { DemuxEvent } from './matroska-demuxer.ts';
import type { MediaCodec, MediaFrame, MediaTrack } from './types.ts';

// mp4box.js prints every problem it meets in a publisher's bytes to the console ("[BoxParser]
// Invalid box type…"), one line per bad box: a hostile publisher could fill the server's stderr. The
// demuxer reports what matters itself (one DR_ERR_MEDIA_MALFORMED per session), so mp4box's own
// lines are dropped: warnings by its log level, errors (which no level silences) by a no-op.
Log.setLogLevel(Log.error);
Log.error = () => {};

/** tfhd flags (ISO/IEC 14496-12 §8.8.7.1). */
const tfhdBaseDataOffset = 0x01;
/** trun flags (§8.8.8.1). */
const trunDataOffset = 0x01;
const trunFirstSampleFlags = 0x04;
const trunDuration = 0x100;
const trunSize = 0x200;
const trunFlags = 0x400;

/** Sample entry four-character code → ours. */
const codecs: Record<string, MediaCodec> = {
  avc1: 'h264',
  avc3: 'h264',
  vp08: 'vp8',
  vp09: 'vp9',
  av01: 'av1',
  Opus: 'opus',
  mp4a: 'aac',
};

interface TrackTiming {
  readonly track: MediaTrack;
  readonly timescale: number;
  readonly defaultDuration: number;
  readonly defaultFlags: number;
}

/**
 * A streaming demuxer for fragmented MP4 (ISO/IEC 14496-12 §8.8; what Safari's and Chrome's
 * MediaRecorder write for `video/mp4`): `ftyp`, `moov`, then `moof` + `mdat` fragments, in any split.
 * The boxes are framed here (each top-level box held until complete, at most `maxElementBytes`) and
 * parsed with mp4box.js, one box at a time, so nothing accumulates over a session of days.
 *
 * Tracks come from `moov` (`tkhd`, `mdhd` timescale, `hdlr`, the sample entry; `trex` defaults); each
 * `moof`'s samples become frames when the `mdat` after it is complete: decode time from `tfdt` plus the
 * durations before it, presentation time adding the composition offset, keyframe from the sample flags
 * (`sample_is_non_sync_sample` clear). Unknown top-level boxes are skipped.
 *
 * Malformed input (not starting with `ftyp`/`moov`, a box smaller than its header or larger than the
 * limit, a `moof` mp4box cannot read) gives one `DR_ERR_MEDIA_MALFORMED`; further input is ignored.
 */
export class Mp4Demuxer extends BufferedDemuxer {
  private sawHeader = false;
  private readonly tracks = new Map<number, TrackTiming>();
  /** The last `moof` and where it began in the stream, until its `mdat`. */
  private moof: { readonly box: Buffer; readonly at: number } | undefined;

  protected parse(out: DemuxEvent[]): void {
    let at = 0;
    const buf = this.pending;
    while (buf.length - at >= 8) {
      let size = buf.readUInt32BE(at);
      const type = buf.toString('latin1', at + 4, at + 8);
      let header = 8;
      if (size === 1) {
        if (buf.length - at < 16) break;
        const large = buf.readBigUInt64BE(at + 8);
        if (large > BigInt(Number.MAX_SAFE_INTEGER)) throw malformed(`box '${type}' of size ${large}`);
        size = Number(large);
        header = 16;
      }
      if (!this.sawHeader) {
        if (type !== 'ftyp' && type !== 'moov' && type !== 'styp') {
          throw malformed(`the stream starts with box '${printable(type)}', not 'ftyp'`);
        }
        this.sawHeader = true;
      }
      if (size < header)
        throw malformed(`box '${printable(type)}' at byte ${this.pos + at} has size ${size}`);
      if (size > this.maxElementBytes) {
        throw malformed(`box '${type}' of ${size} bytes at byte ${this.pos + at}, over the limit`);
      }
      if (buf.length - at < size) break;
      const box = buf.subarray(at, at + size);
      if (type === 'moov') this.readMoov(box, out);
      else if (type === 'moof') this.moof = { box: Buffer.from(box), at: this.pos + at };
      else if (type === 'mdat' && this.moof) this.readFragment(this.moof, box, this.pos + at, out);
      at += size;
    }
    this.pos += at;
    this.pending = at === buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(at));
  }

  private readMoov(box: Buffer, out: DemuxEvent[]): void {
    const moov = parseBox(box).moov;
    if (!moov) throw malformed('a moov box mp4box cannot read');
    const trexs = moov.mvex?.trexs ?? [];
    this.tracks.clear();
    for (const trak of moov.traks) {
      const id = trak.tkhd.track_id;
      const handler = trak.mdia.hdlr.handler;
      if (handler !== 'vide' && handler !== 'soun') continue;
      const entry = trak.mdia.minf.stbl.stsd.entries[0];
      const fourCc = entry?.type ?? '';
      const codec = codecs[fourCc] ?? 'unknown';
      const base = { id, codec, codecId: fourCc };
      const track: MediaTrack =
        handler === 'vide'
          ? {
              ...base,
              kind: 'video',
              width: numberField(entry, 'width'),
              height: numberField(entry, 'height'),
            }
          : {
              ...base,
              kind: 'audio',
              sampleRate: numberField(entry, 'samplerate'),
              channels: numberField(entry, 'channel_count'),
            };
      const trex = trexs.find((t) => t.track_id === id);
      this.tracks.set(id, {
        track,
        timescale: trak.mdia.mdhd.timescale,
        defaultDuration: trex?.default_sample_duration ?? 0,
        defaultFlags: trex?.default_sample_flags ?? 0,
      });
    }
    out.push({ type: 'tracks', tracks: [...this.tracks.values()].map((t) => t.track) });
  }

  private readFragment(
    moof: { readonly box: Buffer; readonly at: number },
    mdat: Buffer,
    mdatAt: number,
    out: DemuxEvent[],
  ): void {
    this.moof = undefined;
    const parsed = parseBox(moof.box).moofs?.[0];
    if (!parsed) throw malformed(`a moof box at byte ${moof.at} mp4box cannot read`);
    for (const traf of parsed.trafs) {
      const timing = this.tracks.get(traf.tfhd.track_id);
      if (!timing || !traf.tfdt) continue;
      const { track, timescale } = timing;
      let decode = Number(traf.tfdt.baseMediaDecodeTime);
      // §8.8.7.1: without base-data-offset, offsets count from the moof (default-base-is-moof or not, for the first traf).
      const base = traf.tfhd.flags & tfhdBaseDataOffset ? traf.tfhd.base_data_offset : moof.at;
      for (const trun of traf.truns) {
        let offset = base + (trun.flags & trunDataOffset ? trun.data_offset : 0);
        for (let i = 0; i < trun.sample_count; i++) {
          const duration =
            trun.flags & trunDuration
              ? (trun.sample_duration[i] ?? 0)
              : traf.tfhd.default_sample_duration || timing.defaultDuration;
          const size = trun.flags & trunSize ? (trun.sample_size[i] ?? 0) : traf.tfhd.default_sample_size;
          const flags =
            i === 0 && trun.flags & trunFirstSampleFlags
              ? trun.first_sample_flags
              : trun.flags & trunFlags
                ? (trun.sample_flags[i] ?? 0)
                : traf.tfhd.default_sample_flags || timing.defaultFlags;
          const cts = trun.sample_composition_time_offset?.[i] ?? 0;
          const start = offset - mdatAt;
          const data =
            start >= 0 && start + size <= mdat.length ? mdat.subarray(start, start + size) : undefined;
          const frame: MediaFrame = {
            trackId: track.id,
            kind: track.kind,
            timestampMs: ((decode + cts) * 1000) / timescale,
            // sample_is_non_sync_sample (§8.8.3.1); audio samples are all sync.
            keyframe: track.kind === 'audio' || ((flags >> 16) & 0x01) === 0,
            data: data ? Buffer.from(data) : Buffer.alloc(0),
          };
          out.push({ type: 'frame', frame });
          decode += duration;
          offset += size;
        }
      }
    }
  }
}

/** One complete top-level box, parsed by a fresh mp4box file (which is then dropped). */
function parseBox(box: Buffer) {
  const file = createFile();
  const ab = box.buffer.slice(box.byteOffset, box.byteOffset + box.length) as ArrayBuffer;
  file.appendBuffer(MP4BoxBuffer.fromArrayBuffer(ab, 0));
  return file;
}

function numberField(entry: unknown, name: string): number {
  const value = (entry as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'number' ? value : 0;
}

function printable(type: string): string {
  return /^[\x20-\x7e]{4}$/.test(type) ? type : JSON.stringify(type);
}

function malformed(detail: string): DashrelayError {
  return createError('DR_ERR_MEDIA_MALFORMED', detail);
}
