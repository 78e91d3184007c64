import { createError, type DashrelayError } from '../errors/errors.ts';
import { BufferedDemuxer } from './buffered-demuxer.ts';
import type { DemuxEvent } from './matroska-demuxer.ts';
import type { AudioTrack, MediaCodec, MediaFrame, MediaTrack, VideoTrack } from './types.ts';

/** FLV tag types (Adobe FLV spec v10.1 §E.4.1). */
const tagAudio = 8;
const tagVideo = 9;
/** The header (9 bytes) and PreviousTagSize0 (4 bytes) before the first tag. */
const fileHeaderBytes = 13;
const tagHeaderBytes = 11;
const previousTagSizeBytes = 4;

/** Track ids given to FLV's one video and one audio stream (FLV has no track numbers). */
export const flvVideoTrackId = 1;
export const flvAudioTrackId = 2;

/** FLV VideoTagHeader CodecID (§E.4.3.1) → ours; 7 is AVC. */
const videoCodecs: Record<number, MediaCodec> = { 7: 'h264' };
/** Enhanced RTMP (veovera enhanced-rtmp v1) FourCC → ours. */
const fourCcCodecs: Record<string, MediaCodec> = { av01: 'av1', vp09: 'vp9', avc1: 'h264' };
/** AudioTagHeader SoundFormat (§E.4.2.1) → ours: 10 AAC, 3 linear PCM little-endian, 0 PCM platform endian. */
const audioCodecs: Record<number, MediaCodec> = { 10: 'aac', 3: 'pcm', 0: 'pcm' };
/** AudioSpecificConfig samplingFrequencyIndex (ISO/IEC 14496-3 §1.6.3.4). */
const aacRates = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];

/**
 * A streaming demuxer for FLV, the container RTMP carries (Adobe FLV spec v10.1 Annex E; the
 * ex-header of Enhanced RTMP v1 for AV1/VP9/HEVC): bytes in any split → tracks and frames, as
 * {@link MatroskaDemuxer} gives them, so the media clock and every other frame consumer read RTMP
 * publishers unchanged.
 *
 * Tracks come from the sequence headers (AVCDecoderConfigurationRecord, AudioSpecificConfig); a
 * `tracks` event follows each one that adds or changes a track. A frame's `timestampMs` is its
 * presentation time: the tag's timestamp (decode time, ms) plus the AVC CompositionTime. Script
 * tags (onMetaData) are skipped.
 *
 * Malformed input (no `FLV` signature, a tag larger than `maxElementBytes`, a PreviousTagSize that
 * does not match the tag) gives one `DR_ERR_MEDIA_MALFORMED` error; further input is ignored. Frames
 * are copies (a few KiB each at most once per frame), so no publisher chunk is held.
 */
export class FlvDemuxer extends BufferedDemuxer {
  private headerDone = false;
  private readonly tracks = new Map<number, MediaTrack>();

