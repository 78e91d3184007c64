/**
 * What a publisher sends, whatever the protocol it came by: the container of the bytes the session
 * receives and the codecs of its tracks (`unknown` when the publisher did not say; the packager probes).
 */
export type VideoCodec = 'h264' | 'vp8' | 'vp9' | 'av1' | 'unknown';
export type AudioCodec = 'opus' | 'vorbis' | 'aac' | 'pcm' | 'none' | 'unknown';
export type Container = 'webm' | 'matroska';

export interface MediaDescription {
  readonly container: Container;
  readonly video: VideoCodec;
  readonly audio: AudioCodec;
}
