// @ts-check
// The publisher side of the WebSocket ingest protocol (docs/protocol.md), as `dashrelay publish`
// (src/cli/publish.ts) speaks it from node. No DOM here: the page decides what to show.

/**
 * @typedef {object} HelloMessage
 * @property {'hello'} type
 * @property {string} mimeType what the recorder really records
 * @property {number} [keyframeIntervalMs] promised upper bound
 * @property {number} [width]
 * @property {number} [height]
 * @property {number} [fps]
 * @property {string} [client]
 */
/** @typedef {{ type: 'ready', stream: string, viewerUrl?: string }} ReadyMessage */
/** @typedef {{ type: 'status', bytesReceived?: number, packager?: string }} StatusMessage */
/** @typedef {{ type: 'warning' | 'error', code: string, message: string }} ProblemMessage */
/** @typedef {ReadyMessage | StatusMessage | ProblemMessage} ServerMessage */
/** @typedef {{ code: number, reason: string }} CloseInfo */
/** @typedef {[title: string, text: string, hint: string]} Explanation */

/**
 * @typedef {object} IngestHandlers
 * @property {() => Promise<HelloMessage>} hello called once the socket is open
 * @property {(msg: ReadyMessage) => void} onReady the server accepts media from now on
 * @property {(msg: StatusMessage) => void} onStatus about once a second
 * @property {(msg: ProblemMessage) => void} onWarning
 * @property {(bytesSent: number) => void} onSent after each chunk went to the socket
 * @property {(congested: boolean, backlog: number) => void} onBackpressure
 * @property {(err: Error) => void} onSendFailed a chunk could not be read
 * @property {(close: CloseInfo, why: Explanation) => void} onClose `why` assumes nobody asked for the close
 */

/**
 * Above this much unsent data the uplink is clearly slower than the encoder. A camera cannot wait the
 * way `dashrelay publish` pauses ffmpeg, so the client keeps every byte and only reports it.
 */
export const BACKPRESSURE_HIGH = 8 * 1024 * 1024;
/** Below this the backlog is reported gone; the gap to HIGH keeps the report from flickering. */
export const BACKPRESSURE_LOW = 2 * 1024 * 1024;
/** The server's message limit is 4 MiB; large timeslices at high bitrates could approach it. */
export const MAX_MESSAGE = 1024 * 1024;
/** Chrome's first chunk is a single byte, but the server checks the EBML header in the first message. */
export const FIRST_MESSAGE_MIN = 1024;

/**
 * The ingest URL; a publish token on the page's URL (`capture.html?token=…`) rides along, since a
 * browser's WebSocket cannot send an Authorization header.
 * @param {{ protocol: string, host: string, search?: string }} page the page's location
 * @param {string} stream
 */
export function ingestUrl(page, stream) {
  const scheme = page.protocol === 'https:' ? 'wss:' : 'ws:';
  const token = new URLSearchParams(page.search ?? '').get('token');
  const query = token ? `?token=${encodeURIComponent(token)}` : '';
  return `${scheme}//${page.host}/ingest/${encodeURIComponent(stream)}${query}`;
}

/**
 * A text message from the server, or null for anything that is not one this page knows: a newer
 * server may add messages, and a broken one must not throw inside the socket handler.
 * @param {string} text
 * @returns {ServerMessage | null}
 */
export function parseServerMessage(text) {
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  /** @type {Record<string, unknown>} */
  const m = value;
  /** @param {string} k */
  const str = (k) => (typeof m[k] === 'string' ? m[k] : undefined);
  /** @param {string} k */
  const num = (k) => (typeof m[k] === 'number' ? m[k] : undefined);
  switch (m.type) {
    case 'ready':
      return { type: 'ready', stream: str('stream') ?? '', viewerUrl: str('viewerUrl') };
    case 'status':
      return { type: 'status', bytesReceived: num('bytesReceived'), packager: str('packager') };
    case 'warning':
    case 'error':
      return { type: m.type, code: str('code') ?? '', message: str('message') ?? '' };
    default:
      return null;
  }
}

