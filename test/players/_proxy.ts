import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the proxy forwarded. */
export interface ProxiedRequest {
  /** Wall clock when the request arrived, ms. */
  readonly atMs: number;
  readonly method: string;
  /** Path and query. */
  readonly url: string;
  /** Upstream status; 0 when the upstream could not be reached or the client left first. */
  status: number;
  bytes: number;
  /** Request → last byte, ms (-1 while open). */
  durationMs: number;
}

export interface RequestCounts {
  requests: number;
  notFound: number;
  /** Statuses other than 2xx, 304 and 404 (and failed upstream requests, as 0). */
  otherErrors: number;
  manifestRequests: number;
  segmentRequests: number;
  /** The most times one segment URL was requested: a player looping on a segment shows here. */
  maxRepeatsOfOneUrl: number;
  maxRepeatedUrl: string;
  /** The most requests in one wall-clock second. */
  peakRequestsPerSecond: number;
  /** Responses by status (0: no response from the server). */
  statuses: Record<string, number>;
  /** 404s by URL (the first 20 URLs). */
  notFoundUrls: Record<string, number>;
}

const hopByHop = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
]);

function forwardHeaders(headers: IncomingMessage['headers']): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined && !hopByHop.has(k)) out[k] = v;
  return out;
}

/**
 * A counting HTTP proxy in front of the server: players talk to it, it forwards every request (keeping
 * the Host header, so the MPD's UTCTiming URL points back at the proxy) and streams the response back
 * as it arrives. Bodies are never buffered: a segment the origin writes with chunked transfer while the
 * packager is still producing it reaches the player chunk by chunk, as it would without the proxy.
 */
export class CountingProxy {
  readonly log: ProxiedRequest[] = [];
  private server: Server | undefined;
  private readonly target: URL;
  url = '';

  constructor(targetUrl: string) {
    this.target = new URL(targetUrl);
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => this.forward(req, res));
    this.server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', () => resolve()));
    const { port } = this.server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}`;
    return this.url;
  }

  private forward(req: IncomingMessage, res: ServerResponse): void {
    const entry: ProxiedRequest = {
      atMs: Date.now(),
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      status: 0,
      bytes: 0,
      durationMs: -1,
    };
    this.log.push(entry);
    const upstream = request(
      {
        host: this.target.hostname,
        port: this.target.port,
        method: req.method,
        path: req.url,
        headers: forwardHeaders(req.headers),
      },
      (up) => {
        entry.status = up.statusCode ?? 0;
        res.writeHead(up.statusCode ?? 502, up.statusMessage, forwardHeaders(up.headers));
        // Every chunk is written as it comes: no aggregation, and Nagle off for the small ones.
        res.socket?.setNoDelay(true);
        up.on('data', (chunk: Buffer) => {
          entry.bytes += chunk.length;
          res.write(chunk);
        });
        up.on('end', () => {
          entry.durationMs = Date.now() - entry.atMs;
          res.end();
        });
        up.on('error', () => res.destroy());
      },
    );
    upstream.on('error', () => {
      entry.durationMs = Date.now() - entry.atMs;
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  }

  /** Counts of the requests that arrived in [fromMs, toMs). */
  counts(fromMs = 0, toMs = Number.POSITIVE_INFINITY): RequestCounts {
    const entries = this.log.filter((e) => e.atMs >= fromMs && e.atMs < toMs);
    const byUrl = new Map<string, number>();
    const bySecond = new Map<number, number>();
    const notFoundUrls: Record<string, number> = {};
    const statuses: Record<string, number> = {};
    let notFound = 0;
    let otherErrors = 0;
    for (const e of entries) {
      byUrl.set(e.url, (byUrl.get(e.url) ?? 0) + 1);
      statuses[e.status] = (statuses[e.status] ?? 0) + 1;
      const s = Math.floor(e.atMs / 1000);
      bySecond.set(s, (bySecond.get(s) ?? 0) + 1);
      if (e.status === 404) {
        notFound++;
        if (e.url in notFoundUrls || Object.keys(notFoundUrls).length < 20)
          notFoundUrls[e.url] = (notFoundUrls[e.url] ?? 0) + 1;
      } else if (!(e.status >= 200 && e.status < 300) && e.status !== 304) otherErrors++;
    }
    let maxRepeatsOfOneUrl = 0;
    let maxRepeatedUrl = '';
    for (const [u, n] of byUrl) {
      // The manifest, /time and the viewer's API polls are meant to be fetched again and again: a
      // loop shows on segments.
      if (!/\.(m4s|mp4)(\?|$)/.test(u)) continue;
      if (n > maxRepeatsOfOneUrl) [maxRepeatsOfOneUrl, maxRepeatedUrl] = [n, u];
    }
    return {
      requests: entries.length,
      notFound,
      otherErrors,
      manifestRequests: entries.filter((e) => /\.mpd(\?|$)/.test(e.url)).length,
      segmentRequests: entries.filter((e) => /\.(m4s|mp4)(\?|$)/.test(e.url)).length,
      maxRepeatsOfOneUrl,
      maxRepeatedUrl,
      peakRequestsPerSecond: Math.max(0, ...bySecond.values()),
      statuses,
      notFoundUrls,
    };
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
