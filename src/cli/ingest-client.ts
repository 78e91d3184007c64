import WebSocket from 'ws';

/** Server → publisher messages (docs/protocol.md), as the client reads them. */
export type IngestServerMessage =
  | { type: 'ready'; viewerUrl: string; manifestUrl: string; sessionId: string }
  | { type: 'status'; bytesReceived: number; bitrateBps: number; packager: string }
  | { type: 'warning'; code: string; message: string }
  | { type: 'error'; code: string; message: string };

export interface IngestClientEvents {
  /** The server accepted the hello: send media now. */
  onReady(msg: Extract<IngestServerMessage, { type: 'ready' }>): void;
  onStatus?(msg: Extract<IngestServerMessage, { type: 'status' }>): void;
  onWarning?(msg: Extract<IngestServerMessage, { type: 'warning' }>): void;
  /** A fatal `error` message; the close follows. */
  onError?(msg: Extract<IngestServerMessage, { type: 'error' }>): void;
  /** A text message that is not one of the above (a newer or broken server); it is ignored. */
  onUnknownMessage?(text: string): void;
  /** The socket closed; `code` per RFC 6455 §7.4 (1000 done, 4000–4999 dashrelay errors). */
  onClose(code: number, reason: string): void;
  /** The socket could not be opened or broke. */
  onSocketError(err: Error): void;
}

/** Above this much unsent data, the source is paused until the socket drains to `resumeBelowBytes`. */
export interface IngestClientLimits {
  /** Default 4 MiB. */
  readonly pauseAboveBytes?: number;
  /** Default 1 MiB. */
  readonly resumeBelowBytes?: number;
  /** The opening handshake must finish within this, ms. Default 10 000. */
  readonly connectTimeoutMs?: number;
  /**
   * The connection counts as dead when nothing (message or pong to our pings) came back for this long,
   * ms: a server behind a vanished network sends no close. Default 0: never.
   */
  readonly silenceTimeoutMs?: number;
  /** A publish token or stream key, sent as `Authorization: Bearer` on the upgrade (never in the URL, so no log has it). */
  readonly token?: string | undefined;
}

/**
 * The publisher side of dashrelay's WebSocket ingest: sends `hello`, reports the server's messages
 * (parsed defensively: a bad message never throws), and sends media with explicit backpressure on
 * `bufferedAmount`. The same protocol as `static/capture/ingest-client.js` in the capture page.
 */
export class IngestClient {
  private readonly ws: WebSocket;
  private drainTimer: NodeJS.Timeout | undefined;
  private livenessTimer: NodeJS.Timeout | undefined;
  private lastHeardAt = Date.now();

  constructor(
    readonly url: string,
    hello: Record<string, unknown>,
    private readonly events: IngestClientEvents,
    private readonly limits: IngestClientLimits = {},
  ) {
    this.ws = new WebSocket(url, {
      handshakeTimeout: limits.connectTimeoutMs ?? 10_000,
      headers: limits.token ? { authorization: `Bearer ${limits.token}` } : {},
    });
    this.ws.binaryType = 'nodebuffer';
    this.ws.on('open', () => {
      this.ws.send(JSON.stringify({ type: 'hello', ...hello }));
      this.watchLiveness();
    });
    this.ws.on('message', (data, isBinary) => {
      this.lastHeardAt = Date.now();
      if (!isBinary) this.dispatch(data.toString());
    });
    this.ws.on('pong', () => {
      this.lastHeardAt = Date.now();
    });
    this.ws.on('close', (code, reason) => {
      clearInterval(this.drainTimer);
      clearInterval(this.livenessTimer);
      events.onClose(code, reason.toString());
    });
    this.ws.on('error', (err) => events.onSocketError(err));
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  get bufferedBytes(): number {
    return this.ws.bufferedAmount;
  }

  /**
   * Sends one chunk of media. When the socket's backlog passes the limit, `pause` is called and
   * `resume` once it drained, so the caller stops reading its source instead of buffering without bound.
   */
  send(chunk: Buffer, pause: () => void, resume: () => void): void {
    if (!this.open) return;
    this.ws.send(chunk);
    if (this.drainTimer || this.ws.bufferedAmount <= (this.limits.pauseAboveBytes ?? 4 * 1024 * 1024)) return;
    pause();
    // ws has no 'drain' event for its send buffer; bufferedAmount is polled instead.
    this.drainTimer = setInterval(() => {
      if (this.ws.bufferedAmount < (this.limits.resumeBelowBytes ?? 1024 * 1024) || !this.open) {
        clearInterval(this.drainTimer);
        this.drainTimer = undefined;
        resume();
      }
    }, 20);
  }

  /** Resolves once everything sent has left the socket (or it closed). */
  flushed(): Promise<void> {
    return new Promise((resolve) => {
      const check = setInterval(() => {
        if (this.ws.bufferedAmount === 0 || !this.open) {
          clearInterval(check);
          resolve();
        }
      }, 20);
    });
  }

  /** Drops the connection without a closing handshake (close code 1006 follows). */
  terminate(): void {
    this.ws.terminate();
  }

  private watchLiveness(): void {
    const timeout = this.limits.silenceTimeoutMs ?? 0;
    if (timeout <= 0) return;
    this.lastHeardAt = Date.now();
    this.livenessTimer = setInterval(
      () => {
        if (Date.now() - this.lastHeardAt > timeout) {
          clearInterval(this.livenessTimer);
          this.silent = true;
          this.ws.terminate();
          return;
        }
        if (this.open) this.ws.ping();
      },
      Math.max(50, Math.floor(timeout / 4)),
    );
  }

  /** The connection was dropped because the server fell silent (see `silenceTimeoutMs`). */
  silent = false;

  /** Ends the session (close 1000). */
  close(reason = 'publisher done'): void {
    if (this.open) this.ws.close(1000, reason);
    else if (this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
  }

  private dispatch(text: string): void {
    const msg = parseServerMessage(text);
    if (!msg) this.events.onUnknownMessage?.(text);
    else if (msg.type === 'ready') this.events.onReady(msg);
    else if (msg.type === 'status') this.events.onStatus?.(msg);
    else if (msg.type === 'warning') this.events.onWarning?.(msg);
    else this.events.onError?.(msg);
  }
}

/** A server message, or `undefined` for text that is not JSON or not a known message. */
export function parseServerMessage(text: string): IngestServerMessage | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const m = value as Record<string, unknown>;
  const str = (k: string): string => (typeof m[k] === 'string' ? (m[k] as string) : '');
  const num = (k: string): number => (typeof m[k] === 'number' ? (m[k] as number) : 0);
  switch (m.type) {
    case 'ready':
      return {
        type: 'ready',
        viewerUrl: str('viewerUrl'),
        manifestUrl: str('manifestUrl'),
        sessionId: str('sessionId'),
      };
    case 'status':
      return {
        type: 'status',
        bytesReceived: num('bytesReceived'),
        bitrateBps: num('bitrateBps'),
        packager: str('packager'),
      };
    case 'warning':
    case 'error':
      return { type: m.type, code: str('code'), message: str('message') };
    default:
      return undefined;
  }
}
