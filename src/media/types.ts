/**
 * Protocol-neutral media types: what a demuxer makes of a publisher's container bytes, whatever the
 * container or protocol (Matroska/WebM today; RTMP and RTSP adapters are meant to produce the same).
 * Consumers (media clock, segment timing, packagers) read these and never the container.
 */

export type MediaKind = 'video' | 'audio';

/**
 * Our codec names. From Matroska CodecID (RFC 9559 §5.1.4.1 CodecID; codec mappings in the Matroska
 * codec specifications): `V_MPEG4/ISO/AVC` → h264, `V_VP8`, `V_VP9`, `V_AV1`, `A_OPUS`, `A_VORBIS`,
 * `A_AAC` (and the legacy `A_AAC/…` forms) → aac, `A_PCM/…` → pcm. Anything else is `unknown`; the raw
 * identifier stays in {@link MediaTrackBase.codecId}.
 */
export type MediaCodec = 'h264' | 'vp8' | 'vp9' | 'av1' | 'opus' | 'vorbis' | 'aac' | 'pcm' | 'unknown';

interface MediaTrackBase {
  /** Track number as the container numbers it (Matroska TrackNumber, RFC 9559 §5.1.4.1); frames refer to it. */
  readonly id: number;
  readonly codec: MediaCodec;
  /** The container's own codec identifier, e.g. `V_MPEG4/ISO/AVC`. */
  readonly codecId: string;
  /**
   * Decoder configuration, when the container carries one (Matroska CodecPrivate): `avcC` for H.264,
   * the Opus ID header, the AAC AudioSpecificConfig. A copy: holding it keeps no publisher chunk alive.
   */
  readonly codecPrivate?: Buffer | undefined;
}

export interface VideoTrack extends MediaTrackBase {
  readonly kind: 'video';
  /** Coded width in pixels (Matroska PixelWidth); 0 when the container does not say. */
  readonly width: number;
  /** Coded height in pixels (Matroska PixelHeight); 0 when the container does not say. */
  readonly height: number;
}

export interface AudioTrack extends MediaTrackBase {
  readonly kind: 'audio';
  /** Sampling frequency in Hz (Matroska SamplingFrequency; its default 8000 when absent). */
  readonly sampleRate: number;
  /** Channel count (Matroska Channels; its default 1 when absent). */
  readonly channels: number;
}

export type MediaTrack = VideoTrack | AudioTrack;

/** One coded frame (access unit) of one track. */
export interface MediaFrame {
  /** {@link MediaTrackBase.id} of its track. */
  readonly trackId: number;
  readonly kind: MediaKind;
  /**
   * Presentation time in milliseconds on the stream's own timeline (not the wall clock). From Matroska:
   * (Cluster Timestamp + the Block's signed relative timestamp) × TimestampScale ns, less the track's
   * CodecDelay (RFC 9559 §11, §10.1, §5.1.4.1.25). A fraction when TimestampScale is finer than 1 ms.
   * Not monotonic across tracks, nor within a video track that has B-frames.
   */
  readonly timestampMs: number;
  /**
   * A random access point: decoding can start here. Matroska: the SimpleBlock keyframe flag (0x80),
   * or a BlockGroup without ReferenceBlock (RFC 9559 §10.2, §5.1.3).
   */
  readonly keyframe: boolean;
  /**
   * The frame payload, exactly as the container carries it (H.264 as length-prefixed NAL units when the
   * track has an avcC). Usually a view into the chunk the publisher sent, not a copy: read-only, and
   * holding it keeps that chunk in memory.
   */
  readonly data: Buffer;
}

/** Whatever delivers one session's frames (the demux sink today, protocol adapters later). */
export interface FrameSource {
  on(event: 'frame', listener: (frame: MediaFrame) => void): unknown;
  off(event: 'frame', listener: (frame: MediaFrame) => void): unknown;
}
