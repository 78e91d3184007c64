import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { createError } from '../errors/errors.ts';

/**
 * Latency profiles (`--latency`). `low` is the default: 1 s segments, one CMAF chunk per frame,
 * chunked delivery (ffmpeg dashenc `ldash`, `streaming`). `normal` trades ~4 s of latency for
 * resilience on poor networks: 2 s segments and a larger player buffer.
 */
export const latencyModes = ['low', 'normal'] as const;
export type LatencyMode = (typeof latencyModes)[number];

export const ServerConfigSchema = Type.Object(
  {
    /** Address to listen on. Default `127.0.0.1` (loopback only). */
    host: Type.String({ minLength: 1 }),
    /** TCP port. Default 8080; 0 picks a free port. */
    port: Type.Integer({ minimum: 0, maximum: 65535 }),
    /** Directory for `<stream>/live` (DASH copy on disk) and `<stream>/archive`. Default `./output`. */
    outputDir: Type.String({ minLength: 1 }),
    /** Latency profile, see {@link latencyModes}. Default `low`. */
    latency: Type.Union(latencyModes.map((m) => Type.Literal(m))),
    /** Analysis frames per second handed to plugins. Default 5. */
    analysisFps: Type.Number({ exclusiveMinimum: 0, maximum: 60 }),
    /** Width of analysis frames in pixels (height keeps the aspect ratio, rounded to even). Default 320. */
    analysisWidthPx: Type.Integer({ minimum: 16, maximum: 3840 }),
    /** Frames queued per plugin before new frames are dropped for it. Default 2. */
    analysisQueueFrames: Type.Integer({ minimum: 1, maximum: 100 }),
    /** Largest WebSocket message accepted from a publisher, bytes. Default 4 MiB (ws `maxPayload`). */
    maxMessageBytes: Type.Integer({ minimum: 1024 }),
    /**
     * Bytes a sink (ffmpeg stdin, archive file) may have pending before the publisher's socket is paused.
     * Default 1 MiB. Nothing is dropped: the publisher is slowed instead.
     */
    sinkHighWaterBytes: Type.Integer({ minimum: 16 * 1024 }),
    /** Bytes queued for one viewer's HTTP response before that viewer is cut off. Default 8 MiB. */
    maxViewerBufferBytes: Type.Integer({ minimum: 64 * 1024 }),
    /** Analysis events kept per stream for `GET /api/streams/:stream/events`. Default 200. */
    eventHistory: Type.Integer({ minimum: 1, maximum: 100000 }),
    /**
     * Honour `X-Forwarded-Proto`/`-Host`/`-For` from a reverse proxy (fastify `trustProxy`): `true` trusts
     * any peer, a string trusts the listed addresses or CIDRs (`127.0.0.1,10.0.0.0/8`). Behind an HTTPS
     * proxy this makes the MPD's UTCTiming `https://…/time` instead of mixed content. Default `false`.
     */
    trustProxy: Type.Union([Type.Boolean(), Type.String({ minLength: 1 })]),
    /** Explicit ffmpeg binary; otherwise `FFMPEG_PATH`, `ffmpeg-static`, then `ffmpeg` on PATH. */
    ffmpegPath: Type.Optional(Type.String({ minLength: 1 })),
  },
  { additionalProperties: false },
);

export type ServerConfig = Static<typeof ServerConfigSchema>;

/** Packaging parameters derived from the latency profile. */
export interface LatencyProfile {
  /** DASH media segment duration, ms (ffmpeg dashenc `seg_duration`). */
  readonly segmentDurationMs: number;
  /** Segments listed in the live MPD (dashenc `window_size`). */
  readonly windowSegments: number;
  /** Segments kept after they leave the MPD before deletion (dashenc `extra_window_size`). */
  readonly extraWindowSegments: number;
  /** Low-latency DASH with chunked CMAF (dashenc `ldash`, `streaming`, `frag_type every_frame`). */
  readonly chunked: boolean;
  /** Target latency written to the MPD ServiceDescription, ms (dashenc `target_latency`). */
  readonly targetLatencyMs: number;
  /** Player live delay suggested to the viewer page, ms (dash.js `streaming.delay.liveDelay`). */
  readonly playerLiveDelayMs: number;
  /**
   * The same for streams with sound, ms. Chromium's audio renderer reports an underflow (the
   * `<video>` element stalls) while less than about a quarter second of audio is buffered, whatever
   * the origin does: measured with bench:latency, 150 ms stalled 8 times in 30 s, 300 ms never.
   */
  readonly playerLiveDelayWithAudioMs: number;
  /**
   * How often players re-read the MPD, s (MPD@minimumUpdatePeriod, dashenc `update_period`). The origin
   * rewrites SegmentTemplate@duration to the measured segment length (packager/ffmpeg/segment-timing.ts), so a
   * player that re-syncs to the live edge must not keep a value from long ago; ffmpeg's own is 500 s.
   */
  readonly manifestUpdatePeriodS: number;
}

export const latencyProfiles: Readonly<Record<LatencyMode, LatencyProfile>> = Object.freeze({
  low: {
    segmentDurationMs: 1000,
    windowSegments: 10,
    extraWindowSegments: 5,
    chunked: true,
    // Measured (bench:latency, 5 min at 720p30): 150 ms with dash.js LoL+ catch-up played ~195 ms glass
    // to glass without stalls; 140 ms gave ~185 ms with dozens of short stalls at segment ends. It works
    // because the MPD's availabilityStartTime is set from when pictures arrive (media/media-clock.ts).
    targetLatencyMs: 150,
    playerLiveDelayMs: 150,
    playerLiveDelayWithAudioMs: 300,
    manifestUpdatePeriodS: 10,
  },
  normal: {
    segmentDurationMs: 2000,
    windowSegments: 10,
    extraWindowSegments: 5,
    chunked: false,
    targetLatencyMs: 6000,
    playerLiveDelayMs: 6000,
    playerLiveDelayWithAudioMs: 6000,
    manifestUpdatePeriodS: 10,
  },
});

/** Documented defaults, the one place they live. */
export const defaultServerConfig: Readonly<ServerConfig> = Object.freeze({
  host: '127.0.0.1',
  port: 8080,
  outputDir: './output',
  latency: 'low',
  analysisFps: 5,
  analysisWidthPx: 320,
  analysisQueueFrames: 2,
  maxMessageBytes: 4 * 1024 * 1024,
  sinkHighWaterBytes: 1024 * 1024,
  maxViewerBufferBytes: 8 * 1024 * 1024,
  eventHistory: 200,
  trustProxy: false,
});

/**
 * Merges `overrides` onto the defaults, validates, and returns a frozen config.
 * @throws DashrelayError `DR_ERR_CONFIG_INVALID` naming the first bad field.
 */
export function resolveConfig(overrides: Partial<ServerConfig> = {}): Readonly<ServerConfig> {
  const merged: Record<string, unknown> = { ...defaultServerConfig };
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined) merged[k] = v;
  const first = Value.Errors(ServerConfigSchema, merged).First();
  if (first) {
    const field = first.path.replace(/^\//, '') || '(root)';
    throw createError(
      'DR_ERR_CONFIG_INVALID',
      `${field}: ${first.message} (got ${JSON.stringify(first.value)})`,
    );
  }
  return Object.freeze(merged as ServerConfig);
}
