import type { AudioCodec, VideoCodec } from '../../contracts/media.ts';

/** FLV tag types (Adobe FLV spec v10.1 §E.4.1). */
export const flvTagAudio = 8;
export const flvTagVideo = 9;
export const flvTagScript = 18;

/** A video tag's codec: CodecID 7 (AVC), or the FourCC of an Enhanced RTMP ex-header. */
export function videoCodecOfTag(payload: Buffer): VideoCodec {
  if (payload.length < 1) return 'unknown';
  const first = payload.readUInt8(0);
  if (first & 0x80) {
    const fourCc = payload.length >= 5 ? payload.toString('latin1', 1, 5) : '';
    return fourCc === 'avc1' ? 'h264' : fourCc === 'av01' ? 'av1' : fourCc === 'vp09' ? 'vp9' : 'unknown';
  }
  return (first & 0x0f) === 7 ? 'h264' : 'unknown';
}

/** An audio tag's codec: SoundFormat 10 is AAC (§E.4.2.1). */
export function audioCodecOfTag(payload: Buffer): AudioCodec {
  if (payload.length < 1) return 'unknown';
  return payload.readUInt8(0) >> 4 === 10 ? 'aac' : 'unknown';
}

/** onMetaData `audiocodecid` (number, or a FourCC string for Enhanced RTMP) → ours; `none` without the key. */
export function audioCodecOfMetadata(data: Record<string, unknown>): AudioCodec {
  const id = data.audiocodecid;
  if (id === undefined) return 'none';
  return id === 10 || id === 'mp4a' ? 'aac' : 'unknown';
}

/**
 * Picture size (px) and frame rate (frames/s) from onMetaData's `width`, `height`, `framerate`
 * (Adobe FLV spec, onMetaData); a key that is missing, zero or not a finite number is left out.
 */
export function pictureOfMetadata(data: Record<string, unknown>): {
  width?: number;
  height?: number;
  fps?: number;
} {
  const positive = (v: unknown): number | undefined =>
    typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : undefined;
  const width = positive(data.width);
  const height = positive(data.height);
  const fps = positive(data.framerate) ?? positive(data.videoframerate);
  return {
    ...(width ? { width: Math.round(width) } : {}),
    ...(height ? { height: Math.round(height) } : {}),
    ...(fps ? { fps } : {}),
  };
}

/** The AMF0 string `@setDataFrame` (type 2, length 13) that RTMP puts before a stream's onMetaData. */
const setDataFrame = Buffer.from([0x02, 0x00, 0x0d, ...Buffer.from('@setDataFrame', 'latin1')]);

/**
 * The script tag body as a file keeps it: RTMP publishers send `@setDataFrame, onMetaData, {…}` and an
 * FLV file holds `onMetaData, {…}` (what nginx-rtmp and ffmpeg write when they record).
 */
export function scriptTagForFile(payload: Buffer): Buffer {
  return payload.subarray(0, setDataFrame.length).equals(setDataFrame)
    ? payload.subarray(setDataFrame.length)
    : payload;
}
