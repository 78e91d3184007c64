import { createError } from '../errors/errors.ts';

/** What {@link HeldRequests.hold} watches to learn that the client went away: a `ServerResponse`. */
export interface ClosingResponse {
  once(event: 'close', listener: () => void): unknown;
}

/**
 * The requests held waiting for content (a manifest before the first Period, a segment before the
 * packager starts it), counted across all streams against `limits.maxHeldRequests`: each one is a
 * timer and listeners, and a crowd of players asking ahead must not hold them without bound.
 */
export class HeldRequests {
  private held = 0;

  /** @param max requests held at once; one more is refused. */
  constructor(readonly max: number) {}

  /** Requests held now. */
  get count(): number {
    return this.held;
  }

  /**
   * Counts one request as held until the returned release runs or `response` closes, whichever is
   * first (a client that aborts stops counting at once, though its wait runs on to its timeout).
   * The release is idempotent.
   * @throws DashrelayError `DR_ERR_LIMIT_HELD_REQUESTS` (HTTP 429) when `max` are held already.
   */
  hold(response: ClosingResponse): () => void {
    if (this.held >= this.max) throw createError('DR_ERR_LIMIT_HELD_REQUESTS');
    this.held++;
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      this.held--;
    };
    response.once('close', release);
    return release;
  }
}
