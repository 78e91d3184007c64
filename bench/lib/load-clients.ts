/**
 * Plain-HTTP load for the fan-out benchmark: N clients that follow the live edge as a low-latency DASH
 * player does (MPD → clock → init segment → next media segment, held by the origin until it starts and
 * streamed chunk by chunk), without decoding anything. `runLoadClients` is the load itself (run it in
 * its own process, bench/lib/load-worker.ts); `startLoadWorker` starts that process from the benchmark.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { setMaxListeners } from 'node:events';
import { Agent, type ClientRequest, request } from 'node:http';
import { resolve } from 'node:path';

export interface LoadOptions {
  /** Origin, e.g. `http://127.0.0.1:8080`. */
  readonly baseUrl: string;
  readonly stream: string;
  readonly clients: number;
  /** Representation followed; 0 is video. */
  readonly representation: number;
  /** Client starts are spread over this long, ms, as viewers do not all join in the same millisecond. */
  readonly rampMs: number;
  /** A request whose socket is idle this long is abandoned and counted as an error, ms. */
  readonly idleTimeoutMs: number;
}

/** Running totals over all clients since they started. */
export interface LoadCounters {
  clients: number;
  /** Clients that have the MPD, the clock and the init segment. */
  clientsStarted: number;
  /** TCP connections opened (one per client unless a connection broke). */
  connections: number;
  /** Body bytes received (all requests). */
  bytes: number;
  /** Media segments read to their end. */
  segmentsCompleted: number;
  /** 404 answers (a segment outside the window or not started in time): the client re-syncs from the clock. */
  notFound: number;
  /** Requests that failed before a response, timed out, or got an unexpected status. */
  errors: number;
  /** Responses whose connection closed before the body ended (how an origin cut-off looks to a client). */
  disconnects: number;
}

/** One media segment as all clients together received it. */
export interface SegmentCompletion {
  n: number;
  /** When the first and the last client had the whole segment, ms since the epoch. */
  firstMs: number;
  lastMs: number;
  /** Clients that read it to its end. */
  count: number;
  /**
   * First completion minus the segment's nominal end on the MPD's timeline (availabilityStartTime +
   * n × duration), ms, on the origin's clock. Constant while segment numbers keep pace with the clock;
   * a steady rise means segments last longer than the SegmentTemplate says.
   */
  lagVsTemplateMs: number;
}

export interface LoadTotals extends LoadCounters {
  segments: SegmentCompletion[];
}

/** What a client needs from the MPD to compute segment numbers. */
export interface LiveTemplate {
  /** Where the newest Period starts: MPD@availabilityStartTime + Period@start, ms since the epoch. */
  availabilityStartMs: number;
  /** Segment duration, ms (SegmentTemplate@duration / @timescale). */
  segmentMs: number;
  startNumber: number;
  /** The session path the segments are under (`3f2a9c1d/`), from SegmentTemplate@media. */
  pathPrefix: string;
}

const attr = (tag: string, name: string): string | undefined =>
  new RegExp(`\\s${name}="([^"]*)"`).exec(tag)?.[1];

/**
 * Reads availabilityStartTime and, in the newest Period, the SegmentTemplate of one Representation (or
 * the first template when the Representation has none of its own). Only the number-based template
 * dashrelay writes is supported.
 */
export function parseLiveTemplate(whole: string, representation: number): LiveTemplate | undefined {
  const mpdTag = /<MPD\b[^>]*>/.exec(whole)?.[0];
  const ast = mpdTag ? attr(mpdTag, 'availabilityStartTime') : undefined;
  const periodAt = whole.lastIndexOf('<Period ');
  const mpd = periodAt >= 0 ? whole.slice(periodAt) : whole;
  const periodStartS = Number(/^PT([\d.]+)S$/.exec(attr(mpd, 'start') ?? 'PT0S')?.[1] ?? 0);
  const repStart = mpd.search(new RegExp(`<Representation\\b[^>]*\\sid="${representation}"`));
  const repBlock = repStart >= 0 ? mpd.slice(repStart, mpd.indexOf('</Representation>', repStart)) : '';
  const template =
    /<SegmentTemplate\b[^>]*>/.exec(repBlock)?.[0] ?? /<SegmentTemplate\b[^>]*>/.exec(mpd)?.[0];
  if (!ast || !template) return undefined;
  const timescale = Number(attr(template, 'timescale') ?? 1);
  const duration = Number(attr(template, 'duration'));
  const startNumber = Number(attr(template, 'startNumber') ?? 1);
  const availabilityStartMs = Date.parse(ast) + periodStartS * 1000;
  const segmentMs = (duration / timescale) * 1000;
  if (!Number.isFinite(availabilityStartMs) || !(segmentMs > 0) || !Number.isInteger(startNumber))
    return undefined;
  const pathPrefix = /^(.*\/)?[^/]*$/.exec(attr(template, 'media') ?? '')?.[1] ?? '';
  return { availabilityStartMs, segmentMs, startNumber, pathPrefix };
}

