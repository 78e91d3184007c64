import type { FastifyPluginAsync } from 'fastify';
import type { AccessControl } from '../contracts/access.ts';
import type { ManifestView } from '../contracts/segments.ts';
import { createError } from '../errors/errors.ts';
import { httpErrorHandler } from '../errors/http-error-handler.ts';
import { CmafRetimer } from '../live/cmaf-retime.ts';
import type { LiveFile } from '../live/live-file.ts';
import type { ResolvedSegment } from '../live/presentation.ts';
import { manifestFileName, sameSegment } from '../live/segment-store.ts';
import { credentialOf } from '../util/credential.ts';
import { isValidStreamName } from '../util/stream-name.ts';
import { type DeliveryCounters, deliverFile } from './deliver-file.ts';
import { HeldRequests } from './held-requests.ts';
import { ViewerCount } from './viewer-count.ts';

/** What the origin serves of a stream: its MPD and, per session path, that session's segments (live/presentation.ts). */
export interface OriginPresentation {
  /** The MPD for a viewer; `undefined` before the first Period. */
  render(view: ManifestView): string | undefined;
  /** Where the segment `name` served under `/live/<stream>/<path>/` is; `undefined` for none. */
  resolve(path: string, name: string): ResolvedSegment | undefined;
  /**
   * `period`: a Period was added (a held manifest request can be answered); `continued`: a returning
   * publisher continues a Period (a held segment request resolves again).
   */
  on(event: 'period' | 'continued', listener: () => void): unknown;
  off(event: 'period' | 'continued', listener: () => void): unknown;
  /** While a session's first Period is being measured: the longest that can still take, ms. */
  startsWithinMs?(): number | undefined;
}

/** Time after a first Period's settle time for its MPD to be made and rendered, ms. */
const periodStartMarginMs = 1500;

/** What the origin needs from the rest of the server: a stream's presentation and its counters. */
export interface PresentationLookup {
  presentation(stream: string): { presentation: OriginPresentation; counters: DeliveryCounters } | undefined;
}

export interface OriginPluginOptions {
  readonly lookup: PresentationLookup;
  /**
   * How long a request for the next not-yet-started media segment is held before 404, ms (≈ 1.5
   * segment durations); a request further ahead, up to the wall-clock edge, waits that long per segment.
   */
  readonly holdSegmentMs: number;
  /** How long a manifest or init request for a live stream that has not produced one yet is held, ms. */
  readonly holdStartMs: number;
  /** Per-viewer response backlog bound, bytes. */
  readonly maxViewerBufferBytes: number;
  /**
   * Told of every viewer request of a stream (manifest, segment), so a source that runs only while it
   * is watched (a pulled camera with `onDemand`) starts, or stays up. Returns a promise while the
   * stream is starting, resolved once it is live or gave up; the manifest request waits for it.
   */
  readonly onViewer?: ((stream: string) => Promise<void> | undefined) | undefined;
  /**
   * How long a manifest request is held, in all, for a stream `onViewer` says is starting, ms (a
   * camera connects, then two of its GOPs are measured). Default: `holdStartMs`.
   */
  readonly holdOnDemandMs?: number | undefined;
  /**
   * Who may watch (README "Security"): address rules on every request, play tokens where
   * `auth.playTokens` asks for them. Without it, anyone may.
   */
  readonly access?: AccessControl | undefined;
  /** Requests held waiting for content at once, all streams; more are answered 429 (`limits.maxHeldRequests`). Default: no limit. */
  readonly maxHeldRequests?: number | undefined;
  /** Client addresses per stream within 10 s; a new one beyond is answered 429 (`limits.maxViewersPerStream`). Default: no limit. */
  readonly maxViewersPerStream?: number | undefined;
  /**
   * The base URL (`https://host:port`) of absolute URLs in the MPD (UTCTiming) for a request. Default:
   * the request's own protocol and Host.
   */
  readonly baseUrlFor?: ((req: { protocol: string; host: string }) => string) | undefined;
}

const corsHeaders = { 'Access-Control-Allow-Origin': '*', 'Timing-Allow-Origin': '*' };
const segmentHeaders = {
  ...corsHeaders,
  'Content-Type': 'video/mp4',
  // Segment URLs carry their session's path: a republish never serves other bytes under the same URL.
  'Cache-Control': 'public, max-age=31536000, immutable',
};

/**
 * Live delivery: `GET /live/:stream/manifest.mpd`, `GET /live/:stream/<session path>/<segment>`, `GET /time`.
 * Manifests are served whole with `Cache-Control: no-cache` (DASH-IF IOP live); segments immutable.
 * A request for the next media segment is held until the packager starts it (instead of a 404),
 * which is how a low-latency player asks for a segment before it is complete (ISO/IEC 23009-1
 * `availabilityTimeOffset`, chunked transfer).
 */
