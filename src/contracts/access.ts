/**
 * Who may publish and watch, as the ingests, the origin and the API see it (implemented in `src/auth/`).
 * Every method throws a catalogue error whose HTTP status / WebSocket close code says what happened:
 * 401/4401 `DR_ERR_AUTH_MISSING`/`DR_ERR_AUTH_INVALID`, 403/4403 `DR_ERR_ADDRESS_DENIED`,
 * `DR_ERR_ORIGIN_DENIED`, `DR_ERR_PUBLISH_CLOSED`, 429/4429 `DR_ERR_AUTH_RATE_LIMITED`,
 * `DR_ERR_LIMIT_PUBLISHERS`.
 */

export type AccessAction = 'publish' | 'play';

/** A publisher asking to publish, as its ingest saw it. */
export interface PublishAttempt {
  readonly stream: string;
  /** The client address (fastify `req.ip`, the RTMP socket's remote address). */
  readonly address: string;
  /** The token or key it sent, if any (never logged). */
  readonly credential: string | undefined;
  /** A browser's `Origin` header (WebSocket only); `undefined` for clients that send none. */
  readonly origin?: string | undefined;
  /** The origin this server is reached at by that request (`http://host:port` from its `Host`), for same-origin. */
  readonly ownOrigin?: string | undefined;
}

/** A publisher let in: call `release()` when it leaves (frees its slot of `limits.maxPublishersPerAddress`). */
export interface PublishAdmission {
  release(): void;
}

export interface AccessControl {
  /** The address rules for `action` (`auth.publishRules`/`playRules`), first match wins. Throws `DR_ERR_ADDRESS_DENIED`. */
  checkAddress(action: AccessAction, address: string): void;
  /** Address, Origin, failure rate, credential and per-address count, in that order. */
  admitPublisher(attempt: PublishAttempt): Promise<PublishAdmission>;
  /** Whether viewers of `stream` need a play token (`auth.playTokens`). */
  playTokenRequired(stream: string): boolean;
  /**
   * Checks a viewer's play token for `stream` (no-op when none is required). Verified tokens are
   * remembered until they expire, so per-segment checks cost a map lookup.
   */
  authorizePlay(stream: string, address: string, credential: string | undefined): Promise<void>;
  /**
   * Whether a request may change the server or read its full details: with `auth.adminToken` set, it
   * carries that token (Bearer); without one, it comes from loopback.
   */
  isAdmin(address: string, credential: string | undefined): boolean;
  /**
   * Throws unless {@link isAdmin}: `DR_ERR_ADMIN_REQUIRED` (401) with an admin token set, else
   * `DR_ERR_API_LOOPBACK_ONLY` (403). `what` names the request in the message (`POST /api/…`).
   */
  requireAdmin(what: string, address: string, credential: string | undefined): void;
  /** Whether `auth.adminToken` is set (the refusal says "admin token" rather than "loopback only"). */
  readonly adminTokenSet: boolean;
}
