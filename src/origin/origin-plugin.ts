import type { FastifyPluginAsync } from 'fastify';
import type { PublishedManifest, SegmentKind } from '../contracts/segments.ts';
import { createError } from '../errors/errors.ts';
import { httpErrorHandler } from '../errors/http-error-handler.ts';
import type { LiveFile } from '../live/live-file.ts';
import { manifestFileName, type SegmentStore } from '../live/segment-store.ts';
import { isValidStreamName } from '../util/stream-name.ts';
import { type DeliveryCounters, deliverFile } from './deliver-file.ts';

/** What the origin needs from the rest of the server: a live stream's output and its counters. */
export interface LiveStoreLookup {
  store(stream: string): { store: SegmentStore; counters: DeliveryCounters } | undefined;
}

export interface OriginPluginOptions {
  readonly lookup: LiveStoreLookup;
  /** How long a request for a not-yet-started media segment is held before 404, ms (≈ 1.5 segment durations). */
  readonly holdSegmentMs: number;
  /** How long a manifest or init request for a live stream that has not produced one yet is held, ms. */
  readonly holdStartMs: number;
  /** Per-viewer response backlog bound, bytes. */
  readonly maxViewerBufferBytes: number;
}

const corsHeaders = { 'Access-Control-Allow-Origin': '*', 'Timing-Allow-Origin': '*' };
const segmentHeaders = {
  ...corsHeaders,
  'Content-Type': 'video/mp4',
  // Segment names are never reused within a session and the origin clears them per session.
  'Cache-Control': 'public, max-age=31536000, immutable',
};

/**
 * Live delivery: `GET /live/:stream/manifest.mpd`, `GET /live/:stream/<segment>`, `GET /time`.
 * Manifests are served whole with `Cache-Control: no-cache` (DASH-IF IOP live); segments immutable.
 * A request for the next media segment is held until the packager starts it (instead of a 404),
 * which is how a low-latency player asks for a segment before it is complete (ISO/IEC 23009-1
 * `availabilityTimeOffset`, chunked transfer).
 */
export const originPlugin: FastifyPluginAsync<OriginPluginOptions> = async (app, opts) => {
  app.setErrorHandler(httpErrorHandler);
  app.get('/time', async (_req, reply) => {
    reply.header('Cache-Control', 'no-store').headers(corsHeaders).type('text/plain');
    return new Date().toISOString();
  });

  app.options('/live/*', async (_req, reply) => {
    reply
      .headers(corsHeaders)
      .header('Access-Control-Allow-Methods', 'GET, HEAD, OPTIONS')
      .header('Access-Control-Allow-Headers', '*')
      .code(204)
      .send();
  });

  app.get<{ Params: { stream: string; file: string } }>('/live/:stream/:file', async (req, reply) => {
    const { stream, file: name } = req.params;
    const live = isValidStreamName(stream) ? opts.lookup.store(stream) : undefined;
    if (!live) throw createError('DR_ERR_STREAM_NOT_FOUND', stream);
    const { store, counters } = live;

    if (name === manifestFileName) {
      const manifest = store.manifest ?? (await waitForManifest(store, opts.holdStartMs));
      if (!manifest) throw createError('DR_ERR_SEGMENT_NOT_FOUND', name);
      reply
        .headers(corsHeaders)
        .header('Cache-Control', 'no-cache')
        .type('application/dash+xml')
        // req.protocol and req.host follow X-Forwarded-* when the server trusts its proxy (trustProxy).
        .send(manifest.render({ timingUrl: `${req.protocol}://${req.host}/time` }));
      return reply;
    }

    const kind = store.classify(name);
    if (!kind) throw createError('DR_ERR_SEGMENT_NOT_FOUND', name);
    let file = store.get(name);
    if (!file) {
      const holdMs = holdTimeFor(store, kind, opts);
      if (holdMs > 0) file = await waitForFile(store, name, holdMs);
    }
    if (!file || file.aborted) throw createError('DR_ERR_SEGMENT_NOT_FOUND', name);
    reply.hijack();
    deliverFile(file, reply.raw, segmentHeaders, opts.maxViewerBufferBytes, counters);
    return reply;
  });
};

function holdTimeFor(store: SegmentStore, parsed: SegmentKind, opts: OriginPluginOptions): number {
  if (parsed.kind === 'init') return opts.holdStartMs;
  const newest = store.newestSegmentNumber(parsed.representation);
  if (newest === undefined) return parsed.number <= 3 ? opts.holdStartMs : 0;
  // Only the next couple of segments are worth waiting for; older ones left the window for good.
  return parsed.number > newest && parsed.number <= newest + 2 ? opts.holdSegmentMs : 0;
}

function waitForFile(store: SegmentStore, name: string, timeoutMs: number): Promise<LiveFile | undefined> {
  return new Promise((resolve) => {
    const onStarted = (file: LiveFile): void => {
      if (file.name !== name) return;
      done(file);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    const done = (file: LiveFile | undefined): void => {
      clearTimeout(timer);
      store.off('started', onStarted);
      resolve(file);
    };
    store.on('started', onStarted);
  });
}

function waitForManifest(store: SegmentStore, timeoutMs: number): Promise<PublishedManifest | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => done(undefined), timeoutMs);
    const done = (body: PublishedManifest | undefined): void => {
      clearTimeout(timer);
      store.off('manifest', done);
      resolve(body);
    };
    store.on('manifest', done);
  });
}
