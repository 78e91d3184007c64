/**
 * Every error dashrelay reports, in one catalogue (fastify `lib/errors.js` style).
 *
 * Each entry has a stable `code` (`DR_ERR_<AREA>_<WHAT>`) callers can branch on, a message template,
 * and where it applies an HTTP status and/or a WebSocket close code (RFC 6455 §7.4.2: 4000–4999 are
 * for applications). `docs/errors.md` lists the same codes; a test keeps the two in sync.
 */
export interface ErrorSpec {
  /** Message template; `%s` placeholders are filled in order. */
  readonly message: string;
  /** HTTP status for API responses, when the error can reach HTTP. */
  readonly status?: number;
  /** WebSocket close code, when the error ends an ingest socket. */
  readonly closeCode?: number;
}

export const errorCatalogue = {
  // config / start-up
  DR_ERR_CONFIG_INVALID: { message: 'Invalid configuration: %s' },
  DR_ERR_FFMPEG_MISSING: { message: '%s' },
  DR_ERR_FFMPEG_TOO_OLD: { message: '%s' },
  DR_ERR_ANALYZER_LOAD: { message: 'Could not load analyzer %s: %s' },
  // ingest
  DR_ERR_INGEST_BAD_MESSAGE: { message: 'Malformed control message: %s', closeCode: 4000 },
  DR_ERR_INGEST_STREAM_NAME: {
    message: 'Invalid stream name %s: use 1 to 64 letters, digits, "_" or "-"',
    closeCode: 4001,
  },
  DR_ERR_INGEST_NO_HELLO: {
    message: 'Send a "hello" text message with the mimeType before any media bytes',
    closeCode: 4002,
  },
  DR_ERR_INGEST_NOT_MEDIA: {
    message:
      'The first media bytes are not the header the mimeType announced (WebM/Matroska EBML, or an MP4 ftyp box); send the MediaRecorder chunks unchanged, from the first',
    closeCode: 4004,
  },
  DR_ERR_INGEST_UNSUPPORTED_MIME: {
    message: 'Unsupported mimeType %s: send video/webm, video/x-matroska or video/mp4',
    closeCode: 4005,
  },
  DR_ERR_INGEST_UNSUPPORTED_CODEC: {
    message:
      'Unsupported %s in mimeType %s: send H.264 (avc1), VP8, VP9 or AV1 video, with Opus, AAC or Vorbis sound or none',
    closeCode: 4005,
  },
  DR_ERR_INGEST_IDLE: {
    message:
      'No media came for %s s: the publisher seems gone, so the connection is closed and its stream name freed',
    closeCode: 4008,
  },
  DR_ERR_INGEST_STREAM_BUSY: {
    message:
      'Stream %s is a pulled source of this server (or is pulled while a publisher has it); pick another name',
    closeCode: 4009,
  },
  DR_ERR_INGEST_TAKEN_OVER: {
    message:
      'Another publisher took over stream %s (a reconnect of this camera or page, or a second publisher using the same name)',
    closeCode: 4010,
  },
  DR_ERR_INGEST_HELLO_TWICE: { message: 'hello was already received for this session', closeCode: 4000 },
  DR_ERR_RTMP_APP: {
    message: 'RTMP application %s is not served: publish to rtmp://<host>:<port>/%s/<stream>',
  },
  DR_ERR_RTMP_PLAY: {
    message:
      'This server does not play RTMP: watch the stream over DASH (/viewer.html, /live/<stream>/manifest.mpd)',
  },
  DR_ERR_RTMP_NO_VIDEO: {
    message: 'No video came within %s ms of publishing: dashrelay relays streams with a picture',
  },
  DR_ERR_RTMP_PROTOCOL: { message: 'Malformed RTMP from the publisher: %s' },
  DR_ERR_RTMP_LISTEN: {
    message: 'Cannot listen for RTMP on %s: %s. Pick another --rtmp-port, or turn RTMP off with --rtmp false',
  },
  // pulled sources (--sources)
  DR_ERR_SOURCES_READ: { message: 'Cannot read the sources file %s: %s' },
  DR_ERR_SOURCES_INVALID: { message: 'Invalid sources file %s:\n%s' },
  DR_ERR_PULL_FAILED: { message: 'Pulling %s from %s failed: %s' },
  DR_ERR_PULL_NO_VIDEO: {
    message: 'Source %s (%s) has no video track: dashrelay relays streams with a picture',
  },
  DR_ERR_SERVER_SHUTDOWN: { message: 'The server is shutting down', closeCode: 1001 },
  DR_ERR_SERVER_INTERNAL: {
    message: 'Internal server error: %s. The server log has the details.',
    closeCode: 1011,
    status: 500,
  },
  // sinks
  DR_ERR_PACKAGER_OUTPUT: { message: 'The packager wrote output this server cannot use: %s' },
  DR_ERR_PACKAGER_EXITED: {
    message: 'The DASH packager (ffmpeg) stopped: %s. The archive keeps recording.',
  },
  DR_ERR_SESSION_START: { message: 'Could not start the session: %s', closeCode: 4502 },
  DR_ERR_OUTPUT_DIR: {
    message: 'Cannot write to the output directory %s: %s',
    closeCode: 4501,
  },
  DR_ERR_ARCHIVE_WRITE: {
    message: 'Could not write the archive %s: %s',
    closeCode: 4500,
  },
  DR_ERR_ANALYSIS_DECODER: { message: 'The analysis decoder stopped: %s. Live DASH is unaffected.' },
  DR_ERR_ANALYSIS_PLUGIN: { message: 'Analysis plugin %s failed: %s' },
  // media
  DR_ERR_MEDIA_MALFORMED: { message: 'Malformed media from the publisher: %s' },
  // HTTP API / origin
  DR_ERR_STREAM_NOT_FOUND: { message: 'No live stream named %s', status: 404 },
  DR_ERR_SEGMENT_NOT_FOUND: { message: 'No such segment %s', status: 404 },
  DR_ERR_API_BAD_REQUEST: { message: 'Bad request: %s', status: 400 },
  DR_ERR_ROUTE_NOT_FOUND: { message: 'Nothing is served at %s', status: 404 },
  DR_ERR_API_LOOPBACK_ONLY: {
    message: '%s changes the server: it is accepted from this machine (loopback) only',
    status: 403,
  },
  // access (README "Security")
  DR_ERR_AUTH_MISSING: {
    message: '%s needs a credential: %s',
    status: 401,
    closeCode: 4401,
  },
  DR_ERR_AUTH_INVALID: { message: 'The credential to %s was refused: %s', status: 401, closeCode: 4401 },
  DR_ERR_PUBLISH_CLOSED: {
    message:
      'Publishing is off: this server listens on %s (not loopback) and has no credential configured. Start it with --secret <at least 16 characters> (or DASHRELAY_SECRET) and publish with a token from `dashrelay token --stream <name>`, or give streams keys (auth.publishKeys); --anonymous-publish true lets anyone publish',
    status: 403,
    closeCode: 4403,
  },
  DR_ERR_ADDRESS_DENIED: { message: 'Address %s may not %s here (%s)', status: 403, closeCode: 4403 },
  DR_ERR_ORIGIN_DENIED: {
    message: 'A page from %s may not publish here: add it to auth.allowedOrigins',
    closeCode: 4403,
  },
  DR_ERR_AUTH_RATE_LIMITED: {
    message: 'Too many refused credentials from %s: try again in %s s',
    status: 429,
    closeCode: 4429,
  },
  DR_ERR_ADMIN_REQUIRED: {
    message: '%s needs the admin token: send Authorization: Bearer <auth.adminToken>',
    status: 401,
  },
  // limits
  DR_ERR_LIMIT_STREAMS: {
    message: 'The server has %s live streams, its limit (limits.maxStreams)',
    status: 429,
    closeCode: 4429,
  },
  DR_ERR_LIMIT_PUBLISHERS: {
    message: '%s has %s publishers here already, the limit per address (limits.maxPublishersPerAddress)',
    closeCode: 4429,
  },
  DR_ERR_LIMIT_VIEWERS: {
    message: 'Stream %s has %s viewers, its limit (limits.maxViewersPerStream)',
    status: 429,
  },
  DR_ERR_LIMIT_BITRATE: {
    message:
      'The stream came in at %s bit/s over 5 s, above the limit of %s bit/s (limits.maxIngestBitrateBps): lower the encoder bitrate',
    closeCode: 4429,
  },
  DR_ERR_LIMIT_HELD_REQUESTS: {
    message: 'Too many requests are waiting for content (limits.maxHeldRequests): retry shortly',
    status: 429,
  },
  DR_ERR_SOURCES_TOO_MANY: {
    message: 'The sources file %s has %s entries; the limit is %s (limits.maxSources)',
  },
  DR_ERR_TLS_SETUP: { message: 'Cannot serve HTTPS: %s' },
  // restream
  DR_ERR_RESTREAM_URL: {
    message: 'A restream target must be an rtmp:// or rtmps:// URL (got %s://…)',
    status: 400,
  },
  DR_ERR_RESTREAM_LIMIT: { message: 'Stream %s has %s restream targets already', status: 409 },
  DR_ERR_RESTREAM_NOT_FOUND: { message: 'Stream %s has no restream target %s', status: 404 },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof errorCatalogue;

/** An error with a catalogue code. `status`/`closeCode` come from the catalogue. */
export class DashrelayError extends Error {
  readonly code: ErrorCode;
  readonly status: number | undefined;
  readonly closeCode: number | undefined;

  constructor(code: ErrorCode, args: readonly unknown[] = [], options?: { cause?: unknown }) {
    const spec: ErrorSpec = errorCatalogue[code];
    super(formatMessage(spec.message, args), options);
    this.name = 'DashrelayError';
    this.code = code;
    this.status = spec.status;
    this.closeCode = spec.closeCode;
  }
}

/**
 * Builds a catalogue error: `createError('DR_ERR_INGEST_STREAM_BUSY', name)`. An `Error` argument fills
 * its placeholder with its message and becomes the `cause` (the first one, if several), so the original
 * stack is kept: `createError('DR_ERR_OUTPUT_DIR', dir, err)`.
 */
export function createError(code: ErrorCode, ...args: unknown[]): DashrelayError {
  const cause = args.find((a) => a instanceof Error);
  return new DashrelayError(code, args, cause === undefined ? undefined : { cause });
}

/**
 * The error as a catalogue error: a `DashrelayError` as it is, anything else wrapped as `fallback`
 * (default `DR_ERR_SERVER_INTERNAL`) with the original as its cause.
 */
export function toDashrelayError(
  err: unknown,
  fallback: ErrorCode = 'DR_ERR_SERVER_INTERNAL',
): DashrelayError {
  if (err instanceof DashrelayError) return err;
  return createError(fallback, err instanceof Error ? err : new Error(String(err)));
}

function formatMessage(template: string, args: readonly unknown[]): string {
  let i = 0;
  return template.replace(/%s/g, () => {
    const arg = args[i++];
    return arg instanceof Error ? arg.message : String(arg ?? '');
  });
}
