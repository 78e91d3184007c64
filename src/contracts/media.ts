/**
 * What a publisher sends, whatever the protocol it came by: the container of the bytes the session
 * receives and the codecs of its tracks (`unknown` when the publisher did not say; the packager probes).
 */
export type VideoCodec = 'h264' | 'vp8' | 'vp9' | 'av1' | 'unknown';
export type AudioCodec = 'opus' | 'vorbis' | 'aac' | 'pcm' | 'none' | 'unknown';
/**
 * The container of a session's bytes: WebM/Matroska (browsers' MediaRecorder, `dashrelay publish`,
 * pulled sources remuxed), FLV (RTMP publishers: the tags as they came), fragmented MP4 (Safari's and
 * Chrome's `video/mp4` MediaRecorder).
 */
export type Container = 'webm' | 'matroska' | 'flv' | 'mp4';

export interface MediaDescription {
  readonly container: Container;
  readonly video: VideoCodec;
  readonly audio: AudioCodec;
}
