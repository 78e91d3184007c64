import { createRequire } from 'node:module';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import fastifyWebsocket from '@fastify/websocket';
import Fastify, { type FastifyInstance, type FastifyServerOptions, LogController } from 'fastify';
import { EventLog } from '../analysis/event-log.ts';
import type { AnalysisPlugin } from '../analysis/types.ts';
import { apiPlugin } from '../api/api-plugin.ts';
import { Access } from '../auth/access-control.ts';
import { readSecret } from '../auth/secret.ts';
import { activeProfile, type Config, type ConfigInput, resolveConfig } from '../config/config.ts';
import { StreamRegistry } from '../core/registry.ts';
import { httpErrorHandler, notFoundHandler } from '../errors/http-error-handler.ts';
import { type FfmpegBinary, locateFfmpeg } from '../ffmpeg/ffmpeg-locate.ts';
import { PullIngest } from '../ingest/pull/pull-ingest.ts';
import { loadSourcesFile } from '../ingest/pull/sources-file.ts';
import { RtmpIngest } from '../ingest/rtmp/rtmp-server.ts';
import { closeAllPublishers, wsIngestPlugin } from '../ingest/websocket/ws-ingest-plugin.ts';
import { originPlugin } from '../origin/origin-plugin.ts';
import { PutReceiver } from '../packager/ffmpeg/put-receiver.ts';
import { restreamApiPlugin } from '../restream/restream-api-plugin.ts';
import { Restreamer } from '../restream/restreamer.ts';
import { resolveTls, type ServedCertificate } from '../tls/certificate.ts';
import { listensEverywhere, urlHost } from '../tls/machine-names.ts';
import { defaultAnalyzers } from './default-analyzers.ts';
import { type LiveStream, toStreamInfo } from './live-stream.ts';
import { Presentations } from './presentations.ts';
import { publicBaseUrl } from './public-base-url.ts';
import { applyServerTimeouts } from './server-timeouts.ts';
import { createSessionSetup } from './session-setup.ts';

export interface CreateServerOptions {
  /** Configuration; every key left out takes its default (docs/configuration.md). */
  readonly config?: ConfigInput;
  /** Analysis plugins. Default: {@link defaultAnalyzers} (the built-in `motion`). Pass `[]` to turn analysis off. */
  readonly analyzers?: readonly AnalysisPlugin[];
  /** fastify (pino) logger options; `false` silences. Default: info level. */
  readonly logger?: FastifyServerOptions['logger'];
  /** A located ffmpeg; skips the start-up check (tests). */
  readonly ffmpeg?: FfmpegBinary;
}

/** A running dashrelay server (the public API's view). */
export interface DashrelayServer {
  readonly app: FastifyInstance;
  readonly config: Readonly<Config>;
  readonly ffmpeg: FfmpegBinary;
  /**
   * Starts listening (HTTP, or HTTPS and WSS on the same port when TLS is configured; RTMP unless
   * `rtmp.enabled` is false) and pulling the always-on sources of `sources.file`; resolves to the base
   * URL (`http://127.0.0.1:8080`, `https://127.0.0.1:8443`).
   */
  listen(): Promise<string>;
  /** The RTMP ingest's URL prefix once listening (`rtmp://127.0.0.1:1935/live`); undefined when RTMP is off. */
  readonly rtmpUrl: string | undefined;
  /** Graceful stop: publishers told (1001), ffmpeg stopped after its last segment, archives closed. */
  close(): Promise<void>;
}

/** The server with its internals, for the CLI, tests and benchmarks of this package. */
export interface RelayServer extends DashrelayServer {
  readonly registry: StreamRegistry<LiveStream>;
  readonly events: EventLog;
  /** Every stream's push targets (`restream.targets` and the API). */
  readonly restreamer: Restreamer;
  /** What a live session owns (packager, archive, analysis, live store), once set up. */
  live(stream: string): LiveStream | undefined;
  /**
   * The certificate served when TLS is configured (`server.tlsCert`/`tlsKey`, or `tlsSelfSigned`),
   * with its SHA-256 fingerprint; undefined for plain HTTP.
   */
  readonly tls: ServedCertificate | undefined;
}

