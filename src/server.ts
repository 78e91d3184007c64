import { createRequire } from 'node:module';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import fastifyWebsocket from '@fastify/websocket';
import Fastify, { type FastifyInstance, type FastifyServerOptions, LogController } from 'fastify';
import { EventLog } from './analysis/event-log.ts';
import { createMotionPlugin } from './analysis/motion-plugin.ts';
import type { AnalysisPlugin } from './analysis/types.ts';
import { apiPlugin } from './api/api-plugin.ts';
import { latencyProfiles, resolveConfig, type ServerConfig } from './config/config.ts';
import { StreamRegistry } from './core/registry.ts';
import type { Session } from './core/session.ts';
import { closeAllPublishers, ingestPlugin } from './ingest/ingest-plugin.ts';
import type { HelloMessage } from './ingest/messages.ts';
import { type LiveContext, toStreamInfo } from './live-context.ts';
import { originPlugin } from './origin/origin-plugin.ts';
import { PackagerReceiver } from './origin/packager-receiver.ts';
import { createSessionSetup } from './session-wiring.ts';
import { type FfmpegBinary, locateFfmpeg } from './util/ffmpeg-locate.ts';

export interface CreateServerOptions extends Partial<ServerConfig> {
  /** Analysis plugins. Default: the built-in `motion` plugin. Pass `[]` to turn analysis off. */
  readonly analyzers?: readonly AnalysisPlugin[];
  /** fastify (pino) logger options; `false` silences. Default: info level. */
  readonly logger?: FastifyServerOptions['logger'];
  /** A located ffmpeg; skips the start-up check (tests). */
  readonly ffmpeg?: FfmpegBinary;
}

export interface DashrelayServer {
  readonly app: FastifyInstance;
  readonly config: Readonly<ServerConfig>;
  readonly ffmpeg: FfmpegBinary;
  readonly registry: StreamRegistry;
  readonly events: EventLog;
  /** The parts of a live session (packager, archive, analysis, origin store), for diagnostics and tests. */
  live(stream: string): LiveContext | undefined;
  /** Starts listening; resolves to the base URL (`http://127.0.0.1:8080`). */
  listen(): Promise<string>;
  /** Graceful stop: publishers told (1001), ffmpeg stopped after its last segment, archives closed. */
  close(): Promise<void>;
}

/** `static/` beside `src/` or `dist/`. */
const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Builds the server: WebSocket ingest, the per-session tee (packager, archive, analysis), the
 * low-latency origin, the API and the pages.
 * @throws DashrelayError `DR_ERR_CONFIG_INVALID`, `DR_ERR_FFMPEG_MISSING`, `DR_ERR_FFMPEG_TOO_OLD`.
 */
export async function createServer(options: CreateServerOptions = {}): Promise<DashrelayServer> {
  const { analyzers, logger, ffmpeg: givenFfmpeg, ...overrides } = options;
  const config = resolveConfig(overrides);
  const ffmpeg = givenFfmpeg ?? (await locateFfmpeg(config.ffmpegPath));
  const profile = latencyProfiles[config.latency];
  const plugins = analyzers ?? [createMotionPlugin()];
  const outputDir = resolve(config.outputDir);
  const events = new EventLog(config.eventHistory);
  const receiver = new PackagerReceiver();
  await receiver.start();
  const live = new Map<string, LiveContext>();
  let publicBaseUrl = `http://127.0.0.1:${config.port}`;

  // Per-request logs would be one line per CMAF segment request per viewer: sessions are logged instead.
  const app = Fastify({
    logger: logger ?? { level: 'info' },
    forceCloseConnections: true,
    trustProxy: config.trustProxy,
    logController: new LogController({ disableRequestLogging: true }),
  });
  const log = app.log;

  const setup = createSessionSetup({
    config,
    profile,
    ffmpeg,
    plugins,
    outputDir,
    receiver,
    events,
    live,
    log,
    publicBaseUrl: () => publicBaseUrl,
  });

  const registry = new StreamRegistry(setup);

  await app.register(fastifyWebsocket, {
    options: { maxPayload: config.maxMessageBytes },
    preClose(done) {
      closeAllPublishers(this.websocketServer.clients);
      this.websocketServer.close();
      done();
    },
  });
  await app.register(ingestPlugin, {
    openSession: async (stream: string, hello: HelloMessage) => {
      const session = await registry.open({
        stream,
        mimeType: hello.mimeType,
        keyframeIntervalMs: hello.keyframeIntervalMs,
        width: hello.width,
        height: hello.height,
        fps: hello.fps,
      });
      const ctx = live.get(stream);
      return { session, archive: ctx ? relative(outputDir, ctx.archive.path) : '' };
    },
  });
  await app.register(originPlugin, {
    lookup: {
      store: (stream) => {
        const ctx = live.get(stream);
        return ctx
          ? {
              store: ctx.store,
              counters: ctx.counters,
              mediaStartMs: ctx.clock.mediaStartMs ?? ctx.session.firstByteAtMs,
              segmentDurationsSec: () => ctx.timing.templateDurationsSec(),
            }
          : undefined;
      },
    },
    holdSegmentMs: Math.round(profile.segmentDurationMs * 1.5),
    holdStartMs: 5000,
    maxViewerBufferBytes: config.maxViewerBufferBytes,
    get packagerUtcTimingUrl() {
      return `${publicBaseUrl}/time`;
    },
  });
  await app.register(apiPlugin, {
    source: {
      list: () => [...live.values()].map(toStreamInfo),
      get: (stream) => {
        const ctx = live.get(stream);
        return ctx ? toStreamInfo(ctx) : undefined;
      },
      recentEvents: (stream) => events.recent(stream),
      subscribe: (stream, onEvent, onState) => {
        const ev = (e: { stream: string }): void => {
          if (e.stream === stream) onEvent(e);
        };
        const started = (s: Session): void => {
          const ctx = live.get(stream);
          if (s.info.stream === stream && ctx) onState(toStreamInfo(ctx));
        };
        const ended = (s: Session): void => {
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
  // dashjs's "require" export is its UMD bundle (dist/modern/umd/dash.all.min.js): served as is, no CDN.
  const dashjsFile = createRequire(import.meta.url).resolve('dashjs');
  app.get('/vendor/dash.all.min.js', (_req, reply) => {
    reply.header('Cache-Control', 'public, max-age=3600');
    return reply.sendFile(basename(dashjsFile), dirname(dashjsFile));
  });
  await app.register(fastifyStatic, { root: join(packageRoot, 'static'), index: 'index.html' });

  let closing: Promise<void> | undefined;
  return {
    app,
    config,
    ffmpeg,
    registry,
    events,
    live: (stream) => live.get(stream),
    async listen() {
      const address = await app.listen({ host: config.host, port: config.port });
      const port = Number(new URL(address).port);
      const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
      publicBaseUrl = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
      return publicBaseUrl;
    },
    close() {
      closing ??= (async () => {
        // preClose tells publishers (1001) and ends the SSE feeds; then sessions finish their last segment.
        const appClosed = app.close();
        await registry.closeAll();
        await appClosed;
        await receiver.close();
      })();
      return closing;
    },
  };
}