/** Number of the segment being produced at `serverNowMs` (ms since the epoch on the origin's clock). */
export function liveEdgeNumber(t: LiveTemplate, serverNowMs: number): number {
  return t.startNumber + Math.max(0, Math.floor((serverNowMs - t.availabilityStartMs) / t.segmentMs));
}

/** Nominal end of segment `n` on the origin's clock, ms since the epoch. */
function segmentEndMs(t: LiveTemplate, n: number): number {
  return t.availabilityStartMs + (n - t.startNumber + 1) * t.segmentMs;
}

type GetResult =
  | { kind: 'ok'; status: number; body: Buffer | undefined }
  | { kind: 'reset' }
  | { kind: 'error'; message: string };

/**
 * Runs the clients until `signal` aborts, then resolves with the totals. `counters` is updated live,
 * so the caller can read it at any time.
 */
export async function runLoadClients(
  opts: LoadOptions,
  signal: AbortSignal,
  counters: LoadCounters = emptyCounters(opts.clients),
): Promise<LoadTotals> {
  const base = new URL(opts.baseUrl);
  const inFlight = new Set<ClientRequest>();
  const segments = new Map<number, SegmentCompletion>();
  // Every client's pause listens for the stop: N listeners by design.
  setMaxListeners(0, signal);
  const onAbort = (): void => {
    for (const req of inFlight) req.destroy();
  };
  signal.addEventListener('abort', onAbort, { once: true });

  const pause = (ms: number): Promise<void> =>
    new Promise((r) => {
      if (signal.aborted) return r();
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        r();
      }
      signal.addEventListener('abort', done, { once: true });
    });

  /** GET on the client's own connection; the body is kept only when asked for (MPD, /time). */
  const get = (agent: Agent, path: string, keepBody: boolean): Promise<GetResult> =>
    new Promise((done) => {
      let settled = false;
      const settle = (r: GetResult): void => {
        if (settled) return;
        settled = true;
        inFlight.delete(req);
        done(r);
      };
      const req = request({ agent, host: base.hostname, port: base.port, path, method: 'GET' }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (chunk: Buffer) => {
          counters.bytes += chunk.length;
          if (keepBody) parts.push(chunk);
        });
        res.on('end', () =>
          settle({
            kind: 'ok',
            status: res.statusCode ?? 0,
            body: keepBody ? Buffer.concat(parts) : undefined,
          }),
        );
        res.on('error', () => {});
        res.on('close', () => {
          if (!res.complete) settle({ kind: 'reset' });
        });
      });
      req.once('socket', () => {
        if (!req.reusedSocket) counters.connections++;
      });
      req.setTimeout(opts.idleTimeoutMs, () => req.destroy(new Error('idle timeout')));
      req.on('error', (err) => settle({ kind: 'error', message: err.message }));
      inFlight.add(req);
      req.end();
    });

  const errorsSeen = new Map<string, number>();
  const countError = (what: string): void => {
    if (signal.aborted) return;
    counters.errors++;
    errorsSeen.set(what, (errorsSeen.get(what) ?? 0) + 1);
  };

  const live = `/live/${encodeURIComponent(opts.stream)}`;

  const runClient = async (index: number): Promise<void> => {
    // One connection per client, reused for every request, as a browser's player has.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      await pause((opts.rampMs * index) / Math.max(1, opts.clients));
      let template: LiveTemplate | undefined;
      let clockOffsetMs = 0;
      let hasInit = false;
      while (!signal.aborted && !hasInit) {
        const mpd = await get(agent, `${live}/manifest.mpd`, true);
        if (mpd.kind === 'ok' && mpd.status === 200) template = parseLiveTemplate(String(mpd.body), 0);
        if (!template) {
          if (mpd.kind === 'ok' && mpd.status === 404) counters.notFound++;
          else countError(mpd.kind === 'ok' ? `manifest status ${mpd.status}` : `manifest ${mpd.kind}`);
          await pause(250);
          continue;
        }
        // Same machine, so the offset is near zero; measured anyway, as a player does (UTCTiming).
        const sentAt = Date.now();
        const time = await get(agent, '/time', true);
        if (time.kind === 'ok' && time.status === 200) {
          const server = Date.parse(String(time.body));
          if (Number.isFinite(server)) clockOffsetMs = server - (sentAt + Date.now()) / 2;
        }
        const init = await get(agent, `${live}/${template.pathPrefix}init-${opts.representation}.m4s`, false);
        if (init.kind === 'ok' && init.status === 200) hasInit = true;
        else {
          countError(init.kind === 'ok' ? `init status ${init.status}` : `init ${init.kind}`);
          await pause(250);
        }
      }
      if (!template) return;
      counters.clientsStarted++;
      // As a player does at MPD@minimumUpdatePeriod: the origin keeps SegmentTemplate@duration measured.
      let current: LiveTemplate = template;
      let templateAtMs = Date.now();
      const refreshTemplate = async (): Promise<void> => {
        templateAtMs = Date.now();
        const mpd = await get(agent, `${live}/manifest.mpd`, true);
        if (mpd.kind !== 'ok' || mpd.status !== 200) return;
        current = parseLiveTemplate(String(mpd.body), 0) ?? current;
      };

      const edge = (): number => liveEdgeNumber(current, Date.now() + clockOffsetMs);
      const segPath = (n: number): string =>
        `${live}/${current.pathPrefix}seg-${opts.representation}-${String(n).padStart(5, '0')}.m4s`;
      let n = edge();
      while (!signal.aborted) {
        const r = await get(agent, segPath(n), false);
        if (signal.aborted) break;
        if (r.kind === 'ok' && r.status === 200) {
          counters.segmentsCompleted++;
          const now = Date.now();
          const seen = segments.get(n);
          if (seen) {
            seen.lastMs = now;
            seen.count++;
          } else {
            const lagVsTemplateMs = Math.round(now + clockOffsetMs - segmentEndMs(current, n));
            segments.set(n, { n, firstMs: now, lastMs: now, count: 1, lagVsTemplateMs });
          }
          n++;
          if (now - templateAtMs >= 10_000) await refreshTemplate();
          continue;
        }
        if (r.kind === 'ok' && r.status === 404) counters.notFound++;
        else if (r.kind === 'reset') counters.disconnects++;
        else countError(r.kind === 'ok' ? `segment status ${r.status}` : `segment ${r.message}`);
        // Re-sync from the clock, after a pause so a client that keeps failing does not spin.
        await pause(r.kind === 'ok' && r.status === 404 ? 100 : 250);
        n = edge();
      }
    } finally {
      agent.destroy();
    }
  };

  await Promise.all(Array.from({ length: opts.clients }, (_, i) => runClient(i)));
  signal.removeEventListener('abort', onAbort);
  if (errorsSeen.size) console.error('load-clients: errors', Object.fromEntries(errorsSeen));
  return { ...counters, segments: [...segments.values()].sort((a, b) => a.n - b.n) };
}

