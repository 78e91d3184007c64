import type { FastifyPluginAsync } from 'fastify';
import type { WebSocket } from 'ws';
import type { AccessControl, PublishAdmission } from '../../contracts/access.ts';
import type { PublishRequest } from '../../contracts/sink.ts';
import { createError, DashrelayError, type ErrorCode, toDashrelayError } from '../../errors/errors.ts';
import { credentialOf } from '../../util/credential.ts';
import { isValidStreamName } from '../../util/stream-name.ts';
import { parseControlMessage, type ServerMessage, startsWithEbmlHeader, startsWithFtyp } from './messages.ts';
import { readMimeType } from './mime-type.ts';

/** What ingest needs of a session (implemented by core's Session). */
export interface IngestSession {
  readonly info: { readonly sessionId: string };
  readonly bytesReceived: number;
  /** Whether the session has ended (or is ending). */
  readonly ended: boolean;
  /** Whether a sink holds the publisher back (between `pause` and `resume`). */
  readonly paused: boolean;
  readonly state: Readonly<Record<string, string>>;
  push(chunk: Buffer): void;
  bitrateBps(): number;
  end(): Promise<void>;
  on(event: 'pause' | 'resume' | 'ended', listener: () => void): unknown;
  on(event: 'warning', listener: (w: { code: ErrorCode; message: string }) => void): unknown;
  on(event: 'fatal', listener: (err: Error) => void): unknown;
}

export interface IngestPluginOptions {
  /**
   * Opens a session for a validated hello; `archive` is the archive's path relative to the output
   * directory, for the `ready` message. Throws `DR_ERR_INGEST_STREAM_BUSY` if the name is taken.
   */
  readonly openSession: (request: PublishRequest) => Promise<{ session: IngestSession; archive: string }>;
  /** Time allowed between connect and `hello`, ms. Default 10 000. */
  readonly helloTimeoutMs?: number;
  /**
   * A publisher that sends no media for this long after `ready`, or between two messages, is closed
   * with `DR_ERR_INGEST_IDLE` so its name is free (a half-open connection, a tab that died), ms. Time
   * when the server itself holds the publisher back (backpressure) does not count. Default 10 000.
   */
  readonly idleTimeoutMs?: number;
  /** Interval of `status` messages, ms. Default 1000. */
  readonly statusIntervalMs?: number;
  /** Who may publish (README "Security"); without it, anyone may. */
  readonly access?: AccessControl | undefined;
}

/**
 * WebSocket ingest at `/ingest/:stream` (docs/protocol.md). Binary messages are the container bytes;
 * they are handed to the session in order. When a sink pushes back, the socket is paused (ws
 * `pause()`: TCP flow control slows the publisher) until every sink drains.
 */
