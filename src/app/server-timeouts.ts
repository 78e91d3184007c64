import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';
import { Server as TlsServer } from 'node:tls';

/** The `server` config keys that bound a client's time. */
export interface ServerTimeouts {
  /** Time a client has to send a whole request, headers and body, ms. */
  readonly requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this long, ms. */
  readonly keepAliveTimeoutMs: number;
}

/**
 * Bounds how long a client may take to send a request (slowloris: headers one byte at a time), and
 * how long an idle keep-alive connection stays open, on a Node HTTP or HTTPS server before it listens.
 * Node's `requestTimeout` and `headersTimeout` cover receiving the request only: once it is in,
 * responses may last as long as they need (a held manifest ~14 s, a chunked segment, SSE for hours),
 * and an upgraded WebSocket leaves the HTTP server's timers altogether.
 * Node checks these timeouts every `connectionsCheckingInterval` (30 s by default, read when the
 * server starts listening): a quarter of the request timeout makes the bound mean what it says.
 */
export function applyServerTimeouts(server: Server, t: ServerTimeouts): void {
  server.requestTimeout = t.requestTimeoutMs;
  // Node requires headersTimeout ≤ requestTimeout; the headers get no longer than the whole request.
  server.headersTimeout = t.requestTimeoutMs;
  server.keepAliveTimeout = t.keepAliveTimeoutMs;
  // A public property Node reads on 'listening', missing from @types/node's Server.
  (server as Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval = Math.min(
    30_000,
    Math.max(250, Math.floor(t.requestTimeoutMs / 4)),
  );
  // Node's request timers start with a request's first byte: a connection that sends nothing at all
  // would stay open for ever (one descriptor each, no limit). It gets requestTimeoutMs to begin; once
  // a request comes, Node's own timers (and keepAliveTimeout between requests) take over. Over TLS the
  // handshake is bounded by the server's handshakeTimeout, then the same rule applies.
  const event = server instanceof TlsServer ? 'secureConnection' : 'connection';
  server.on(event, (socket: Socket) => socket.setTimeout(t.requestTimeoutMs));
  server.on('request', (req: IncomingMessage) => req.socket.setTimeout(0));
}
