import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { RestreamTargetSchema } from '../contracts/restream.ts';

/**
 * Every tunable of the server, in one TypeBox schema with its default, unit and meaning (the unit is
 * also in each key's name). Defaults live only here: {@link defaultConfig} is computed from the schema.
 * Flags and environment variables map onto these keys (options.ts); nothing else re-checks ranges.
 */

const section = <T extends Record<string, TSchema>>(properties: T, description: string) =>
  Type.Object(properties, { additionalProperties: false, default: {}, description });

/** `allow <address or CIDR>`, `deny <address or CIDR>`, or `all` for either. */
export const addressRulePattern = '^(allow|deny) (all|[0-9A-Fa-f:.]+(/[0-9]{1,3})?)$';

/** Latency modes (`--latency`): `low` (1 s segments, chunked CMAF) or `normal` (2 s whole segments). */
export const latencyModes = ['low', 'normal'] as const;
export type LatencyMode = (typeof latencyModes)[number];

const profile = (d: {
  segmentDurationMs: number;
  chunked: boolean;
  targetLatencyMs: number;
  playerLiveDelayMs: number;
  playerLiveDelayWithAudioMs: number;
}) =>
  section(
    {
      segmentDurationMs: Type.Integer({
        minimum: 200,
        maximum: 20_000,
        default: d.segmentDurationMs,
        description: 'DASH media segment duration, ms (ffmpeg dashenc `seg_duration`)',
      }),
      windowSegments: Type.Integer({
        minimum: 2,
        maximum: 1000,
        default: 10,
        description: 'segments listed in the live MPD (dashenc `window_size`)',
      }),
      extraWindowSegments: Type.Integer({
        minimum: 0,
        maximum: 1000,
        default: 5,
        description: 'segments kept after they leave the MPD before deletion (dashenc `extra_window_size`)',
      }),
      chunked: Type.Boolean({
        default: d.chunked,
        description:
          'low-latency DASH with one CMAF chunk per frame, delivered as made (dashenc `ldash`, `streaming`, `frag_type every_frame`)',
      }),
      targetLatencyMs: Type.Integer({
        minimum: 0,
        maximum: 60_000,
        default: d.targetLatencyMs,
        description: 'target latency in the MPD ServiceDescription, ms (dashenc `target_latency`)',
      }),
      playerLiveDelayMs: Type.Integer({
        minimum: 0,
        maximum: 60_000,
        default: d.playerLiveDelayMs,
        description: 'live delay the viewer page plays at, ms (dash.js `streaming.delay.liveDelay`)',
      }),
      playerLiveDelayWithAudioMs: Type.Integer({
        minimum: 0,
        maximum: 60_000,
        default: d.playerLiveDelayWithAudioMs,
        // Chromium's audio renderer stalls the <video> while less than ~¼ s of audio is buffered
        // (bench:latency: 150 ms stalled 8 times in 30 s, 300 ms never).
        description: 'the same for streams with sound, ms',
      }),
      manifestUpdatePeriodS: Type.Integer({
        minimum: 1,
        maximum: 3600,
        default: 2,
        // A republish or a re-anchor adds a Period: players see it at their next read of the MPD.
        description: 'how often players re-read the MPD, s (MPD@minimumUpdatePeriod)',
      }),
    },
    'packaging and player parameters of one latency mode',
  );