export const wsIngestPlugin: FastifyPluginAsync<IngestPluginOptions> = async (app, opts) => {
  app.get<{ Params: { stream: string } }>('/ingest/:stream', { websocket: true }, (socket, req) => {
    const { stream } = req.params;
    const log = req.log.child({ stream });
    const address = req.ip;
    try {
      opts.access?.checkAddress('publish', address);
    } catch (err) {
      fail(socket, err as Error);
      return;
    }
    if (!isValidStreamName(stream)) {
      fail(socket, createError('DR_ERR_INGEST_STREAM_NAME', JSON.stringify(stream.slice(0, 80))));
      return;
    }
    // Checked while the publisher sends its hello; the session opens only once it is let in.
    let admission: PublishAdmission | undefined;
    let closed = false;
    const admitted: Promise<boolean> = opts.access
      ? opts.access
          .admitPublisher({
            stream,
            address,
            credential: credentialOf(req.url, req.headers),
            origin: req.headers.origin,
            ownOrigin: `${req.protocol}://${req.host}`,
          })
          .then(
            (a) => {
              if (closed) a.release();
              else admission = a;
              return !closed;
            },
            (err: Error) => {
              fail(socket, err);
              return false;
            },
          )
      : Promise.resolve(true);
    let session: IngestSession | undefined;
    let opening = false;
    /** Media frames that arrived in the same read as the hello, before the session existed. */
    const pending: Buffer[] = [];
    /** Bytes before the container's header could be checked; `undefined` once it was. */
    let head: Buffer | undefined = Buffer.alloc(0);
    let container: PublishRequest['media']['container'] = 'webm';
    let statusTimer: NodeJS.Timeout | undefined;
    const idleMs = opts.idleTimeoutMs ?? 10_000;
    let idleTimer: NodeJS.Timeout | undefined;
    /** (Re)starts the idle watch; `false` stops it while the session holds the publisher back. */
    const watchIdle = (on = true): void => {
      clearTimeout(idleTimer);
      idleTimer = on
        ? setTimeout(() => fail(socket, createError('DR_ERR_INGEST_IDLE', idleMs / 1000)), idleMs)
        : undefined;
    };
    const helloTimer = setTimeout(
      () => fail(socket, createError('DR_ERR_INGEST_NO_HELLO')),
      opts.helloTimeoutMs ?? 10_000,
    );

    socket.on('message', (data, isBinary) => {
      // A refused publisher's hello can arrive while its socket closes: pausing it then would stall the close.
      if (socket.readyState !== socket.OPEN) return;
      if (!isBinary) {
        if (session || opening) return fail(socket, createError('DR_ERR_INGEST_HELLO_TWICE'));
        const parsed = parseControlMessage(data.toString());
        if ('error' in parsed) return fail(socket, createError('DR_ERR_INGEST_BAD_MESSAGE', parsed.error));
        const reading = readMimeType(parsed.hello.mimeType);
        if (!('media' in reading)) {
          const quoted = JSON.stringify(parsed.hello.mimeType.slice(0, 200));
          return fail(
            socket,
            reading.refused === 'container'
              ? createError('DR_ERR_INGEST_UNSUPPORTED_MIME', quoted)
              : createError(
                  'DR_ERR_INGEST_UNSUPPORTED_CODEC',
                  reading.refused === 'codec'
                    ? `codec ${JSON.stringify(reading.codec.slice(0, 40))}`
                    : 'no video codec',
                  quoted,
                ),
          );
        }
        const { media } = reading;
        clearTimeout(helloTimer);
        container = media.container;
        opening = true;
        socket.pause(); // media bytes that race the session's creation wait in the kernel, in order
        const { mimeType, keyframeIntervalMs, width, height, fps, client } = parsed.hello;
        void start({
          stream,
          protocol: 'websocket',
          media,
          mimeType,
          keyframeIntervalMs,
          width,
          height,
          fps,
          client,
          takesOver: true,
        });
        return;
      }
      const chunk = toBuffer(data);
      // ws delivers every frame of one TCP read at once, pause() or not: media right behind the hello waits here.
      if (opening && !session) return void pending.push(chunk);
      if (!session) return fail(socket, createError('DR_ERR_INGEST_NO_HELLO'));
      if (!session.paused) watchIdle();
      pushMedia(session, chunk);
    });

    function pushMedia(s: IngestSession, chunk: Buffer): void {
      if (head !== undefined) {
        // Chrome's first MediaRecorder blob can be a single byte: judge the header on 4 (EBML) or 8
        // (an MP4 box header) bytes, however split.
        head = Buffer.concat([head, chunk]);
        const mp4 = container === 'mp4';
        if (head.length < (mp4 ? 8 : 4)) return;
        if (!(mp4 ? startsWithFtyp(head) : startsWithEbmlHeader(head))) {
          fail(socket, createError('DR_ERR_INGEST_NOT_MEDIA'));
          return;
        }
        const first = head;
        head = undefined;
        s.push(first);
        return;
      }
      s.push(chunk);
    }

    socket.on('close', (code, reason) => {
      closed = true;
      admission?.release();
      clearTimeout(helloTimer);
      clearInterval(statusTimer);
      watchIdle(false);
      log.info({ code, reason: reason.toString() }, 'publisher disconnected');
      void session?.end();
    });
    socket.on('error', (err) => log.warn({ err }, 'publisher socket error'));

    async function start(request: PublishRequest): Promise<void> {
      let archive: string;
      if (!(await admitted)) return;
      try {
        const opened = await opts.openSession(request);
        session = opened.session;
        archive = opened.archive;
      } catch (err) {
        opening = false;
        const e = toDashrelayError(err, 'DR_ERR_SESSION_START');
        if (e !== err) log.error({ err }, 'could not open session');
        fail(socket, e);
        return;
      }
      const s = session;
      if (socket.readyState !== socket.OPEN) {
        void s.end();
        return;
      }
      // Ended while it was being set up: only a publisher taking the name over does that.
      if (s.ended) {
        fail(socket, createError('DR_ERR_INGEST_TAKEN_OVER', stream));
        return;
      }
      s.on('pause', () => {
        watchIdle(false);
        socket.pause();
      });
      s.on('resume', () => {
        watchIdle();
        socket.resume();
      });
      s.on('warning', (w) => send(socket, { type: 'warning', ...w }));
      s.on('fatal', (err) => {
        if (!(err instanceof DashrelayError)) log.error({ err }, 'session failed');
        fail(socket, err);
      });
      s.on('ended', () => {
        clearInterval(statusTimer);
        watchIdle(false);
      });
      statusTimer = setInterval(
        () =>
          send(socket, {
            type: 'status',
            bytesReceived: s.bytesReceived,
            bitrateBps: s.bitrateBps(),
            packager: s.state.packager ?? 'starting',
          }),
        opts.statusIntervalMs ?? 1000,
      );
      log.info(
        { mimeType: request.mimeType, client: request.client, remoteAddress: address },
        'publisher connected',
      );
      send(socket, {
        type: 'ready',
        stream,
        sessionId: s.info.sessionId,
        archive,
        viewerUrl: `/viewer.html?stream=${stream}`,
        manifestUrl: `/live/${stream}/manifest.mpd`,
      });
      for (const chunk of pending.splice(0)) {
        if (socket.readyState === socket.OPEN) pushMedia(s, chunk);
      }
      if (!s.paused) {
        watchIdle();
        socket.resume();
      }
    }
  });
};

function send(socket: WebSocket, msg: ServerMessage): void {
  if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(msg));
}

/**
 * Tells every connected publisher the server is going away (`DR_ERR_SERVER_SHUTDOWN`, close 1001).
 * Meant as @fastify/websocket's `preClose`, whose default closes sockets without a code or reason.
 */
export function closeAllPublishers(clients: Iterable<WebSocket>): void {
  const err = createError('DR_ERR_SERVER_SHUTDOWN');
  for (const socket of clients) fail(socket, err);
}

/** Tells the publisher what went wrong, then closes with the error's close code. */
function fail(socket: WebSocket, err: Error): void {
  // Only catalogue errors say what the publisher did; anything else is ours, and says so.
  const e = toDashrelayError(err);
  send(socket, { type: 'error', code: e.code, message: e.message });
  // A paused socket would not read the peer's close frame, leaving the handshake to time out.
  socket.resume();
  if (socket.readyState === socket.OPEN || socket.readyState === socket.CONNECTING) {
    // Close reasons are limited to 123 bytes (RFC 6455 §5.5); the full message went in the error above.
    socket.close(e.closeCode ?? 4000, Buffer.from(e.message).subarray(0, 120).toString());
  }
}

function toBuffer(data: Buffer | ArrayBuffer | Buffer[]): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
