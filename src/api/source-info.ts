/** A stream the server pulls (a camera of the sources file), as `GET /api/sources` reports it (docs/sources.md). */
export interface PulledSourceInfo {
  readonly name: string;
  /**
   * The source URL with credentials (`user:password@`, secret query values) masked as `***`; left out
   * for callers other than the admin (loopback, or the admin token).
   */
  readonly url?: string | undefined;
  /** Pulled only while watched. */
  readonly onDemand: boolean;
  /** `idle` | `starting` | `live` | `retrying`. */
  readonly state: string;
  /** Since when the source is in `state`, ISO 8601 UTC. */
  readonly since: string;
  /** Failed tries since the last healthy run. */
  readonly retries: number;
  /** When the next try starts (ISO 8601 UTC) while `retrying`, else `null`. */
  readonly nextRetryAt: string | null;
  /** Why the last try ended (credentials masked), `null` before any failure. */
  readonly lastError: { readonly code: string; readonly message: string; readonly at: string } | null;
}