/** @type {Record<string, string>} */
const serverHints = {
  DR_ERR_INGEST_STREAM_BUSY: 'This name is a camera the server pulls: pick another stream name.',
  DR_ERR_INGEST_TAKEN_OVER:
    'Another page, camera or program now publishes under this name. Press Start to take it back, or pick another name.',
  DR_ERR_INGEST_STREAM_NAME: 'Use 1 to 64 letters, digits, "_" or "-".',
  DR_ERR_AUTH_MISSING:
    'This server needs a publish token: open this page as capture.html?token=<token> (dashrelay token --stream <name> on the server).',
  DR_ERR_AUTH_INVALID: 'The publish token was refused; ask whoever runs the server for a new one.',
  DR_ERR_PUBLISH_CLOSED:
    'This server takes no publishers until it has a secret: start it with --secret and open this page with ?token=<token>.',
  DR_ERR_ORIGIN_DENIED: 'This server does not take publishers from pages on other sites.',
  DR_ERR_INGEST_UNSUPPORTED_MIME:
    'This browser records a format the server does not accept; try Chrome or Edge.',
  DR_ERR_INGEST_NOT_MEDIA: 'This browser records a format the server does not accept; try Chrome or Edge.',
  DR_ERR_ARCHIVE_WRITE: 'The server cannot save the recording (disk full?); tell whoever runs it.',
};

/**
 * Close codes that retrying cannot fix (the same as `dashrelay publish`'s, src/cli/exit-codes.ts):
 * a bad message or name, an unsupported format, a refused credential, address or Origin, and 4010,
 * another publisher took the name over (taking it back would never end).
 */
const PERMANENT_CLOSES = new Set([1000, 4000, 4001, 4002, 4004, 4005, 4010, 4401, 4403]);

/**
 * Whether the page should reconnect by itself after this close: a server restart (1001), a network
 * drop (1006), an idle close (4008), a busy name (4009), a server-side failure (45xx, 1011) heal.
 * @param {number} code
 */
export function isRetryableClose(code) {
  return !PERMANENT_CLOSES.has(code);
}

/** The longest wait between two reconnect attempts, ms. */
export const RETRY_MAX_MS = 30_000;

/**
 * The wait before reconnect attempt `attempt` (0 first): 1 s, 2 s, 4 s … capped at 30 s, each ±20 %
 * so that many pages coming back after a server restart do not all knock at once.
 * @param {number} attempt
 * @param {() => number} random in [0, 1)
 * @returns {number} ms
 */
export function retryDelayMs(attempt, random = Math.random) {
  const base = Math.min(RETRY_MAX_MS, 1000 * 2 ** Math.max(0, attempt));
  return Math.round(base * (0.8 + 0.4 * random()));
}

/**
 * Explains why the ingest socket closed when we did not ask it to.
 * @param {CloseInfo} close
 * @param {{ serverError: ProblemMessage | null, opened: boolean, url: string }} session the last `error`
 *   message (its close carries only a short reason), whether the socket ever opened, where it connected
 * @returns {Explanation}
 */
export function explainClose(close, session) {
  const again = 'Press Start to try again.';
  if (session.serverError) {
    const { code, message } = session.serverError;
    return ['The server stopped the stream', `${message} (${code})`, serverHints[code] ?? again];
  }
  if (close.code >= 4000 && close.code <= 4999) {
    return [
      'The server closed the connection',
      `${close.reason || 'No reason given'} (close code ${close.code}).`,
      again,
    ];
  }
  if (!session.opened) {
    return [
      'Cannot reach the server',
      `Could not connect to ${session.url}.`,
      `Check that the dashrelay server is running and reachable. ${again}`,
    ];
  }
  if (close.code === 1001)
    return ['The server is shutting down', 'It closed the connection.', `Wait. ${again}`];
  const detail = `code ${close.code}${close.reason ? `: ${close.reason}` : ''}`;
  return [
    'Connection lost',
    `The connection to the server closed unexpectedly (${detail}); the server may have stopped or the network dropped.`,
    `Check that the server is running, then ${again.toLowerCase()}`,
  ];
}