export const originPlugin: FastifyPluginAsync<OriginPluginOptions> = async (app, opts) => {
  app.setErrorHandler(httpErrorHandler);
  const { access } = opts;
  if (access) {
    app.addHook('onRequest', async (req) => {
      if (req.url.startsWith('/live/')) access.checkAddress('play', req.ip);
    });
  }
  /** The play token this request carries, checked when the stream needs one; the query that passes it on. */
  const authorize = async (
    stream: string,
    req: { ip: string; url: string; headers: Record<string, string | string[] | undefined> },
  ): Promise<string | undefined> => {
    if (!access?.playTokenRequired(stream)) return undefined;
    const credential = credentialOf(req.url, req.headers);
    await access.authorizePlay(stream, req.ip, credential);
    return credential && `token=${encodeURIComponent(credential)}`;
  };
  const held = new HeldRequests(opts.maxHeldRequests ?? Number.POSITIVE_INFINITY);
  const viewers =
    opts.maxViewersPerStream === undefined ? undefined : new ViewerCount(opts.maxViewersPerStream);
  /** @throws DashrelayError `DR_ERR_LIMIT_VIEWERS` for a new address at a stream with its maximum. */
  const admitViewer = (stream: string, address: string): void => {
    if (viewers && !viewers.admit(stream, address))
      throw createError('DR_ERR_LIMIT_VIEWERS', stream, viewers.max);
  };
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
    const receivedAtMs = Date.now();
    let holdMs = opts.holdStartMs;
    const { stream, file: name } = req.params;
    const valid = isValidStreamName(stream);
    const segmentQuery = valid ? await authorize(stream, req) : undefined;
    if (valid) admitViewer(stream, req.ip);
    const onViewer = valid && name === manifestFileName ? opts.onViewer : undefined;
    // A held request is a viewer for as long as it is held: an on-demand source must not stop while
    // its first Period (two of the camera's GOPs) is being measured for it.
    const watching = onViewer && setInterval(() => void onViewer(stream), 1000);
    let mpd: string | undefined;
    let release: (() => void) | undefined;
    try {
      const starting = onViewer?.(stream);
      if (starting) {
        release ??= held.hold(reply.raw);
        holdMs = Math.max(opts.holdStartMs, opts.holdOnDemandMs ?? 0);
        await settledWithin(starting, holdMs);
      }
      const live = valid ? opts.lookup.presentation(stream) : undefined;
      if (!live) throw createError('DR_ERR_STREAM_NOT_FOUND', stream);
      if (name !== manifestFileName) throw createError('DR_ERR_SEGMENT_NOT_FOUND', name);
      const base = opts.baseUrlFor?.(req) ?? `${req.protocol}://${req.host}`;
      const view = { timingUrl: `${base}/time`, segmentQuery };
      const { presentation } = live;
      // A camera's or encoder's own GOPs are measured before the first Period (two of them, up to
      // 12 s): a viewer who came early is held that long rather than told 404.
      const settling = presentation.startsWithinMs?.();
      if (settling !== undefined) {
        holdMs = Math.max(holdMs, Date.now() - receivedAtMs + settling + periodStartMarginMs);
      }
      const leftMs = Math.max(0, receivedAtMs + holdMs - Date.now());
      mpd = presentation.render(view);
      if (mpd === undefined) {
        if (leftMs > 0) release ??= held.hold(reply.raw);
        mpd = await waitForPeriod(presentation, leftMs, view);
      }
    } finally {
      clearInterval(watching);
      release?.();
    }
    if (mpd === undefined) throw createError('DR_ERR_SEGMENT_NOT_FOUND', name);
    void onViewer?.(stream);
    reply.headers(corsHeaders).header('Cache-Control', 'no-cache').type('application/dash+xml').send(mpd);
    return reply;
  });

  app.get<{ Params: { stream: string; path: string; file: string } }>(
    '/live/:stream/:path/:file',
    async (req, reply) => {
      const { stream, path, file: name } = req.params;
      const valid = isValidStreamName(stream);
      if (valid) await authorize(stream, req);
      if (valid) admitViewer(stream, req.ip);
      const onViewer = valid ? opts.onViewer : undefined;
      if (onViewer) {
        void onViewer(stream);
        // A segment held until it starts, then streamed as it is made, is watched until it ends.
        reply.raw.once('close', () => void onViewer(stream));
      }
      const live = valid ? opts.lookup.presentation(stream) : undefined;
      if (!live) throw createError('DR_ERR_STREAM_NOT_FOUND', stream);
      let segment = live.presentation.resolve(path, name);
      if (!segment) throw createError('DR_ERR_SEGMENT_NOT_FOUND', `${path}/${name}`);
      let file = segment.store.find(segment.kind);
      if (!file) {
        const holdMs = holdTimeFor(segment, opts);
        if (holdMs > 0) {
          const release = held.hold(reply.raw);
          try {
            ({ file, segment } = await waitForSegment(live.presentation, path, name, segment, holdMs));
          } finally {
            release();
          }
        }
      }
      if (!segment) throw createError('DR_ERR_SEGMENT_NOT_FOUND', `${path}/${name}`);
      if (!file || file.aborted) throw createError('DR_ERR_SEGMENT_NOT_FOUND', `${path}/${name}`);
      // A returning publisher's segments continue the Period of the one before: shift their tfdt.
      const shift = segment.decodeTimeOffsetTicks;
      const retime = shift !== 0 ? () => new CmafRetimer({ decodeTimeTicks: shift }) : undefined;
      reply.hijack();
      deliverFile(file, reply.raw, segmentHeaders, opts.maxViewerBufferBytes, live.counters, retime);
      return reply;
    },
  );
};