  protected parse(out: DemuxEvent[]): void {
    let at = 0;
    const buf = this.pending;
    if (!this.headerDone) {
      if (buf.length < 3) return;
      if (buf.toString('latin1', 0, 3) !== 'FLV') throw malformed('the stream does not start with "FLV"');
      if (buf.length < fileHeaderBytes) return;
      const dataOffset = buf.readUInt32BE(5);
      if (dataOffset !== 9) throw malformed(`FLV header size ${dataOffset}, expected 9`);
      at = fileHeaderBytes;
      this.headerDone = true;
    }
    while (buf.length - at >= tagHeaderBytes) {
      const type = buf.readUInt8(at) & 0x1f;
      const size = buf.readUIntBE(at + 1, 3);
      if (size > this.maxElementBytes) {
        throw malformed(`an FLV tag of ${size} bytes at byte ${this.pos + at}, over the limit`);
      }
      const total = tagHeaderBytes + size + previousTagSizeBytes;
      if (buf.length - at < total) break;
      const previous = buf.readUInt32BE(at + tagHeaderBytes + size);
      if (previous !== tagHeaderBytes + size) {
        throw malformed(`PreviousTagSize ${previous} after a tag of ${size} bytes at byte ${this.pos + at}`);
      }
      // Timestamp: 24 bits, then TimestampExtended as the upper 8 bits (§E.4.1).
      const dts = buf.readUIntBE(at + 4, 3) + buf.readUInt8(at + 7) * 0x1000000;
      const body = buf.subarray(at + tagHeaderBytes, at + tagHeaderBytes + size);
      if (type === tagVideo) this.video(body, dts, out);
      else if (type === tagAudio) this.audio(body, dts, out);
      at += total;
    }
    this.pos += at;
    this.pending = at === buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(at));
  }

  private video(body: Buffer, dts: number, out: DemuxEvent[]): void {
    if (body.length < 1) return;
    const keyframe = ((body.readUInt8(0) >> 4) & 0x07) === 1;
    if (body.readUInt8(0) & 0x80) {
      // Enhanced RTMP: PacketType in the low nibble, then a FourCC; 0 is the sequence start.
      if (body.length < 5) return;
      const packetType = body.readUInt8(0) & 0x0f;
      const fourCc = body.toString('latin1', 1, 5);
      const codec = fourCcCodecs[fourCc] ?? 'unknown';
      if (packetType === 0) {
        this.addTrack(videoTrack(codec, `FLV/${fourCc}`, body.subarray(5)), out);
        return;
      }
      // CodedFrames (1) carries a SI24 CompositionTime for HEVC and AVC; CodedFramesX (3) has none.
      const withCts = packetType === 1 && (fourCc === 'hvc1' || fourCc === 'avc1');
      if (packetType !== 1 && packetType !== 3) return;
      const offset = withCts ? 8 : 5;
      const cts = withCts ? body.readIntBE(5, 3) : 0;
      this.frame(flvVideoTrackId, 'video', dts + cts, keyframe, body.subarray(offset), out);
      return;
    }
    const codecId = body.readUInt8(0) & 0x0f;
    const codec = videoCodecs[codecId] ?? 'unknown';
    if (codec !== 'h264') {
      if (!this.tracks.has(flvVideoTrackId)) this.addTrack(videoTrack(codec, `FLV/${codecId}`), out);
      this.frame(flvVideoTrackId, 'video', dts, keyframe, body.subarray(1), out);
      return;
    }
    if (body.length < 5) return;
    const packetType = body.readUInt8(1);
    if (packetType === 0) {
      this.addTrack(videoTrack('h264', 'FLV/AVC', body.subarray(5)), out);
      return;
    }
    if (packetType !== 1) return; // 2: end of sequence
    const cts = body.readIntBE(2, 3);
    this.frame(flvVideoTrackId, 'video', dts + cts, keyframe, body.subarray(5), out);
  }

  private audio(body: Buffer, dts: number, out: DemuxEvent[]): void {
    if (body.length < 1) return;
    const format = body.readUInt8(0) >> 4;
    const codec = audioCodecs[format] ?? 'unknown';
    if (codec === 'aac') {
      if (body.length < 2) return;
      if (body.readUInt8(1) === 0) {
        this.addTrack(aacTrack(body.subarray(2)), out);
        return;
      }
      this.frame(flvAudioTrackId, 'audio', dts, true, body.subarray(2), out);
      return;
    }
    if (!this.tracks.has(flvAudioTrackId)) {
      const rate = [5512, 11025, 22050, 44100][(body.readUInt8(0) >> 2) & 0x03] ?? 44100;
      const channels = (body.readUInt8(0) & 0x01) + 1;
      this.addTrack(audioTrack(codec, `FLV/${format}`, rate, channels), out);
    }
    this.frame(flvAudioTrackId, 'audio', dts, true, body.subarray(1), out);
  }

  private addTrack(track: MediaTrack, out: DemuxEvent[]): void {
    const before = this.tracks.get(track.id);
    if (before?.codecPrivate && track.codecPrivate?.equals(before.codecPrivate)) return;
    this.tracks.set(track.id, track);
    out.push({ type: 'tracks', tracks: [...this.tracks.values()] });
  }

  private frame(
    trackId: number,
    kind: 'video' | 'audio',
    timestampMs: number,
    keyframe: boolean,
    data: Buffer,
    out: DemuxEvent[],
  ): void {
    const frame: MediaFrame = { trackId, kind, timestampMs, keyframe, data: Buffer.from(data) };
    out.push({ type: 'frame', frame });
  }
}

function videoTrack(codec: MediaCodec, codecId: string, config?: Buffer): VideoTrack {
  return {
    id: flvVideoTrackId,
    kind: 'video',
    codec,
    codecId,
    ...(config && config.length > 0 && { codecPrivate: Buffer.from(config) }),
    width: 0,
    height: 0,
  };
}

function audioTrack(codec: MediaCodec, codecId: string, sampleRate: number, channels: number): AudioTrack {
  return { id: flvAudioTrackId, kind: 'audio', codec, codecId, sampleRate, channels };
}

function aacTrack(config: Buffer): AudioTrack {
  // AudioSpecificConfig: 5 bits object type, 4 bits frequency index, 4 bits channel configuration.
  const rateIndex =
    config.length >= 2 ? ((config.readUInt8(0) & 0x07) << 1) | (config.readUInt8(1) >> 7) : 15;
  const channels = config.length >= 2 ? (config.readUInt8(1) >> 3) & 0x0f : 0;
  return {
    ...audioTrack('aac', 'FLV/AAC', aacRates[rateIndex] ?? 0, channels),
    codecPrivate: Buffer.from(config),
  };
}

function malformed(detail: string): DashrelayError {
  return createError('DR_ERR_MEDIA_MALFORMED', detail);
}