export function emptyCounters(clients: number): LoadCounters {
  return {
    clients,
    clientsStarted: 0,
    connections: 0,
    bytes: 0,
    segmentsCompleted: 0,
    notFound: 0,
    errors: 0,
    disconnects: 0,
  };
}

/** Messages between the benchmark and bench/lib/load-worker.ts (IPC). */
export type ToWorker = { type: 'snapshot' } | { type: 'stop' };
export type FromWorker =
  | { type: 'ready'; counters: LoadCounters }
  | { type: 'snapshot'; counters: LoadCounters }
  | { type: 'final'; totals: LoadTotals };

export interface LoadWorker {
  readonly pid: number;
  /** Counters so far. */
  snapshot(): Promise<LoadCounters>;
  /** Stops the clients and the process; resolves with the totals. */
  stop(): Promise<LoadTotals>;
  /** Last resort when the benchmark fails: SIGKILL, no totals. */
  kill(): void;
}

/**
 * Starts the clients in their own Node process, so the load shares no event loop with the origin or the
 * measurement, and resolves once every client has its init segment (or after `readyTimeoutMs`).
 * The process ends by itself after `maxLifetimeMs` or when the benchmark goes away.
 */
export async function startLoadWorker(
  opts: LoadOptions & { readonly maxLifetimeMs: number; readonly readyTimeoutMs: number },
): Promise<LoadWorker> {
  const child: ChildProcess = fork(resolve('bench/lib/load-worker.ts'), [JSON.stringify(opts)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const next = <T extends FromWorker['type']>(type: T, timeoutMs: number) =>
    new Promise<Extract<FromWorker, { type: T }>>((res, rej) => {
      const onMessage = (m: FromWorker): void => {
        if (m.type !== type) return;
        cleanup();
        res(m as Extract<FromWorker, { type: T }>);
      };
      const onExit = (code: number | null): void => {
        cleanup();
        rej(new Error(`load worker exited (${code}) before '${type}'`));
      };
      const timer = setTimeout(() => {
        cleanup();
        rej(new Error(`load worker: no '${type}' within ${timeoutMs} ms`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
      };
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
  const send = (m: ToWorker): void => {
    if (child.connected) child.send(m);
  };

  try {
    await next('ready', opts.readyTimeoutMs + 10_000);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    pid: child.pid ?? 0,
    async snapshot() {
      const reply = next('snapshot', 10_000);
      send({ type: 'snapshot' });
      return (await reply).counters;
    },
    async stop() {
      const reply = next('final', 20_000);
      send({ type: 'stop' });
      const { totals } = await reply;
      await exited;
      return totals;
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
