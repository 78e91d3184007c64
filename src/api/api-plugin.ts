import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { AccessControl } from '../contracts/access.ts';
import { createError } from '../errors/errors.ts';
import { httpErrorHandler } from '../errors/http-error-handler.ts';
import { credentialOf } from '../util/credential.ts';
import type { PulledSourceInfo } from './source-info.ts';
import { createSseWriter } from './sse-writer.ts';
import type { StreamInfo } from './stream-info.ts';

/** What the API reads: live streams and analysis events. */
export interface ApiSource {
  list(): StreamInfo[];
  get(stream: string): StreamInfo | undefined;
  recentEvents(stream: string): readonly unknown[];
  /** Subscribes to analysis events and live/ended changes of one stream; returns the unsubscribe function. */
  subscribe(
    stream: string,
    onEvent: (event: unknown) => void,
    onState: (info: StreamInfo | undefined) => void,
  ): () => void;
  /** A client asked for one stream (the viewer page polls it): a source that runs on demand starts. */
  demand?(stream: string): void;
  /** The streams the server pulls (sources file), for `GET /api/sources`. */
  pulledSources?(): readonly PulledSourceInfo[];
}

export interface ApiPluginOptions {
  readonly source: ApiSource;
  /** SSE comment heartbeat, ms, so proxies keep the connection. Default 15 000. */
  readonly heartbeatMs?: number;
  /** Bytes queued for one SSE client before its messages are dropped. Default 1 MiB. */
  readonly maxBufferedBytes?: number;
  /**
   * Who may read what (README "Security"): address rules (`auth.playRules`) on every request; a stream
   * that needs play tokens needs one (or the admin) for its reads; callers other than the admin see no
   * restream targets or source URLs. Without it, everything is open.
   */
  readonly access?: AccessControl | undefined;
}

const streamParams = {
  type: 'object',
  properties: { stream: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' } },
  required: ['stream'],
} as const;

/**
 * `GET /api/streams`, `GET /api/streams/:stream`, `GET /api/streams/:stream/events`, the live
 * feed `GET /api/streams/:stream/events/live` (Server-Sent Events, WHATWG HTML §9.2), and the pulled
 * sources `GET /api/sources`.
 */
export const apiPlugin: FastifyPluginAsync<ApiPluginOptions> = async (app, opts) => {
  app.setErrorHandler(httpErrorHandler);
  const { source } = opts;
  const feeds = new Set<() => void>();
  // Open SSE responses would hold the server's close() forever.
  app.addHook('preClose', async () => {
    for (const end of feeds) end();
  });
  app.addHook('onSend', async (_req, reply) => {
    reply.header('Cache-Control', 'no-store').header('Access-Control-Allow-Origin', '*');
  });

  const { access } = opts;
  if (access) {
    app.addHook('onRequest', async (req) => access.checkAddress('play', req.ip));
  }
  const isAdmin = (req: FastifyRequest): boolean =>
    !access || access.isAdmin(req.ip, credentialOf(undefined, req.headers));
  /** A stream's reads follow its play rule: a play token where one is needed, unless the admin asks. */
  const authorizeRead = async (req: FastifyRequest, stream: string): Promise<boolean> => {
    const admin = isAdmin(req);
    if (access && !admin) await access.authorizePlay(stream, req.ip, credentialOf(req.url, req.headers));
    return admin;
  };
  const shown = (info: StreamInfo, admin: boolean): StreamInfo => (admin ? info : { ...info, restream: [] });

  app.get('/api/streams', async (req) => {
    const admin = isAdmin(req);
    const streams = source
      .list()
      .filter((info) => admin || !access?.playTokenRequired(info.name))
      .map((info) => shown(info, admin));
    return { streams };
  });
  app.get('/api/sources', async (req) => {
    const admin = isAdmin(req);
    const sources = (source.pulledSources?.() ?? [])
      .filter((s) => admin || !access?.playTokenRequired(s.name))
      .map((s) => (admin ? s : { ...s, url: undefined }));
    return { sources };
  });

  app.get<{ Params: { stream: string } }>(
    '/api/streams/:stream',
    { schema: { params: streamParams } },
    async (req) => {
      const admin = await authorizeRead(req, req.params.stream);
      source.demand?.(req.params.stream);
      const info = source.get(req.params.stream);
      if (info) return shown(info, admin);
      throw createError('DR_ERR_STREAM_NOT_FOUND', req.params.stream);
    },
  );

  app.get<{ Params: { stream: string } }>(
    '/api/streams/:stream/events',
    { schema: { params: streamParams } },
    async (req) => {
      await authorizeRead(req, req.params.stream);
      return { events: source.recentEvents(req.params.stream) };
    },
  );

  app.get<{ Params: { stream: string } }>(
    '/api/streams/:stream/events/live',
    { schema: { params: streamParams } },
    async (req, reply) => {
      const admin = await authorizeRead(req, req.params.stream);
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'Content-Type': 'text/event-stream; charset=utf-8',
        'Cache-Control': 'no-store',
        Connection: 'keep-alive',
        'Access-Control-Allow-Origin': '*',
        'X-Accel-Buffering': 'no',
      });
      const sse = createSseWriter(res, opts.maxBufferedBytes ?? 1024 * 1024);
      const write = (event: string, data: unknown): void => void sse.event(event, data);
      const current = source.get(req.params.stream);
      write('state', { live: current !== undefined, info: current ? shown(current, admin) : null });
      const unsubscribe = source.subscribe(
        req.params.stream,
        (event) => write('analysis', event),
        (info) => write('state', { live: info !== undefined, info: info ? shown(info, admin) : null }),
      );
      const heartbeat = setInterval(() => sse.comment('keep-alive'), opts.heartbeatMs ?? 15_000);
      const stop = (): void => {
        clearInterval(heartbeat);
        unsubscribe();
        feeds.delete(end);
      };
      const end = (): void => {
        stop();
        res.end();
      };
      feeds.add(end);
      res.once('close', stop);
    },
  );
};
