import type { FrameSource, MediaFrame } from './types.ts';

/**
 * Estimates when media time 0 of a publisher's stream was live at the server, from the frames'
 * presentation timestamps and the wall clock at which each frame arrived: a low percentile (2 %) of
 * `arrival − media time`, media time counted from the first frame (as ffmpeg counts it).
 * The first frames arrive late (encoder start-up), later ones right after capture, so a low value over
 * the first seconds is the tightest estimate; not the minimum, because a single frame stamped ahead of
 * its time would put the live edge where no data can be yet, and a player chasing it stalls forever.
 * The origin uses it as MPD@availabilityStartTime, so a player's idea of the live edge matches when the
 * pictures really arrived.
 *
 * It listens to the session's frames (one demux for every consumer) for the first `watchMediaMs` of
 * media, then unsubscribes and keeps its estimate. Frames are delivered as their bytes arrive, so the
 * time of delivery is the arrival time.
 */
export class MediaClock {
  /** `arrival − media time` of each frame seen while watching, ms. */
  private readonly offsets: number[] = [];
  /** The earliest media timestamp seen: ffmpeg starts its output timeline there (it zero-bases input). */
  private originMs = Number.POSITIVE_INFINITY;
  private estimate: number | undefined;
  private stale = false;
  private readonly onFrame = (frame: MediaFrame): void => this.add(frame.timestampMs);

  /**
   * @param source the session's frames
   * @param watchMediaMs media duration over which the estimate is refined, ms. Default 10 000.
   */
  constructor(
    private readonly source: FrameSource,
    private readonly watchMediaMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {
    source.on('frame', this.onFrame);
  }

  /** Wall-clock time of media time 0, ms since the epoch, once a frame was seen. */
  get mediaStartMs(): number | undefined {
    if (this.stale) this.refresh();
    return this.estimate;
  }

  /** Sorted on demand (a manifest request), not per frame: a frame costs a push, a request a sort. */
  private refresh(): void {
    const sorted = [...this.offsets].sort((a, b) => a - b);
    const low = sorted[Math.floor((sorted.length - 1) * 0.02)];
    this.estimate = low === undefined ? undefined : low + this.originMs;
    this.stale = false;
  }

  private add(mediaMs: number): void {
    // arrival − (media − origin) = (arrival − media) + origin: the origin may still move down, so it
    // is added when the estimate is read.
    this.offsets.push(this.now() - mediaMs);
    this.stale = true;
    // A recorder restarted on a running track stamps its first frame well after 0 (seen with Chrome);
    // the DASH timeline starts at the first frame, so that is media time 0 here too.
    if (mediaMs < this.originMs) this.originMs = mediaMs;
    if (mediaMs - this.originMs > this.watchMediaMs) {
      this.source.off('frame', this.onFrame);
      this.refresh(); // the estimate stays; the samples go
      this.offsets.length = 0;
    }
  }
}
