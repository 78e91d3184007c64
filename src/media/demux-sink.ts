import type { Container } from '../contracts/media.ts';
import type { MediaSink } from '../contracts/sink.ts';
import type { DashrelayError } from '../errors/errors.ts';
import { FlvDemuxer } from './flv-demuxer.ts';
import { type DemuxEvent, MatroskaDemuxer } from './matroska-demuxer.ts';
import { Mp4Demuxer } from './mp4-demuxer.ts';
import type { FrameSource, MediaFrame, MediaTrack } from './types.ts';

/** What a {@link DemuxSink} tells its subscribers. */
export interface DemuxSinkEvents {
  /** The stream's audio and video tracks, once its Tracks element is complete. */
  tracks: readonly MediaTrack[];
  frame: MediaFrame;
  /** `DR_ERR_MEDIA_MALFORMED`: the stream cannot be demuxed; no frame follows. Once per session. */
  error: DashrelayError;
}

export type DemuxListener<E extends keyof DemuxSinkEvents> = (payload: DemuxSinkEvents[E]) => void;

export interface DemuxSinkOptions {
  /** The container of the session's bytes. Default `matroska` (WebM is Matroska to the demuxer). */
  readonly container?: Container | undefined;
  /** Largest element the demuxer holds, bytes: the server's `maxMessageBytes`. Default 4 MiB. */
  readonly maxElementBytes?: number | undefined;
  /** Told when a listener throws (the other listeners still get the event). Default: ignored. */
  readonly onListenerError?: ((err: unknown, event: keyof DemuxSinkEvents) => void) | undefined;
}

/**
 * One session's demuxer as a sink of the tee: it parses the publisher's bytes once and hands the
 * tracks and frames to every subscriber (media clock, and later segment timing and protocol adapters),
 * so none of them parses the container again.
 *
 * It never pushes back: `write` always returns true. A listener that throws is reported to
 * `onListenerError` and does not keep the others from the event.
 */
export class DemuxSink implements MediaSink, FrameSource {
  readonly name = 'demux';
  private readonly demuxer: ContainerDemuxer;
  private readonly onListenerError: DemuxSinkOptions['onListenerError'];
  // Replaced, not mutated, on on/off: a listener may unsubscribe (or subscribe) during a dispatch.
  private listeners: { [E in keyof DemuxSinkEvents]: readonly DemuxListener<E>[] } = {
    tracks: [],
    frame: [],
    error: [],
  };
  private latestTracks: readonly MediaTrack[] | undefined;
  private closed = false;

  constructor(options: DemuxSinkOptions = {}) {
    this.demuxer = createDemuxer(options.container ?? 'matroska', options.maxElementBytes);
    this.onListenerError = options.onListenerError;
  }

  /** The tracks seen so far, for a subscriber that comes after the stream's header. */
  get tracks(): readonly MediaTrack[] | undefined {
    return this.latestTracks;
  }

  /** The error that stopped demuxing, if one did. */
  get error(): DashrelayError | undefined {
    return this.demuxer.error;
  }

  on<E extends keyof DemuxSinkEvents>(event: E, listener: DemuxListener<E>): this {
    this.setListeners(event, [...this.listeners[event], listener]);
    return this;
  }

  off<E extends keyof DemuxSinkEvents>(event: E, listener: DemuxListener<E>): this {
    const list = this.listeners[event];
    const i = list.indexOf(listener);
    if (i >= 0) this.setListeners(event, [...list.slice(0, i), ...list.slice(i + 1)]);
    return this;
  }

  write(chunk: Buffer): boolean {
    if (this.closed) return true;
    for (const ev of this.demuxer.push(chunk)) {
      switch (ev.type) {
        case 'frame':
          this.dispatch('frame', ev.frame);
          break;
        case 'tracks':
          this.latestTracks = ev.tracks;
          this.dispatch('tracks', ev.tracks);
          break;
        case 'error':
          this.dispatch('error', ev.error);
          break;
      }
    }
    return true;
  }

  onDrain(): void {
    // never asks the publisher to wait
  }

  /**
   * Stops demuxing. A stream cut mid-element here is a publisher going away, not malformed media, so
   * nothing is reported for it.
   */
  async close(): Promise<void> {
    this.closed = true;
    this.listeners = { tracks: [], frame: [], error: [] };
  }

  private setListeners<E extends keyof DemuxSinkEvents>(event: E, list: readonly DemuxListener<E>[]): void {
    this.listeners = { ...this.listeners, [event]: list };
  }

  private dispatch<E extends keyof DemuxSinkEvents>(event: E, payload: DemuxSinkEvents[E]): void {
    for (const listener of this.listeners[event]) {
      try {
        listener(payload);
      } catch (err) {
        try {
          this.onListenerError?.(err, event);
        } catch {
          // a failing error reporter must not break the tee either
        }
      }
    }
  }
}

/** What every container's demuxer offers: bytes in any split → tracks and frames in stream order. */
interface ContainerDemuxer {
  push(chunk: Buffer): readonly DemuxEvent[];
  readonly error: DashrelayError | undefined;
}

function createDemuxer(container: Container, maxElementBytes: number | undefined): ContainerDemuxer {
  switch (container) {
    case 'flv':
      return new FlvDemuxer({ maxElementBytes });
    case 'mp4':
      return new Mp4Demuxer({ maxElementBytes });
    default:
      return new MatroskaDemuxer({ maxElementBytes });
  }
}
