import type { Logger } from '../contracts/logger.ts';

/** Pixel layouts handed to plugins: 8-bit luma, or 8-bit packed RGB. */
export type FrameFormat = 'gray' | 'rgb24';

/** One decoded, downscaled frame. */
export interface AnalysisFrame {
  readonly stream: string;
  /** Presentation time from the start of the session, ms (frame index / analysis fps). */
  readonly ptsMs: number;
  /** When the server had the decoded frame, ms since the epoch. */
  readonly wallClockMs: number;
  /** Pixels. */
  readonly width: number;
  readonly height: number;
  readonly format: FrameFormat;
  /** `width * height` bytes for gray, `width * height * 3` for rgb24, rows top to bottom. */
  readonly data: Buffer;
}

/** What a plugin emits; the server adds `stream`, `plugin` and times. */
export interface AnalysisEvent {
  readonly stream: string;
  readonly plugin: string;
  /** Event type, e.g. `motion`. */
  readonly type: string;
  /** The frame the event is about, ms from session start. */
  readonly ptsMs: number;
  /** When emitted, ms since the epoch. */
  readonly wallClockMs: number;
  readonly data?: Record<string, unknown>;
}

/** A plugin's logger: the server's logger shape, its lines tagged with the stream and the plugin. */
export type AnalysisLogger = Logger;

/** Given to a plugin when a stream starts. */
export interface AnalysisContext {
  readonly stream: string;
  /** Publishes an event to the API and the viewers. `ptsMs` defaults to the frame being handled. */
  emit(type: string, data?: Record<string, unknown>, ptsMs?: number): void;
  readonly log: AnalysisLogger;
}

/** A plugin's per-stream state. */
export interface AnalysisReader {
  /** Handles one frame. May be async: the next frame is not given before it resolves. */
  onFrame(frame: AnalysisFrame): void | Promise<void>;
  /** The stream ended. */
  close?(): void | Promise<void>;
}

/**
 * An analysis plugin (`--analyzer <module>` default export, or `createServer({ analyzers })`).
 * `open` is called once per publishing session. Frames that arrive while the plugin is busy are
 * dropped for it (and counted), so a slow plugin never stalls ingest or packaging.
 */
export interface AnalysisPlugin {
  /** Unique name, shown in logs and events. */
  readonly name: string;
  /** Pixel format wanted. Default `gray`. */
  readonly format?: FrameFormat;
  open(ctx: AnalysisContext): AnalysisReader;
}
