import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ffmpegDashNaming, ffmpegManifestName } from './file-names.ts';

/** Where one session's uploads go. */
export interface PutTarget {
  /** ffmpeg starts uploading a segment: the writer gets its body piece by piece. */
  begin(name: string): { append(chunk: Buffer): void; finish(): void; abort(): void } | undefined;
  /** ffmpeg deleted a segment (it left the window). */
  remove(name: string): void;
  /** ffmpeg wrote a complete MPD. */
  manifest(body: Buffer): void;
}

const loopback = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

/**
 * The HTTP endpoint ffmpeg's dash muxer PUTs its output to (`-method PUT -http_persistent 1`).
 * It listens on loopback only, on its own port, apart from the public server, and each session gets a
 * random secret path, so no viewer (nor another session's ffmpeg) can write or delete a stream's files.
 * Each segment upload is handed to its session's {@link PutTarget} as it arrives, which is what lets
 * viewers receive a CMAF chunk as soon as ffmpeg writes it; an MPD is handed over once complete.
 */
export class PutReceiver {
  private server: Server | undefined;
  private readonly targets = new Map<string, PutTarget>();
  private port = 0;

  /** Starts listening on 127.0.0.1 (random port). Idempotent. */
  async start(): Promise<void> {
    if (this.server) return;
    const server = createServer((req, res) => this.handle(req, res));
    // ffmpeg keeps one connection open for the whole session; a segment upload lasts a segment duration.
    server.keepAliveTimeout = 60_000;
    server.requestTimeout = 0;
    server.headersTimeout = 60_000;
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
  }

  /**
   * Registers a session's target and returns the base URL its ffmpeg should PUT to (ends with `/`).
   * Call {@link unregister} when the session ends.
   */
  register(target: PutTarget): { baseUrl: string; secret: string } {
    const secret = randomBytes(16).toString('hex');
    this.targets.set(secret, target);
    return { baseUrl: `http://127.0.0.1:${this.port}/${secret}/`, secret };
  }

  unregister(secret: string): void {
    this.targets.delete(secret);
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    if (!loopback.has(req.socket.remoteAddress ?? '')) {
      reply(res, 403);
      return;
    }
    const [, secret = '', name = '', ...rest] = (req.url ?? '').split('?')[0]?.split('/') ?? [];
    const target = this.targets.get(secret);
    if (!target || rest.length > 0) {
      reply(res, 403);
      return;
    }
    const isManifest = name === ffmpegManifestName;
    if (!isManifest && !ffmpegDashNaming.parse(name)) {
      reply(res, 400);
      return;
    }

    if (req.method === 'DELETE') {
      if (!isManifest) target.remove(name); // the last MPD stays on disk for post-mortem
      req.resume();
      reply(res, 204);
      return;
    }
    if (req.method !== 'PUT' && req.method !== 'POST') {
      reply(res, 405);
      return;
    }

    if (isManifest) {
      const parts: Buffer[] = [];
      req.on('data', (chunk: Buffer) => parts.push(chunk));
      req.on('end', () => {
        target.manifest(Buffer.concat(parts));
        reply(res, 204);
      });
      return;
    }
    const file = target.begin(name);
    req.on('data', (chunk: Buffer) => file?.append(chunk));
    req.on('end', () => {
      file?.finish();
      reply(res, 204);
    });
    // A connection that breaks mid-upload (ffmpeg killed) leaves a partial file that must not be served as whole.
    req.on('aborted', () => file?.abort());
    req.on('error', () => file?.abort());
  }
}

function reply(res: ServerResponse, status: number): void {
  res.statusCode = status;
  res.end();
}