/** Media segments further ahead than this are not waited for, whatever the wall clock says. */
const maxSegmentsAhead = 8;

/**
 * How long to hold a request for a segment that has not started: the next ones (a player asks for a
 * segment at its start), and anything up to the wall-clock edge the MPD announced, which a publisher
 * slower than real time reaches late. Nothing once the session ended, nothing for the past.
 */
function holdTimeFor(segment: ResolvedSegment, opts: OriginPluginOptions): number {
  const { kind, announcedAtMs } = segment;
  if (segment.ended) return 0;
  // The next slot after a session whose publisher may come back: wait for it (players such as VLC end
  // the stream at a 404); a returning publisher fills it with the last segment again, or its own.
  const newestOwn =
    kind.kind === 'media' ? segment.store.newestSegmentNumber(kind.representation) : undefined;
  if (
    segment.awaitingUntilMs !== undefined &&
    kind.kind === 'media' &&
    kind.number === (newestOwn ?? 0) + 1
  ) {
    return Math.max(0, segment.awaitingUntilMs - Date.now());
  }
  if (kind.kind === 'init') return opts.holdStartMs;
  const newest = segment.store.newestSegmentNumber(kind.representation);
  if (newest === undefined) return kind.number <= 3 ? opts.holdStartMs : 0;
  const ahead = kind.number - newest;
  if (ahead <= 0 || ahead > maxSegmentsAhead) return 0;
  const announced = announcedAtMs !== undefined && announcedAtMs <= Date.now() + opts.holdSegmentMs;
  return ahead <= 2 || announced ? ahead * opts.holdSegmentMs : 0;
}

/**
 * Waits up to `timeoutMs` for a segment to start in its store; when a returning publisher continues
 * the Period meanwhile, resolves the request again (it may now be that publisher's segment, or the
 * last one repeated, or nothing).
 */
function waitForSegment(
  presentation: OriginPresentation,
  path: string,
  name: string,
  first: ResolvedSegment,
  timeoutMs: number,
): Promise<{ file: LiveFile | undefined; segment: ResolvedSegment | undefined }> {
  return new Promise((resolve) => {
    let segment: ResolvedSegment | undefined = first;
    const onStarted = (file: LiveFile): void => {
      if (segment && sameSegment(file.kind, segment.kind)) done(file);
    };
    const onContinued = (): void => {
      segment?.store.off('started', onStarted);
      segment = presentation.resolve(path, name);
      const file = segment?.store.find(segment.kind);
      if (!segment || file) done(file);
      else segment.store.on('started', onStarted);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    const done = (file: LiveFile | undefined): void => {
      clearTimeout(timer);
      segment?.store.off('started', onStarted);
      presentation.off('continued', onContinued);
      resolve({ file, segment });
    };
    first.store.on('started', onStarted);
    presentation.on('continued', onContinued);
  });
}

/** Resolves when `promise` settles or after `timeoutMs`, whichever comes first. */
function settledWithin(promise: Promise<unknown>, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    const done = (): void => {
      clearTimeout(timer);
      resolve();
    };
    promise.then(done, done);
  });
}

function waitForPeriod(
  presentation: OriginPresentation,
  timeoutMs: number,
  view: { timingUrl: string },
): Promise<string | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => done(), timeoutMs);
    const done = (): void => {
      clearTimeout(timer);
      presentation.off('period', done);
      resolve(presentation.render(view));
    };
    presentation.on('period', done);
  });
}