/** `static/` beside `src/` or `dist/`. */
const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * The composition root: the one place that wires ingest, the session tee and its sinks (packager,
 * archive, analysis, media clock), the origin, the API and the pages. Adding an ingest protocol or a
 * packager means a folder of its own and a line here.
 * @throws DashrelayError `DR_ERR_CONFIG_INVALID`, `DR_ERR_FFMPEG_MISSING`, `DR_ERR_FFMPEG_TOO_OLD`,
 * `DR_ERR_SOURCES_READ`, `DR_ERR_SOURCES_INVALID`, `DR_ERR_SOURCES_TOO_MANY`, `DR_ERR_TLS_SETUP`.
 */
export async function createRelayServer(options: CreateServerOptions = {}): Promise<RelayServer> {
  const { analyzers, logger, ffmpeg: givenFfmpeg } = options;
  const config = resolveConfig(options.config);
  const ffmpeg = givenFfmpeg ?? (await locateFfmpeg(config.ffmpeg.path));
  const sourcesFile = config.sources.file
    ? await loadSourcesFile(config.sources.file, { maxSources: config.limits.maxSources })
    : { sources: [], restream: [] };
  const pulledSources = sourcesFile.sources;
  const profile = activeProfile(config);
  const outputDir = resolve(config.outputDir);
  // Everything that can refuse the configuration runs before anything listens.
  const tls = await resolveTls(config.server, outputDir);
  const scheme = tls ? 'https' : 'http';
  const secret = await readSecret(config.auth);
  const events = new EventLog(config.events.history);
  const receiver = new PutReceiver();
  await receiver.start();
  let listenerBaseUrl = `${scheme}://127.0.0.1:${config.server.port}`;
  let listeningPort = config.server.port;

  // Per-request logs would be one line per CMAF segment request per viewer: sessions are logged instead.
  const fastifyOptions = {
    logger: logger ?? { level: 'info' },
    forceCloseConnections: true,
    trustProxy: config.server.trustProxy,
    logController: new LogController({ disableRequestLogging: true }),
  } satisfies FastifyServerOptions;
  // HTTPS and WSS share the port: the WebSocket ingest upgrades on the same server. Only the node
  // server class differs (https.Server, a subclass of tls.Server); every route and plugin sees the
  // same fastify API, so the instance is typed as the HTTP one.
  const app: FastifyInstance = tls
    ? (Fastify({
        ...fastifyOptions,
        // A client that opens a connection and never finishes the TLS handshake is closed as fast as
        // one that never sends its request (server.requestTimeoutMs).
        https: { key: tls.key, cert: tls.cert, handshakeTimeout: config.server.requestTimeoutMs },
      }) as unknown as FastifyInstance)
    : Fastify(fastifyOptions);
  app.setErrorHandler(httpErrorHandler);
  app.setNotFoundHandler(notFoundHandler);
  const access = new Access({
    auth: config.auth,
    secret,
    listenHost: config.server.host,
    maxPublishersPerAddress: config.limits.maxPublishersPerAddress,
    log: app.log.child({ component: 'access' }),
  });
  // The pages carry no stream: whoever may publish or watch may load them. /live, /api and /ingest
  // apply their own rule.
  app.addHook('onRequest', async (req) => {
    if (/^\/(?:live|api|ingest)\//.test(req.url)) return;
    if (!access.permits('play', req.ip)) access.checkAddress('publish', req.ip);
  });
  applyServerTimeouts(app.server, config.server);

  const presentations = new Presentations({
    profile,
    reanchorDriftMs: config.origin.reanchorDriftMs,
    republishGraceMs: config.origin.republishGraceMs,
    keepEndedMs: config.origin.keepEndedStreamMs,
  });
  const registry = new StreamRegistry(
    createSessionSetup({
      config,
      profile,
      ffmpeg,
      plugins: analyzers ?? defaultAnalyzers(),
      outputDir,
      receiver,
      events,
      presentations,
      log: app.log,
      publicBaseUrl: () => listenerBaseUrl,
    }),
    { maxStreams: config.limits.maxStreams, maxIngestBitrateBps: config.limits.maxIngestBitrateBps },
  );
  const live = (stream: string): LiveStream | undefined => registry.entry(stream)?.attached;
  const restreamInput = (l: LiveStream) => ({
    store: l.store,
    audioExpected: l.session.info.media.audio !== 'none',
  });
  const restreamer = new Restreamer({
    ffmpegPath: ffmpeg.path,
    log: app.log.child({ component: 'restream' }),
    maxTargetsPerStream: config.restream.maxTargetsPerStream,
    backoff: { initialMs: config.restream.retryInitialMs, maxMs: config.restream.retryMaxMs },
    maxBufferedBytes: config.restream.maxBufferedBytes,
    ioTimeoutMs: config.restream.ioTimeoutMs,
    stopTimeoutMs: config.ffmpeg.stopTimeoutMs,
    liveInput: (stream) => {
      const l = live(stream);
      return l ? restreamInput(l) : undefined;
    },
  });
  for (const target of [...config.restream.targets, ...sourcesFile.restream])
    restreamer.add(target, 'config');
  registry.on('started', (e) => restreamer.sessionStarted(e.session.info.stream, restreamInput(e.attached)));
  registry.on('ended', (s) => restreamer.sessionEnded(s.info.stream));
  const pull =
    pulledSources.length > 0
      ? new PullIngest({
          sources: pulledSources,
          ffmpegPath: ffmpeg.path,
          openSession: (request) => registry.open(request),
          timeoutMs: config.sources.timeoutMs,
          maxRetryDelayMs: config.sources.maxRetryDelayMs,
          keyframeSeconds: profile.segmentDurationMs / 1000,
          maxHeaderBytes: config.ingest.maxMessageBytes,
          log: app.log.child({ component: 'pull' }),
        })
      : undefined;

  await app.register(fastifyWebsocket, {
    options: { maxPayload: config.ingest.maxMessageBytes },
    preClose(done) {
      closeAllPublishers(this.websocketServer.clients);
      this.websocketServer.close();
      done();
    },
  });
  await app.register(wsIngestPlugin, {
    helloTimeoutMs: config.ingest.helloTimeoutMs,
    idleTimeoutMs: config.ingest.idleTimeoutMs,
    statusIntervalMs: config.ingest.statusIntervalMs,
    access,
    openSession: async (request) => {
      const session = await registry.open(request);
      const archive = live(request.stream)?.archive.path;
      return { session, archive: archive ? relative(outputDir, archive) : '' };
    },
  });
  const rtmp = config.rtmp.enabled
    ? new RtmpIngest({
        host: config.server.host,
        port: config.rtmp.port,
        app: config.rtmp.app,
        idleTimeoutMs: config.rtmp.idleTimeoutMs,
        firstVideoTimeoutMs: config.rtmp.firstVideoTimeoutMs,
        maxPendingBytes: config.ingest.maxMessageBytes,
        access,
        log: app.log.child({ component: 'rtmp' }),
        refusal: (stream) => registry.refusal(stream, true),
        openSession: (request) => registry.open(request),
      })
    : undefined;
  let rtmpUrl: string | undefined;
  await app.register(originPlugin, {
    lookup: { presentation: (stream) => presentations.get(stream) },
    holdSegmentMs: Math.round(profile.segmentDurationMs * config.origin.holdSegmentRatio),
    holdStartMs: config.origin.holdStartMs,
    maxViewerBufferBytes: config.origin.maxViewerBufferBytes,
    onViewer: pull && ((stream) => pull.demand(stream)),
    holdOnDemandMs: config.sources.onDemandHoldMs,
    access,
    maxHeldRequests: config.limits.maxHeldRequests,
    maxViewersPerStream: config.limits.maxViewersPerStream,
    baseUrlFor: publicBaseUrl({
      publicUrl: config.server.publicUrl,
      trustProxy: config.server.trustProxy !== false,
      scheme,
      listenHost: config.server.host,
      port: () => listeningPort,
      onUnknownHost: (host) =>
        app.log.warn(
          `a request named this server "${host}", which is not one of this machine's names and port: its MPD's UTCTiming URL names this machine's own address instead; if viewers reach the server by that name, set --public-url`,
        ),
    }),
  });
  await app.register(apiPlugin, {
    heartbeatMs: config.events.sseHeartbeatMs,
    maxBufferedBytes: config.events.sseMaxBufferedBytes,
    access,
    source: {
      list: () =>
        registry.list().map((e) => toStreamInfo(e.attached, restreamer.list(e.session.info.stream))),
      get: (stream) => {
        const l = live(stream);
        return l ? toStreamInfo(l, restreamer.list(stream)) : undefined;
      },
      recentEvents: (stream) => events.recent(stream),
      demand: (stream) => void pull?.demand(stream),
      pulledSources: () => pull?.list() ?? [],
      subscribe: (stream, onEvent, onState) => {
        const ev = (e: { stream: string }): void => {
          if (e.stream === stream) onEvent(e);
        };
        const started = (e: { attached: LiveStream }): void => {
          if (e.attached.session.info.stream === stream)
            onState(toStreamInfo(e.attached, restreamer.list(stream)));
        };
        const ended = (s: { info: { stream: string } }): void => {
          if (s.info.stream === stream) onState(undefined);
        };
        events.on('event', ev);
        registry.on('started', started);
        registry.on('ended', ended);
        return () => {
          events.off('event', ev);
          registry.off('started', started);
          registry.off('ended', ended);
        };
      },
    },
  });
  await app.register(restreamApiPlugin, { restreamer, access });
  // dashjs's "require" export is its UMD bundle (dist/modern/umd/dash.all.min.js): served as is, no CDN.
  const dashjsFile = createRequire(import.meta.url).resolve('dashjs');
  app.get('/vendor/dash.all.min.js', (_req, reply) => {
    reply.header('Cache-Control', 'public, max-age=3600');
    return reply.sendFile(basename(dashjsFile), dirname(dashjsFile));
  });
  await app.register(fastifyStatic, {
    root: join(packageRoot, 'static'),
    index: 'index.html',
    // The pages' type-checking files (tsconfig.json, *.d.ts) sit beside them but are not pages.
    allowedPath: (pathName) => !/(?:\.d\.ts|\.json)$/.test(pathName),
  });

  let closing: Promise<void> | undefined;
  return {
    app,
    config,
    ffmpeg,
    registry,
    events,
    restreamer,
    live,
    tls,
    get rtmpUrl() {
      return rtmpUrl;
    },
    async listen() {
      const { host: listenHost, port: listenPort } = config.server;
      const address = await app.listen({ host: listenHost, port: listenPort });
      const port = Number(new URL(address).port);
      const host = listensEverywhere(listenHost) ? '127.0.0.1' : listenHost;
      listeningPort = port;
      listenerBaseUrl = `${scheme}://${urlHost(host, port)}`;
      if (rtmp) {
        try {
          const rtmpPort = await rtmp.listen();
          rtmpUrl = `rtmp://${urlHost(host, rtmpPort)}/${config.rtmp.app}`;
        } catch (err) {
          await app.close();
          throw err;
        }
      }
      pull?.start();
      return listenerBaseUrl;
    },
    close() {
      closing ??= (async () => {
        // preClose tells publishers (1001) and ends the SSE feeds; then sessions finish their last segment.
        const appClosed = app.close();
        await rtmp?.close();
        await restreamer.close();
        await pull?.close();
        await registry.closeAll();
        await appClosed;
        await receiver.close();
        presentations.close();
      })();
      return closing;
    },
  };
}

/**
 * Builds a dashrelay server: WebSocket ingest, the per-session tee (packager, archive, analysis), the
 * low-latency origin, the API and the pages. Call `listen()` to start it.
 * @throws DashrelayError `DR_ERR_CONFIG_INVALID`, `DR_ERR_FFMPEG_MISSING`, `DR_ERR_FFMPEG_TOO_OLD`, `DR_ERR_TLS_SETUP`.
 */
export async function createServer(options: CreateServerOptions = {}): Promise<DashrelayServer> {
  return createRelayServer(options);
}