export const ConfigSchema = Type.Object(
  {
    server: section(
      {
        host: Type.String({
          minLength: 1,
          default: '127.0.0.1',
          description: 'address to listen on (`0.0.0.0` for the LAN)',
        }),
        port: Type.Integer({
          minimum: 0,
          maximum: 65535,
          default: 8080,
          description: 'TCP port; 0 picks a free one',
        }),
        trustProxy: Type.Union([Type.Boolean(), Type.String({ minLength: 1 })], {
          default: false,
          description:
            'honour X-Forwarded-Proto/-Host/-For (fastify `trustProxy`): `true`, or the proxy addresses/CIDRs, comma-separated',
        }),
        publicUrl: Type.Optional(
          Type.String({
            pattern: '^https?://[^/?#]+$',
            description:
              "the server's URL as viewers reach it (`https://cams.example.org`), for absolute URLs in the MPD (UTCTiming); unset: this machine's own names and addresses, never an unknown `Host` header",
          }),
        ),
        tlsCert: Type.Optional(
          Type.String({
            minLength: 1,
            description: 'PEM certificate (chain) file: serve HTTPS and WSS on `server.port`',
          }),
        ),
        tlsKey: Type.Optional(
          Type.String({ minLength: 1, description: 'PEM private key file of `server.tlsCert`' }),
        ),
        tlsSelfSigned: Type.Boolean({
          default: false,
          description:
            "serve HTTPS with a self-signed certificate for this machine's names and addresses, made once and kept in `<outputDir>/tls/` (its SHA-256 fingerprint is logged)",
        }),
        requestTimeoutMs: Type.Integer({
          minimum: 1000,
          maximum: 600_000,
          default: 10_000,
          description:
            'time a client has to send a whole request (headers and body), ms (Node `server.requestTimeout`, `headersTimeout`): slow clients (slowloris) are cut off',
        }),
        keepAliveTimeoutMs: Type.Integer({
          minimum: 1000,
          maximum: 600_000,
          default: 30_000,
          description:
            'an idle keep-alive connection is closed after this long, ms (Node `server.keepAliveTimeout`)',
        }),
      },
      'HTTP and WebSocket listener',
    ),
    auth: section(
      {
        secret: Type.Optional(
          Type.String({
            minLength: 16,
            description:
              'server secret that signs publish and play tokens (`dashrelay token`), HMAC-SHA256; at least 16 characters (env DASHRELAY_SECRET)',
          }),
        ),
        secretFile: Type.Optional(
          Type.String({
            minLength: 1,
            description: 'file holding `auth.secret` (first line), so it stays out of the command line',
          }),
        ),
        publishKeys: Type.Record(
          Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }),
          Type.String({ minLength: 8 }),
          {
            default: {},
            description:
              'per-stream publish keys, `{"cam1": "<key>"}`: sent as the token (`?token=`, Bearer, RTMP `live/cam1/<key>`); at least 8 characters',
          },
        ),
        anonymousPublish: Type.Optional(
          Type.Boolean({
            description:
              'accept publishers without a credential; unset: only when no credential is configured and `server.host` is loopback',
          }),
        ),
        playTokens: Type.Union(
          [
            Type.Literal('off'),
            Type.Literal('all'),
            Type.Array(Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' })),
          ],
          {
            default: 'off',
            description:
              'which streams viewers need a play token for: `off`, `all`, or a list of stream names; needs `auth.secret`',
          },
        ),
        adminToken: Type.Optional(
          Type.String({
            minLength: 16,
            description:
              'token for the API (Bearer): needed for every change, and for full details off loopback; unset: changes from loopback only (env DASHRELAY_ADMIN_TOKEN)',
          }),
        ),
        publishRules: Type.Array(Type.String({ pattern: addressRulePattern }), {
          default: [],
          description:
            'who may publish, by address, first match wins, no match allows: `["allow 192.168.1.20", "deny all"]` (nginx `allow`/`deny`; IPv4/IPv6, CIDR)',
        }),
        playRules: Type.Array(Type.String({ pattern: addressRulePattern }), {
          default: [],
          description: 'who may watch (pages, MPD, segments, the API), by address, as `auth.publishRules`',
        }),
        allowedOrigins: Type.Array(Type.String({ pattern: '^(\\*|https?://[^/?#]+)$' }), {
          default: [],
          description:
            'web pages (`Origin`) allowed to publish over WebSocket besides this server\'s own, `["https://studio.example"]`, or `["*"]`; clients that send no Origin (CLI, ffmpeg) are not affected',
        }),
        maxFailuresPerMinute: Type.Integer({
          minimum: 1,
          maximum: 100_000,
          default: 10,
          description:
            'refused credentials one client address may send per minute before it is refused outright (429/4429) for the rest of the minute',
        }),
      },
      'who may publish, watch and change the server (README "Security")',
    ),
    limits: section(
      {
        maxStreams: Type.Integer({
          minimum: 1,
          maximum: 10_000,
          default: 16,
          description: 'live streams at once (every ingest, pulled sources included)',
        }),
        maxPublishersPerAddress: Type.Integer({
          minimum: 1,
          maximum: 10_000,
          default: 4,
          description: 'publishers at once from one client address (WebSocket and RTMP)',
        }),
        maxViewersPerStream: Type.Integer({
          minimum: 1,
          maximum: 100_000,
          default: 100,
          description:
            'viewers of one stream at once: client addresses that requested its MPD or segments in the last 10 s',
        }),
        maxIngestBitrateBps: Type.Integer({
          minimum: 100_000,
          maximum: 10_000_000_000,
          default: 40_000_000,
          description:
            'a publisher sending more than this over 5 s is told and disconnected, bits/s (1080p60 H.264 is ~12 Mbit/s)',
        }),
        maxHeldRequests: Type.Integer({
          minimum: 1,
          maximum: 100_000,
          default: 1000,
          description:
            'MPD and segment requests held waiting for content at once, all streams; more are answered 429',
        }),
        maxSources: Type.Integer({
          minimum: 1,
          maximum: 10_000,
          default: 32,
          description: 'entries the sources file may have (each pull is an ffmpeg process)',
        }),
      },
      'limits a small machine survives; each refusal is coded (docs/errors.md)',
    ),
    outputDir: Type.String({
      minLength: 1,
      default: './output',
      description: 'where `<stream>/live` (the DASH copy on disk) and `<stream>/archive` go',
    }),
    log: section(
      {
        level: Type.Union(
          ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
          { default: 'info', description: 'pino log level' },
        ),
        format: Type.Union([Type.Literal('pretty'), Type.Literal('json')], {
          default: 'pretty',
          description: '`pretty` for people, `json` for machines',
        }),
      },
      'server log (`dashrelay serve`)',
    ),
    ffmpeg: section(
      {
        path: Type.Optional(
          Type.String({
            minLength: 1,
            description: 'ffmpeg binary; else FFMPEG_PATH, ffmpeg-static, `ffmpeg` on PATH',
          }),
        ),
        stopTimeoutMs: Type.Integer({
          minimum: 100,
          maximum: 60_000,
          default: 5000,
          description:
            'grace for the packager to finish its last segment after input ends, ms, then SIGTERM (SIGKILL 2 s later)',
        }),
      },
      'ffmpeg',
    ),
    ingest: section(
      {
        maxMessageBytes: Type.Integer({
          minimum: 1024,
          maximum: 256 * 1024 * 1024,
          default: 4 * 1024 * 1024,
          description:
            'largest WebSocket message from a publisher, bytes (ws `maxPayload`); also the largest Matroska element held',
        }),
        helloTimeoutMs: Type.Integer({
          minimum: 100,
          maximum: 600_000,
          default: 10_000,
          description: 'time a publisher has between connecting and its `hello`, ms',
        }),
        idleTimeoutMs: Type.Integer({
          minimum: 1000,
          maximum: 600_000,
          default: 10_000,
          description:
            'a WebSocket publisher that sends no media for this long after `ready` (or between messages) is closed and its name freed, ms; time held back by backpressure does not count',
        }),
        statusIntervalMs: Type.Integer({
          minimum: 100,
          maximum: 600_000,
          default: 1000,
          description: 'interval of `status` messages to the publisher, ms',
        }),
        sinkHighWaterBytes: Type.Integer({
          minimum: 16 * 1024,
          maximum: 1024 * 1024 * 1024,
          default: 1024 * 1024,
          description:
            'bytes a sink (ffmpeg stdin, archive file) may have pending before the publisher is paused; nothing is dropped',
        }),
      },
      'publishers',
    ),
    rtmp: section(
      {
        enabled: Type.Boolean({
          default: true,
          description: 'accept RTMP publishers (OBS, ffmpeg `-f flv`, a Raspberry Pi)',
        }),
        port: Type.Integer({
          minimum: 0,
          maximum: 65535,
          default: 1935,
          description: "RTMP TCP port, on the HTTP listener's address (`server.host`); 0 picks a free one",
        }),
        app: Type.String({
          pattern: '^[A-Za-z0-9_-]{1,64}$',
          default: 'live',
          description: 'the application in `rtmp://<host>:<port>/<app>/<stream>`',
        }),
        idleTimeoutMs: Type.Integer({
          minimum: 1000,
          maximum: 600_000,
          default: 10_000,
          description:
            'a publisher that sends nothing for this long is disconnected and its stream name freed, ms (a power cut sends no FIN)',
        }),
        firstVideoTimeoutMs: Type.Integer({
          minimum: 1000,
          maximum: 600_000,
          default: 10_000,
          description: 'time from `publish` to the first video message before the publisher is refused, ms',
        }),
      },
      'RTMP ingest',
    ),
    restream: section(
      {
        targets: Type.Array(RestreamTargetSchema, {
          default: [],
          description:
            'push targets from the start: `[{"stream": "cam1", "url": "rtmps://…/<key>", "name": "youtube"}]`; more through the API',
        }),
        maxTargetsPerStream: Type.Integer({
          minimum: 1,
          maximum: 32,
          default: 4,
          description: 'push targets one stream may have (config and API together)',
        }),
        retryInitialMs: Type.Integer({
          minimum: 100,
          maximum: 60_000,
          default: 1000,
          description: 'delay before the first retry of a failed target, ms; doubles per failure',
        }),
        retryMaxMs: Type.Integer({
          minimum: 1000,
          maximum: 600_000,
          default: 30_000,
          description: 'longest delay between retries of a failed target, ms',
        }),
        maxBufferedBytes: Type.Integer({
          minimum: 64 * 1024,
          maximum: 256 * 1024 * 1024,
          default: 8 * 1024 * 1024,
          description:
            'bytes waiting for a target slower than the stream before its attempt is dropped and retried from the live edge',
        }),
        ioTimeoutMs: Type.Integer({
          minimum: 1000,
          maximum: 600_000,
          default: 10_000,
          description:
            'a target that accepts nothing for this long fails the attempt, ms (ffmpeg `rw_timeout`)',
        }),
      },
      'restreaming to RTMP/RTMPS servers',
    ),
    sources: section(
      {
        file: Type.Optional(
          Type.String({
            minLength: 1,
            description:
              'YAML or JSON file of streams the server pulls: IP cameras (RTSP), HTTP streams, any ffmpeg input (docs/sources.md)',
          }),
        ),
        timeoutMs: Type.Integer({
          minimum: 1000,
          maximum: 600_000,
          default: 10_000,
          description:
            'a pulled source that sends nothing for this long is dropped and retried, ms (ffmpeg `-timeout`, `-rw_timeout`)',
        }),
        maxRetryDelayMs: Type.Integer({
          minimum: 1000,
          maximum: 3600_000,
          default: 30_000,
          description:
            'longest wait between two tries of a failing source, ms; the first retry comes within 2 s, the wait doubles up to this',
        }),
        onDemandHoldMs: Type.Integer({
          minimum: 0,
          maximum: 120_000,
          default: 20_000,
          description:
            "how long a manifest request for an on-demand source that it starts is held, ms (ffmpeg connects, then two of the camera's GOPs are measured)",
        }),
      },
      'pulled sources (`--sources`)',
    ),
    latency: section(
      {
        mode: Type.Union(
          latencyModes.map((m) => Type.Literal(m)),
          { default: 'low', description: 'latency mode: `low` or `normal`' },
        ),
        low: profile({
          segmentDurationMs: 1000,
          chunked: true,
          // bench:latency, 5 min at 720p30: 150 ms with dash.js LoL+ catch-up played ~195 ms glass to glass
          // without stalls; 140 ms gave ~185 ms with dozens of short stalls at segment ends.
          targetLatencyMs: 150,
          playerLiveDelayMs: 150,
          playerLiveDelayWithAudioMs: 300,
        }),
        normal: profile({
          segmentDurationMs: 2000,
          chunked: false,
          targetLatencyMs: 6000,
          playerLiveDelayMs: 6000,
          playerLiveDelayWithAudioMs: 6000,
        }),
      },
      'latency mode and the parameters of each',
    ),
    origin: section(
      {
        holdSegmentRatio: Type.Number({
          minimum: 0,
          maximum: 10,
          default: 1.5,
          description:
            'how long a request for the next media segment is held before 404, in segment durations',
        }),
        holdStartMs: Type.Integer({
          minimum: 0,
          maximum: 60_000,
          default: 5000,
          description: 'how long a manifest or init segment request is held while a new stream has none, ms',
        }),
        maxViewerBufferBytes: Type.Integer({
          minimum: 64 * 1024,
          maximum: 1024 * 1024 * 1024,
          default: 8 * 1024 * 1024,
          description: 'bytes queued for one viewer before that viewer is cut off',
        }),
        keepEndedStreamMs: Type.Integer({
          minimum: 0,
          maximum: 24 * 3600_000,
          default: 60_000,
          description:
            'how long the MPD of a stream whose publisher stopped stays served, ms; a publisher that returns within it continues the MPD (the same Period within origin.republishGraceMs, else a new one)',
        }),
        republishGraceMs: Type.Integer({
          minimum: 0,
          maximum: 24 * 3600_000,
          default: 15_000,
          description:
            'how long the last Period of a stream whose publisher stopped stays open (no @duration), ms; a publisher that returns within it with the same codecs and settings continues that Period, so players that follow one Period only play on; 0 ends it at once',
        }),
        reanchorDriftMs: Type.Integer({
          minimum: 50,
          maximum: 60_000,
          default: 500,
          description:
            'when three segments in a row arrive this much later than the MPD announces them, and not less late each time (a publisher slower than real time), the next ones move whole segment slots later in the same Period, ms',
        }),
        segmentsInMemory: Type.Integer({
          minimum: 2,
          maximum: 10_000,
          default: 30,
          description: 'media segments kept in memory per Representation',
        }),
      },
      'live delivery to viewers',
    ),
    analysis: section(
      {
        fps: Type.Number({
          exclusiveMinimum: 0,
          maximum: 60,
          default: 5,
          description: 'frames per second given to analysis plugins',
        }),
        widthPx: Type.Integer({
          minimum: 16,
          maximum: 3840,
          default: 320,
          description: 'width of analysis frames, pixels (aspect kept, even height)',
        }),
        queueFrames: Type.Integer({
          minimum: 1,
          maximum: 100,
          default: 2,
          description: 'frames queued per plugin before new frames are dropped for it',
        }),
        maxBacklogBytes: Type.Integer({
          minimum: 64 * 1024,
          maximum: 1024 * 1024 * 1024,
          default: 16 * 1024 * 1024,
          description: 'input the decoder may lag behind by before analysis stops for the session, bytes',
        }),
      },
      'frame analysis',
    ),
    events: section(
      {
        history: Type.Integer({
          minimum: 1,
          maximum: 100_000,
          default: 200,
          description: 'analysis events kept per stream for `GET /api/streams/:stream/events`',
        }),
        sseHeartbeatMs: Type.Integer({
          minimum: 1000,
          maximum: 600_000,
          default: 15_000,
          description: 'comment heartbeat on the SSE feed so proxies keep it open, ms',
        }),
        sseMaxBufferedBytes: Type.Integer({
          minimum: 1024,
          maximum: 1024 * 1024 * 1024,
          default: 1024 * 1024,
          description: 'bytes queued for one SSE client before its messages are dropped',
        }),
      },
      'analysis events out',
    ),
  },
  { additionalProperties: false },
);

/** The server configuration (every key present, defaults filled in). */
export type Config = Static<typeof ConfigSchema>;
/** One latency mode's parameters. */
export type LatencyProfile = Config['latency']['low'];

/** A partial configuration: any key at any depth may be left out. */
export type ConfigInput = {
  [K in keyof Config]?: Config[K] extends Record<string, unknown> ? DeepPartial<Config[K]> : Config[K];
};
type DeepPartial<T> = { [K in keyof T]?: T[K] extends Record<string, unknown> ? DeepPartial<T[K]> : T[K] };
