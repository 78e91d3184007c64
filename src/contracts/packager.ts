import type { MediaSink } from './sink.ts';

/** `starting` until its first output, `running`, `exited` once its process is gone. */
export type PackagerState = 'starting' | 'running' | 'exited';

/**
 * A live packager: a sink of the session's container bytes that writes the session's live output
 * (init and media segments, the MPD) for the origin to serve.
 */
export interface StreamPackager extends MediaSink {
  readonly state: PackagerState;
}
