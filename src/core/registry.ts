import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { PublishRequest } from '../contracts/sink.ts';
import { createError, type DashrelayError } from '../errors/errors.ts';
import { Session, type SessionLimits } from './session.ts';

/**
 * Attaches the sinks to a new session and returns what the composition root keeps about it (the
 * registry stores it beside the session without knowing what it is).
 */
export type SessionSetup<T> = (session: Session) => T | Promise<T>;

/** What the registry enforces (the `limits` config section). Every key left out: no limit. */
export interface RegistryLimits {
  /** Sessions at once, every ingest (pulled sources included), also while set up or ending. */
  readonly maxStreams?: number | undefined;
  /** Each session's ingest limit, bits/s over 5 s (see {@link SessionLimits}). */
  readonly maxIngestBitrateBps?: number | undefined;
}

/** A live stream: its session and what the setup attached to it. */
export interface LiveEntry<T> {
  readonly session: Session;
  readonly attached: T;
}

/**
 * The one place that knows what is live: stream name → current session and what was attached to it.
 * At most one publisher per name. It knows nothing of protocols or packagers.
 */
export class StreamRegistry<T = void> extends EventEmitter<{
  started: [LiveEntry<T>];
  ended: [Session];
}> {
  private readonly sessions = new Map<string, Session>();
  private readonly entries = new Map<Session, LiveEntry<T>>();

  constructor(
    private readonly setup: SessionSetup<T>,
    private readonly limits: RegistryLimits = {},
  ) {
    super();
    this.setMaxListeners(0);
  }

  /** The session publishing `stream`, also while its setup runs. */
  get(stream: string): Session | undefined {
    return this.sessions.get(stream);
  }

  /** The live stream `stream`, once its setup completed. */
  entry(stream: string): LiveEntry<T> | undefined {
    const session = this.sessions.get(stream);
    return session ? this.entries.get(session) : undefined;
  }

  /** Every live stream whose setup completed. */
  list(): LiveEntry<T>[] {
    return [...this.entries.values()];
  }

  /**
   * Why {@link open} would refuse `stream` now, or `undefined`: for an ingest that must answer before
   * it has what a session needs (RTMP answers `publish` before the first video message).
   * @param takesOver the publisher would take over a pushing publisher of the name (see
   * {@link PublishRequest.takesOver}).
   * @returns `DR_ERR_INGEST_STREAM_BUSY` when the name has a publisher it may not take over,
   * `DR_ERR_LIMIT_STREAMS` when `maxStreams` sessions exist (a session being set up or ending counts:
   * it runs an ffmpeg; the one it would replace does not).
   */
  refusal(stream: string, takesOver = false): DashrelayError | undefined {
    const current = this.sessions.get(stream);
    const replaces = current !== undefined && takesOver && current.info.takesOver === true;
    if (current && !replaces) return createError('DR_ERR_INGEST_STREAM_BUSY', stream);
    const { maxStreams } = this.limits;
    if (maxStreams !== undefined && this.sessions.size - (replaces ? 1 : 0) >= maxStreams)
      return createError('DR_ERR_LIMIT_STREAMS', maxStreams);
    return undefined;
  }

  /**
   * Claims `request.stream` and starts a session with its sinks attached. A pushing publisher
   * (`takesOver`) takes the name over from another: that session gets `fatal`
   * `DR_ERR_INGEST_TAKEN_OVER` (its ingest tells its publisher) and is ended before this one starts.
   * @throws DashrelayError `DR_ERR_INGEST_STREAM_BUSY` when the name has a publisher it may not take
   * over, `DR_ERR_LIMIT_STREAMS` at `maxStreams` sessions; whatever the setup throws (the session is
   * ended first).
   */
  async open(request: PublishRequest): Promise<Session> {
    const takesOver = request.takesOver === true;
    for (;;) {
      const refused = this.refusal(request.stream, takesOver);
      if (refused) throw refused;
      const current = this.sessions.get(request.stream);
      if (!current) break;
      // Ended first, so its packager finishes its last segment and its archive closes before ours opens.
      current.emit('fatal', createError('DR_ERR_INGEST_TAKEN_OVER', request.stream));
      await current.end();
      // Another publisher may have claimed the name while this one waited: look again.
    }
    const sessionLimits: SessionLimits = { maxIngestBitrateBps: this.limits.maxIngestBitrateBps };
    const session = new Session(
      { ...request, sessionId: randomUUID(), startedAtMs: Date.now() },
      sessionLimits,
    );
    this.sessions.set(request.stream, session);
    session.once('ended', () => {
      if (this.sessions.get(request.stream) === session) this.sessions.delete(request.stream);
      const wasLive = this.entries.delete(session);
      if (wasLive) this.emit('ended', session);
    });
    let attached: T;
    try {
      attached = await this.setup(session);
    } catch (err) {
      await session.end();
      throw err;
    }
    const entry = { session, attached };
    if (!session.ended) {
      this.entries.set(session, entry);
      this.emit('started', entry);
    }
    return session;
  }

  /** Ends every session (shutdown). */
  async closeAll(): Promise<void> {
    await Promise.allSettled([...this.sessions.values()].map((s) => s.end()));
  }
}
