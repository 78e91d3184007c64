import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from '../../contracts/logger.ts';
import { createError } from '../../errors/errors.ts';
import { RtmpConnection, type RtmpConnectionOptions } from './rtmp-connection.ts';

export interface RtmpIngestOptions extends Omit<RtmpConnectionOptions, 'log'> {
  /** Address and TCP port to listen on; port 0 picks a free one. */
  readonly host: string;
  readonly port: number;
  readonly log: Logger;
}

/**
 * RTMP ingest (Adobe RTMP 1.0 over TCP): OBS, ffmpeg `-f flv rtmp://…`, a Raspberry Pi, publish to
 * `rtmp://host:port/<app>/<stream>`; each connection is an {@link RtmpConnection} feeding one session.
 * Many publishers at once, each its own connection and state.
 */
export class RtmpIngest {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly opts: RtmpIngestOptions) {
    this.server = createServer((socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
      const log = opts.log;
      try {
        // Address rules come before anything else: a denied client gets no RTMP handshake.
        opts.access?.checkAddress('publish', socket.remoteAddress ?? '');
      } catch {
        socket.destroy();
        return;
      }
      new RtmpConnection(socket, { ...opts, log });
    });
  }

  /**
   * Starts listening; resolves to the port.
   * @throws DashrelayError `DR_ERR_RTMP_LISTEN` when the address cannot be bound (port in use, no permission).
   */
  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        reject(createError('DR_ERR_RTMP_LISTEN', `${this.opts.host}:${this.opts.port}`, err));
      };
      this.server.once('error', onError);
      this.server.listen(this.opts.port, this.opts.host, () => {
        this.server.off('error', onError);
        const address = this.server.address();
        resolve(typeof address === 'object' && address ? address.port : this.opts.port);
      });
    });
  }

  /** Stops accepting and drops every connection (their sessions end). */
  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    if (!this.server.listening) return;
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
