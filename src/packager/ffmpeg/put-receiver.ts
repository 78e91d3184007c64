import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { ffmpegDashNaming, ffmpegManifestName } from './file-names.ts';
import { findLocalSocketInode, processHasSocket, procNetTcpAvailable } from './socket-owner.ts';

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
 * How the receiver knows an upload comes from its session's ffmpeg. `process`: the connection's client
 * socket must be one of the descriptors of the ffmpeg process registered for the session (Linux, by
 * `/proc/net/tcp` and `/proc/<pid>/fd`). `secret-path`: knowing the session's random path is enough,
 * which every local user can read in ffmpeg's command line (`/proc/<pid>/cmdline`, `ps`); only where
 * the kernel does not list its sockets' owners (macOS).
 */
export type PutAuthentication = 'process' | 'secret-path';

export interface PutReceiverOptions {
  /** Default `auto`: `process` where it works (checked at start), else `secret-path`. */
  readonly authentication?: PutAuthentication | 'auto';
  /**
   * How long a request waits for its session's ffmpeg to be registered ({@link PutReceiver.setOwner}),
   * ms, before 403. Default 5000.
   */
  readonly ownerWaitMs?: number;
}

interface SessionEntry {
  readonly target: PutTarget;
  pid: number | undefined;
  /** Requests waiting for `pid`. */
  readonly waiting: Set<() => void>;
}

/** What is known of one accepted connection's client: found once, on accept, then cached on the socket. */
interface ConnectionCheck {
  readonly inode: Promise<number | undefined>;
  /** pid → whether it owns the client socket (a connection talks to one session, so this has one entry). */
  readonly owners: Map<number, Promise<boolean>>;
  /** The pid known to own the client socket, for requests after the first (no await per segment). */
  ownerPid: number | undefined;
}

/**
 * The HTTP endpoint ffmpeg's dash muxer PUTs its output to (`-method PUT -http_persistent 1`).
 * It listens on loopback only, on its own port, apart from the public server. Each session gets its
 * own path; on Linux only the session's own ffmpeg process may write or delete under it (the client
 * socket of every connection is looked up among that process's descriptors, once per connection), so
 * no other local user, viewer or session's ffmpeg can change a stream's files even though the path
 * is on ffmpeg's command line. Where that lookup is impossible (macOS) the path is a random secret,
 * as safe as the command line is private (README "Security").
 * Each segment upload is handed to its session's {@link PutTarget} as it arrives, which is what lets
 * viewers receive a CMAF chunk as soon as ffmpeg writes it; an MPD is handed over once complete.
 */
export class PutReceiver {
  private server: Server | undefined;
  private readonly sessions = new Map<string, SessionEntry>();
  private readonly connections = new WeakMap<Socket, ConnectionCheck>();
  private port = 0;
  private mode: PutAuthentication = 'secret-path';

  constructor(private readonly opts: PutReceiverOptions = {}) {}

  /** How uploads are authenticated; known once {@link start} resolved. */
  get authentication(): PutAuthentication {
    return this.mode;
  }

