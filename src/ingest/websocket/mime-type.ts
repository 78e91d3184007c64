import type { AudioCodec, Container, MediaDescription, VideoCodec } from '../../contracts/media.ts';

/** Video containers accepted at ingest (audio-only streams are not relayed: there is no picture to package). */
export const acceptedContainerTypes = [
  'video/webm',
  'video/x-matroska',
  'video/matroska',
  'video/mp4',
] as const;

/** What {@link readMimeType} found: the media, or why it is refused. */
export type MimeTypeReading =
  | { readonly media: MediaDescription }
  | { readonly refused: 'container' }
  | { readonly refused: 'codec'; readonly codec: string }
  | { readonly refused: 'no-video' };

/**
 * {@link describeMimeType}, and a refusal for a `codecs` parameter that names a codec the packager
 * does not take (`hev1`, `theora`, a made-up one) or no video codec at all (`codecs=opus`): a clear
 * refusal at `hello` rather than an ffmpeg started for a stream it cannot package.
 */
export function readMimeType(mimeType: string): MimeTypeReading {
  const media = describeMimeType(mimeType);
  if (!media) return { refused: 'container' };
  const codecs = codecsOf(mimeType);
  if (codecs === undefined) return { media };
  const unknown = codecs.find((c) => videoCodecOf(c) === undefined && audioCodecOf(c) === undefined);
  if (unknown !== undefined) return { refused: 'codec', codec: unknown };
  if (media.video === 'unknown') return { refused: 'no-video' };
  return { media };
}

function codecsOf(mimeType: string): string[] | undefined {
  const params = mimeType
    .split(';')
    .slice(1)
    .map((s) => s.trim());
  const codecsParam = params.find((p) => p.toLowerCase().startsWith('codecs='));
  if (!codecsParam) return undefined;
  return codecsParam
    .slice('codecs='.length)
    .replace(/"/g, '')
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter(Boolean);
}

/** RFC 6381 / MediaRecorder codec names of the video codecs the packager takes. */
function videoCodecOf(c: string): VideoCodec | undefined {
  if (c === 'h264' || c.startsWith('avc1') || c.startsWith('avc3')) return 'h264';
  if (c.startsWith('vp8')) return 'vp8';
  if (c.startsWith('vp09') || c.startsWith('vp9')) return 'vp9';
  if (c === 'av1' || c.startsWith('av01')) return 'av1';
  return undefined;
}

function audioCodecOf(c: string): AudioCodec | undefined {
  if (c === 'opus') return 'opus';
  if (c === 'vorbis') return 'vorbis';
  if (c.startsWith('mp4a') || c === 'aac') return 'aac';
  if (c.startsWith('pcm')) return 'pcm';
  return undefined;
}

/**
 * Reads a MediaRecorder-style mimeType (`video/x-matroska;codecs=avc1,opus`, `video/webm;codecs=vp8,opus`,
 * `video/mp4;codecs=avc1,opus` from Safari or Chrome's MP4 recorder; RFC 6381 `codecs` parameter).
 * Without a `codecs` parameter both tracks are `unknown` (ffmpeg then probes).
 * @returns `undefined` when the container is not WebM/Matroska or MP4.
 */
export function describeMimeType(mimeType: string): MediaDescription | undefined {
  const [typePart = ''] = mimeType.split(';').map((s) => s.trim());
  const type = typePart.toLowerCase();
  if (!(acceptedContainerTypes as readonly string[]).includes(type)) return undefined;
  const container: Container = type === 'video/mp4' ? 'mp4' : type.endsWith('webm') ? 'webm' : 'matroska';
  const codecs = codecsOf(mimeType);
  if (!codecs) return { container, video: 'unknown', audio: 'unknown' };
  let video: VideoCodec = 'unknown';
  let audio: AudioCodec = 'none';
  for (const c of codecs) {
    video = videoCodecOf(c) ?? video;
    audio = audioCodecOf(c) ?? audio;
  }
  return { container, video, audio };
}
