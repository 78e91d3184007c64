/** Restream push targets as the API shows them, and the URLs they accept (config, API, restream). */
import { type Static, Type } from '@sinclair/typebox';

/** `rtmp://` and `rtmps://` URLs only: anything else ffmpeg can write to is not a restream target. */
export const restreamUrlPattern = '^[Rr][Tt][Mm][Pp][Ss]?://[^\\s/?#]+(/\\S*)?$';

/**
 * `waiting`: the stream is not live, nothing to send. `connecting`: ffmpeg runs and has not written
 * to the target yet. `live`: bytes reach the target. `retrying`: the last attempt failed; the next
 * one starts after a backoff delay.
 */
export type RestreamState = 'waiting' | 'connecting' | 'live' | 'retrying';

/** A push target as the API shows it (docs/protocol.md `RestreamTarget`). */
export interface RestreamTargetInfo {
  readonly id: string;
  readonly name: string;
  /** The URL with the stream key, user and query values replaced by `***`. */
  readonly url: string;
  /** Where the target was configured. */
  readonly origin: 'config' | 'api';
  readonly state: RestreamState;
  /** When the state last changed, ISO 8601. */
  readonly since: string;
  /** Bytes written to the target over all attempts (ffmpeg's `total_size`). */
  readonly bytesPushed: number;
  /** Attempts that reached the target. */
  readonly connects: number;
  /** Attempts that ended in an error. */
  readonly failures: number;
  /** Why the last attempt failed (ffmpeg's last error line, redacted), or null. */
  readonly lastError: string | null;
  /** When the next attempt starts, ISO 8601, while `retrying`. */
  readonly nextAttemptAt: string | null;
}

/** A push target as configured: in `restream.targets` or the sources file's `restream` list. */
export const RestreamTargetSchema = Type.Object(
  {
    stream: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$', description: 'the stream to push' }),
    url: Type.String({
      pattern: restreamUrlPattern,
      description: '`rtmp://` or `rtmps://` URL of the server, stream key included',
    }),
    name: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        description: "for logs and the API; default the URL's host",
      }),
    ),
  },
  { additionalProperties: false },
);
export type RestreamTargetConfig = Static<typeof RestreamTargetSchema>;