/** One publishing connection: connects at once, sends `hello` when open, media after `ready`. */
export class IngestClient {
  /** Whether the socket ever opened, for telling "cannot reach" from "lost". */
  opened = false;
  /** Bytes handed to the socket, including what it still buffers. */
  bytesSent = 0;
  congested = false;
  /** @type {ProblemMessage | null} */
  serverError = null;
  #ws;
  #handlers;
  /** Sends in recording order even though reading each Blob is asynchronous. */
  #chain = Promise.resolve();
  /** @type {Blob[]} chunks held back until the first message is big enough */
  #head = [];
  #headSent = false;

  /**
   * @param {string} url from ingestUrl()
   * @param {IngestHandlers} handlers
   */
  constructor(url, handlers) {
    this.url = url;
    this.#handlers = handlers;
    const ws = new WebSocket(url);
    this.#ws = ws;
    ws.binaryType = 'arraybuffer';
    ws.onopen = async () => {
      this.opened = true;
      const hello = await handlers.hello();
      if (ws.readyState !== WebSocket.OPEN) return;
      ws.send(JSON.stringify(hello));
    };
    ws.onmessage = (ev) => this.#onMessage(ev);
    ws.onclose = (ev) => {
      const close = { code: ev.code, reason: ev.reason };
      handlers.onClose(close, explainClose(close, this));
    };
  }

  /** Bytes sent but not yet on the network. */
  get backlog() {
    return this.#ws.bufferedAmount;
  }

  /** @param {MessageEvent} ev */
  #onMessage(ev) {
    if (typeof ev.data !== 'string') return;
    const msg = parseServerMessage(ev.data);
    if (msg?.type === 'ready') this.#handlers.onReady(msg);
    else if (msg?.type === 'status') this.#handlers.onStatus(msg);
    else if (msg?.type === 'warning') this.#handlers.onWarning(msg);
    else if (msg?.type === 'error') this.serverError = msg;
  }

  /**
   * Queues one recorder chunk.
   * @param {Blob} blob
   * @param {boolean} more whether more chunks will follow (false once recording has ended)
   */
  send(blob, more) {
    if (!blob.size) return;
    if (!this.#headSent) {
      this.#head.push(blob);
      const size = this.#head.reduce((n, b) => n + b.size, 0);
      if (size < FIRST_MESSAGE_MIN && more) return;
      blob = new Blob(this.#head);
      this.#head = [];
      this.#headSent = true;
    }
    this.#chain = this.#chain
      .then(async () => {
        const buf = await blob.arrayBuffer();
        const ws = this.#ws;
        if (ws.readyState !== WebSocket.OPEN) return;
        for (let off = 0; off < buf.byteLength; off += MAX_MESSAGE) {
          ws.send(buf.slice(off, off + MAX_MESSAGE));
        }
        this.bytesSent += buf.byteLength;
        this.#handlers.onSent(this.bytesSent);
        if (ws.bufferedAmount > BACKPRESSURE_HIGH) {
          this.congested = true;
          this.#handlers.onBackpressure(true, ws.bufferedAmount);
        }
      })
      .catch((err) => this.#handlers.onSendFailed(err));
  }

  /**
   * Reports the backlog gone once it is. WebSocket has no "drained" event, so the page calls this
   * from its once-a-second stats tick.
   */
  checkBackpressure() {
    if (this.congested && this.#ws.bufferedAmount < BACKPRESSURE_LOW) {
      this.congested = false;
      this.#handlers.onBackpressure(false, this.#ws.bufferedAmount);
    }
  }

  /** Resolves once every chunk queued so far has been handed to the socket. */
  drained() {
    return this.#chain;
  }

  /**
   * @param {number} code
   * @param {string} reason
   */
  close(code, reason) {
    this.#ws.close(code, reason);
  }
}