  /** Starts listening on 127.0.0.1 (random port). Idempotent. */
  async start(): Promise<void> {
    if (this.server) return;
    const server = createServer((req, res) => this.handle(req, res));
    // ffmpeg keeps one connection open for the whole session; a segment upload lasts a segment duration.
    server.keepAliveTimeout = 60_000;
    server.requestTimeout = 0;
    server.headersTimeout = 60_000;
    // The client socket is looked up while the request headers are still on their way.
    server.on('connection', (socket: Socket) => {
      if (this.mode === 'process') this.connections.set(socket, checkConnection(socket));
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    const wanted = this.opts.authentication ?? 'auto';
    this.mode = wanted === 'auto' ? ((await this.canCheckOwners()) ? 'process' : 'secret-path') : wanted;
  }

  /**
   * Registers a session's target and returns the base URL its ffmpeg should PUT to (ends with `/`)
   * and the session's `path`, its key for {@link setOwner} and {@link unregister}. Until
   * {@link setOwner} names the session's ffmpeg, its uploads wait (`ownerWaitMs`), then get 403.
   */
  register(target: PutTarget): { baseUrl: string; path: string } {
    const path = randomBytes(16).toString('hex');
    this.sessions.set(path, { target, pid: undefined, waiting: new Set() });
    return { baseUrl: `http://127.0.0.1:${this.port}/${path}/`, path };
  }

  /**
   * Names the process (the session's ffmpeg, its pid) whose connections alone may upload under
   * `path`. Unknown paths are ignored. Ignored with `secret-path` authentication.
   */
  setOwner(path: string, pid: number): void {
    const session = this.sessions.get(path);
    if (!session) return;
    session.pid = pid;
    for (const wake of session.waiting) wake();
  }

  /** Stops taking uploads under `path` (the session ended). Idempotent. */
  unregister(path: string): void {
    const session = this.sessions.get(path);
    this.sessions.delete(path);
    if (session) for (const wake of session.waiting) wake();
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /**
   * Whether this machine lets the receiver find who owns a connection: /proc/net/tcp exists and has
   * real rows (WSL 1 and some sandboxes show empty or partial tables). Tried on a connection of its own.
   */
  private async canCheckOwners(): Promise<boolean> {
    if (!procNetTcpAvailable()) return false;
    const client = connect(this.port, '127.0.0.1');
    try {
      await new Promise<void>((resolve, reject) => {
        client.once('connect', resolve);
        client.once('error', reject);
      });
      const local = { address: client.localAddress ?? '', port: client.localPort ?? 0 };
      const inode = await findLocalSocketInode(local, { address: '127.0.0.1', port: this.port });
      return inode !== undefined && (await processHasSocket(process.pid, inode));
    } catch {
      return false;
    } finally {
      client.destroy();
    }
  }

  /**
   * Whether the request's connection belongs to the session's ffmpeg. The first request of a
   * connection waits for the lookup started on accept (and for the session's pid, if ffmpeg connected
   * before it was registered); later ones are answered from the cache without waiting.
   */
  private owned(req: IncomingMessage, path: string, session: SessionEntry): boolean | Promise<boolean> {
    if (this.mode === 'secret-path') return true;
    const check = this.connections.get(req.socket);
    if (!check) return false;
    if (session.pid !== undefined && check.ownerPid === session.pid) return true;
    return (async () => {
      const pid = session.pid ?? (await this.ownerOf(path, session));
      if (pid === undefined) return false;
      let owns = check.owners.get(pid);
      if (!owns) {
        owns = check.inode.then((inode) => inode !== undefined && processHasSocket(pid, inode));
        check.owners.set(pid, owns);
      }
      if (!(await owns)) return false;
      check.ownerPid = pid;
      // The session may have ended while its owner was being checked.
      return this.sessions.get(path) === session;
    })();
  }

  /** The session's pid once {@link setOwner} gives it; `undefined` after `ownerWaitMs` or when the session ends first. */
  private ownerOf(path: string, session: SessionEntry): Promise<number | undefined> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        session.waiting.delete(done);
        resolve(this.sessions.get(path) === session ? session.pid : undefined);
      };
      const timer = setTimeout(done, this.opts.ownerWaitMs ?? 5000);
      session.waiting.add(done);
    });
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    if (!loopback.has(req.socket.remoteAddress ?? '')) {
      refuse(req, res, 403);
      return;
    }
    const [, path = '', name = '', ...rest] = (req.url ?? '').split('?')[0]?.split('/') ?? [];
    const session = this.sessions.get(path);
    if (!session || rest.length > 0) {
      refuse(req, res, 403);
      return;
    }
    const owned = this.owned(req, path, session);
    if (owned === true) {
      this.take(req, res, session.target, name);
      return;
    }
    if (owned === false) {
      refuse(req, res, 403);
      return;
    }
    // Until then the body waits in the request stream (paused), so nothing of a segment is lost.
    void owned.then((ok) => {
      if (req.destroyed) return;
      if (ok) this.take(req, res, session.target, name);
      else refuse(req, res, 403);
    });
  }

  /** One upload (or delete) from the session's own ffmpeg. */
  private take(req: IncomingMessage, res: ServerResponse, target: PutTarget, name: string): void {
    const isManifest = name === ffmpegManifestName;
    if (!isManifest && !ffmpegDashNaming.parse(name)) {
      refuse(req, res, 400);
      return;
    }

    if (req.method === 'DELETE') {
      if (!isManifest) target.remove(name); // the last MPD stays on disk for post-mortem
      req.resume();
      reply(res, 204);
      return;
    }
    if (req.method !== 'PUT' && req.method !== 'POST') {
      refuse(req, res, 405);
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

/**
 * Looks the connection's client socket up on accept: its row in /proc/net/tcp is the one whose local
 * end is the peer's address and port and whose remote end is the receiver's.
 */
function checkConnection(socket: Socket): ConnectionCheck {
  const peer = { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 };
  const own = { address: socket.localAddress ?? '', port: socket.localPort ?? 0 };
  return {
    inode: findLocalSocketInode(peer, own).catch(() => undefined),
    owners: new Map(),
    ownerPid: undefined,
  };
}

/** Answers without reading the body (drained, so a persistent connection can go on). */
function refuse(req: IncomingMessage, res: ServerResponse, status: number): void {
  req.resume();
  reply(res, status);
}

function reply(res: ServerResponse, status: number): void {
  res.statusCode = status;
  res.end();
}
