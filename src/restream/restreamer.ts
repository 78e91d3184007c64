import { randomUUID } from 'node:crypto';
import type { Logger } from '../contracts/logger.ts';
import type { RestreamTargetInfo } from '../contracts/restream.ts';
import { restreamUrlPattern } from '../contracts/restream.ts';
import { createError } from '../errors/errors.ts';
import type { BackoffOptions } from '../util/backoff.ts';
import { type RestreamInput, RestreamTarget } from './restream-target.ts';

/** A push target as configured (config file, sources file or `POST /api/streams/:stream/restream`). */
export interface RestreamTargetSpec {
  readonly stream: string;
  /** `rtmp://` or `rtmps://`, stream key included. */
  readonly url: string;
  /** For logs and the API; default the URL's host. */
  readonly name?: string | undefined;
}

export interface RestreamerOptions {
  readonly ffmpegPath: string;
  readonly log: Logger;
  /** Targets one stream may have, config and API together. */
  readonly maxTargetsPerStream: number;
  readonly backoff?: BackoffOptions | undefined;
  /** See `RestreamTargetOptions`. */
  readonly maxBufferedBytes: number;
  readonly ioTimeoutMs: number;
  readonly stopTimeoutMs: number;
  /** The live output of `stream` now, if it is live (a target added during a session starts at once). */
  readonly liveInput: (stream: string) => RestreamInput | undefined;
}

/**
 * Every stream's push targets. The composition root tells it when a stream's session starts and
 * ends; each target then pushes, retries and waits on its own, so one failing target never touches
 * the stream or the other targets.
 */
export class Restreamer {
  private readonly targets = new Map<string, RestreamTarget[]>();
  private closed = false;

  constructor(private readonly opts: RestreamerOptions) {}

  /**
   * Adds a target; it starts at once if the stream is live.
   * @throws DashrelayError `DR_ERR_RESTREAM_URL` for a URL that is not `rtmp://`/`rtmps://`;
   * `DR_ERR_RESTREAM_LIMIT` when the stream has `maxTargetsPerStream` already.
   */
  add(spec: RestreamTargetSpec, origin: 'config' | 'api'): RestreamTargetInfo {
    if (!new RegExp(restreamUrlPattern).test(spec.url)) {
      throw createError('DR_ERR_RESTREAM_URL', spec.url.split('://')[0] ?? '');
    }
    const list = this.targets.get(spec.stream) ?? [];
    if (list.length >= this.opts.maxTargetsPerStream) {
      throw createError('DR_ERR_RESTREAM_LIMIT', spec.stream, this.opts.maxTargetsPerStream);
    }
    const target = new RestreamTarget({
      id: randomUUID().slice(0, 8),
      name: spec.name ?? hostOf(spec.url),
      url: spec.url,
      origin,
      ffmpegPath: this.opts.ffmpegPath,
      log: this.opts.log,
      backoff: this.opts.backoff,
      maxBufferedBytes: this.opts.maxBufferedBytes,
      ioTimeoutMs: this.opts.ioTimeoutMs,
      stopTimeoutMs: this.opts.stopTimeoutMs,
    });
    list.push(target);
    this.targets.set(spec.stream, list);
    this.opts.log.info(
      { stream: spec.stream, target: target.info().name, url: target.redactedUrl, origin },
      `restream: ${spec.stream} → ${target.redactedUrl} (${target.info().name}), pushed while ${spec.stream} is live`,
    );
    const live = this.opts.liveInput(spec.stream);
    if (live && !this.closed) target.attach(live);
    return target.info();
  }

  /** Removes target `id` of `stream`, stopping its push; false if there is none. */
  async remove(stream: string, id: string): Promise<boolean> {
    const list = this.targets.get(stream) ?? [];
    const target = list.find((t) => t.id === id);
    if (!target) return false;
    this.targets.set(
      stream,
      list.filter((t) => t !== target),
    );
    await target.close();
    return true;
  }

  /** The targets of `stream`, live or not. */
  list(stream: string): RestreamTargetInfo[] {
    return (this.targets.get(stream) ?? []).map((t) => t.info());
  }

  /** `stream` went live: its targets start. */
  sessionStarted(stream: string, input: RestreamInput): void {
    if (this.closed) return;
    for (const t of this.targets.get(stream) ?? []) t.attach(input);
  }

  /** `stream`'s session ended: its targets finish and wait. */
  sessionEnded(stream: string): void {
    for (const t of this.targets.get(stream) ?? []) t.detach();
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.targets.values()].flat().map((t) => t.close()));
  }
}

function hostOf(url: string): string {
  const rest = url.replace(/^[a-z]+:\/\//i, '');
  return rest.slice(rest.lastIndexOf('@') + 1).split(/[/?#]/)[0] || url;
}
