import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { SessionInfo } from '../contracts/sink.ts';
import { createError } from '../errors/errors.ts';
import { Session } from './session.ts';

/** Attaches the sinks to a new session (the composition root decides which). */
export type SessionSetup = (session: Session) => void | Promise<void>;

/**
 * The one place that knows what is live: stream name → current session. At most one publisher per name.
 */
export class StreamRegistry extends EventEmitter<{ started: [Session]; ended: [Session] }> {
  private readonly sessions = new Map<string, Session>();

  constructor(private readonly setup: SessionSetup) {
    super();
    this.setMaxListeners(0);
  }

  get(stream: string): Session | undefined {
    return this.sessions.get(stream);
  }

  list(): Session[] {
    return [...this.sessions.values()];
  }

  /**
   * Claims `info.stream` and starts a session with its sinks attached.
   * @throws DashrelayError `DR_ERR_INGEST_STREAM_BUSY` when the name already has a publisher.
   */
  async open(info: Omit<SessionInfo, 'sessionId' | 'startedAtMs'>): Promise<Session> {
    if (this.sessions.has(info.stream)) throw createError('DR_ERR_INGEST_STREAM_BUSY', info.stream);
    const session = new Session({ ...info, sessionId: randomUUID(), startedAtMs: Date.now() });
    this.sessions.set(info.stream, session);
    session.once('ended', () => {
      if (this.sessions.get(info.stream) === session) this.sessions.delete(info.stream);
      this.emit('ended', session);
    });
    try {
      await this.setup(session);
    } catch (err) {
      await session.end();
      throw err;
    }
    this.emit('started', session);
    return session;
  }

  /** Ends every session (shutdown). */
  async closeAll(): Promise<void> {
    await Promise.allSettled(this.list().map((s) => s.end()));
  }
}
