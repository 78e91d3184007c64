import type { LatencyProfile } from '../config/config.ts';
import { Presentation } from '../live/presentation.ts';
import { createDeliveryCounters, type DeliveryCounters } from '../origin/deliver-file.ts';

export interface StreamPresentation {
  readonly presentation: Presentation;
  /** Viewers of the stream, over all its sessions. */
  readonly counters: DeliveryCounters;
}

export interface PresentationsOptions {
  readonly profile: LatencyProfile;
  readonly reanchorDriftMs: number;
  /** How long an ended session's last Period stays open for its publisher to return, ms. */
  readonly republishGraceMs: number;
  /** How long an ended stream's MPD stays served for a republish to continue it, ms. */
  readonly keepEndedMs: number;
}

/**
 * The live presentations by stream name. A presentation outlives its sessions by `keepEndedMs`, so a
 * publisher that reconnects continues the same MPD (a new Period) and open players play on; after that
 * the stream is gone and a new publisher starts a new presentation.
 */
export class Presentations {
  private readonly byStream = new Map<string, StreamPresentation & { timer?: NodeJS.Timeout }>();

  constructor(private readonly options: PresentationsOptions) {}

  get(stream: string): StreamPresentation | undefined {
    return this.byStream.get(stream);
  }

  /** The stream's presentation, continued or new, for a session that starts publishing. */
  open(stream: string): StreamPresentation {
    let entry = this.byStream.get(stream);
    if (entry?.timer) clearTimeout(entry.timer);
    if (!entry) {
      const { profile, reanchorDriftMs, republishGraceMs } = this.options;
      entry = {
        presentation: new Presentation(stream, { profile, reanchorDriftMs, republishGraceMs }),
        counters: createDeliveryCounters(),
      };
      this.byStream.set(stream, entry);
    }
    entry.timer = undefined;
    return entry;
  }

  /** The stream's session ended: forget the presentation unless a new session starts within `keepEndedMs`. */
  ended(stream: string): void {
    const entry = this.byStream.get(stream);
    if (!entry) return;
    if (entry.timer) clearTimeout(entry.timer);
    entry.timer = setTimeout(() => {
      if (entry.presentation.idleSinceMs === undefined) return;
      entry.presentation.close();
      if (this.byStream.get(stream) === entry) this.byStream.delete(stream);
    }, this.options.keepEndedMs);
    entry.timer.unref();
  }

  /** Drops every presentation (shutdown). */
  close(): void {
    for (const entry of this.byStream.values()) {
      if (entry.timer) clearTimeout(entry.timer);
      entry.presentation.close();
    }
    this.byStream.clear();
  }
}
