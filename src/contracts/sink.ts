/**
 * A consumer of one session's container bytes (packager, archive, analysis decoder).
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

/** Session metadata the sinks and the API read. */
export interface SessionInfo {
  readonly stream: string;
  readonly sessionId: string;
  /** Session start, ms since the epoch. */
  readonly startedAtMs: number;
  /** The publisher's mimeType, e.g. `video/x-matroska;codecs=avc1,opus`. */
  readonly mimeType: string;
  /** Publisher hints from `hello`. */
  readonly keyframeIntervalMs?: number | undefined;
  readonly width?: number | undefined;
  readonly height?: number | undefined;
  readonly fps?: number | undefined;
}
