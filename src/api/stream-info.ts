import type { RestreamTargetInfo } from '../contracts/restream.ts';

/** A live stream as `GET /api/streams` reports it (docs/protocol.md). */
export interface StreamInfo {
  readonly name: string;
  readonly sessionId: string;
  /** Session start, ISO 8601 UTC. */
  readonly since: string;
  readonly mimeType: string;
  readonly codecs: { readonly video: string; readonly audio: string };
  /** Picture size in pixels and frame rate; `null` until known. */
  readonly width: number | null;
  readonly height: number | null;
  readonly fps: number | null;
  /** Bytes received from the publisher since the session started. */
  readonly bytesReceived: number;
  /** Ingest rate over the last 2 s, bits/s. */
  readonly bitrateBps: number;
  /** `starting` | `running` | `exited`. */
  readonly packager: string;
  /** Delivery counters of the origin. */
  readonly viewers: { readonly openResponses: number; readonly bytesServed: number; readonly cutOff: number };
  /** Analysis frames decoded, and per plugin frames delivered/dropped. */
  readonly analysis: {
    readonly frames: number;
    readonly plugins: readonly { plugin: string; delivered: number; dropped: number; errors: number }[];
  };
  /**
   * The server's latency mode (`--latency`): segment duration and the live delay players should
   * target (dash.js `streaming.delay.liveDelay`), ms.
   */
  readonly latency: {
    readonly mode: string;
    readonly segmentDurationMs: number;
    readonly playerLiveDelayMs: number;
    /** For streams with sound (Chromium needs more audio buffered to play without stalls). */
    readonly playerLiveDelayWithAudioMs: number;
  };
  /** Push targets and their state (`GET /api/streams/:stream/restream` lists them also when not live). */
  readonly restream: readonly RestreamTargetInfo[];
  readonly viewerUrl: string;
  readonly manifestUrl: string;
}
