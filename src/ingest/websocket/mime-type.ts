import type { AudioCodec, Container, MediaDescription, VideoCodec } from '../../contracts/media.ts';

/** Video containers accepted at ingest (audio-only streams are not relayed: there is no picture to package). */
export const acceptedContainerTypes = [
  'video/webm',
  'video/x-matroska',
  'video/matroska',
  'video/mp4',
] as const;

/**
 * Reads a MediaRecorder-style mimeType (`video/x-matroska;codecs=avc1,opus`, `video/webm;codecs=vp8,opus`,
 * `video/mp4;codecs=avc1,opus` from Safari or Chrome's MP4 recorder; RFC 6381 `codecs` parameter).
 * Without a `codecs` parameter both tracks are `unknown` (ffmpeg then probes).
 * @returns `undefined` when the container is not WebM/Matroska or MP4.
 */
export function describeMimeType(mimeType: string): MediaDescription | undefined {
  const [typePart = '', ...params] = mimeType.split(';').map((s) => s.trim());
  const type = typePart.toLowerCase();
  if (!(acceptedContainerTypes as readonly string[]).includes(type)) return undefined;
  const container: Container = type === 'video/mp4' ? 'mp4' : type.endsWith('webm') ? 'webm' : 'matroska';
  const codecsParam = params.find((p) => p.toLowerCase().startsWith('codecs='));
  if (!codecsParam) return { container, video: 'unknown', audio: 'unknown' };
  const codecs = codecsParam
    .slice('codecs='.length)
    .replace(/"/g, '')
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter(Boolean);
  let video: VideoCodec = 'unknown';
  let audio: AudioCodec = 'none';
  for (const c of codecs) {
    if (c === 'h264' || c.startsWith('avc1') || c.startsWith('avc3')) video = 'h264';
    else if (c === 'vp8' || c.startsWith('vp8')) video = 'vp8';
    else if (c === 'vp9' || c.startsWith('vp09') || c.startsWith('vp9')) video = 'vp9';
    else if (c === 'av1' || c.startsWith('av01')) video = 'av1';
    else if (c === 'opus') audio = 'opus';
    else if (c === 'vorbis') audio = 'vorbis';
    else if (c.startsWith('mp4a') || c === 'aac') audio = 'aac';
    else if (c.startsWith('pcm')) audio = 'pcm';
  }
  return { container, video, audio };
}
