import type { MediaDescription } from './media.ts';

/**
 * A consumer of one session's container bytes (packager, archive, analysis decoder, demuxer).
 *
 * `write` follows Node's Writable contract: `false` means "stop until `onDrain` fires". A sink that
 * must not lose bytes (the archive, ffmpeg stdin) returns false to slow the publisher down; a sink
 * that may lose data (analysis) always returns true and drops on its own side.
 */
export interface MediaSink {
  /** Short name for logs and status (`packager`, `archive`, `analysis`). */
  readonly name: string;
  /** Appends bytes in order. Never throws. */
  write(chunk: Buffer): boolean;
  /**
   * Registers the callback for when a `false` from `write` is lifted: the sink drained, or it stopped
   * taking bytes (its process exited, its file failed) and now discards them. A sink that stops without
   * calling it would keep the publisher paused for ever.
   */
  onDrain(callback: () => void): void;
  /** Ends the sink when the session ends; resolves when its resources are released. Idempotent. */
  close(): Promise<void>;
}

/**
 * What an ingest knows of a new publisher, in terms of no protocol: every ingest (WebSocket, and later
 * RTMP, RTSP) opens its session with one of these.
 */
export interface PublishRequest {
  readonly stream: string;
  /** The ingest it came by, for logs and the API (`websocket`, `rtmp`). */
  readonly protocol: string;
  /** The container and codecs of the bytes the session will receive. */
  readonly media: MediaDescription;
  /** The publisher's own description of its bytes, when it gave one (MediaRecorder's mimeType). */
  readonly mimeType?: string | undefined;
  /** Keyframe interval the publisher promises, ms. */
  readonly keyframeIntervalMs?: number | undefined;
  /**
   * The source's encoder chooses its keyframes (an RTMP encoder, an IP camera): its H.264 is copied
   * whatever the spacing, and segments follow its GOPs, rather than re-encoded for one keyframe per
   * segment.
   */
  readonly keyframesFromSource?: boolean | undefined;
  /** Picture size in pixels and frame rate, as the publisher announced them. */
  readonly width?: number | undefined;
  readonly height?: number | undefined;
  readonly fps?: number | undefined;
  /** The publisher's software, for logs. */
  readonly client?: string | undefined;
  /**
   * A publisher that pushes to the server (WebSocket, RTMP): it takes over a name that another pushing
   * publisher holds, whose session is ended first (a camera or page reconnecting before its old
   * connection was dropped). Pulled sources neither take over nor are taken over.
   */
  readonly takesOver?: boolean | undefined;
}

/**
 * What an ingest needs of the session it feeds (core's `Session`): push the container bytes in order,
 * stop reading on `pause` until `resume`, end it, and stop when it ends or fails.
 */
export interface IngestSession {
  readonly info: { readonly sessionId: string };
  push(chunk: Buffer): void;
  end(): Promise<void>;
  on(event: 'pause' | 'resume' | 'ended', listener: () => void): unknown;
  on(event: 'fatal', listener: (err: Error) => void): unknown;
}

/** Session metadata the sinks and the API read. */
export interface SessionInfo extends PublishRequest {
  readonly sessionId: string;
  /** Session start, ms since the epoch. */
  readonly startedAtMs: number;
}
