import { EventEmitter } from 'node:events';
import type { AnalysisEvent } from './types.ts';

/**
 * Recent analysis events per stream (a bounded history, kept after the stream ends), and a live feed.
 */
export class EventLog extends EventEmitter<{ event: [AnalysisEvent] }> {
  private readonly history = new Map<string, AnalysisEvent[]>();

  /** @param capacity events kept per stream. */
  constructor(private readonly capacity: number) {
    super();
    this.setMaxListeners(0);
  }

  add(event: AnalysisEvent): void {
    let list = this.history.get(event.stream);
    if (!list) {
      list = [];
      this.history.set(event.stream, list);
    }
    list.push(event);
    if (list.length > this.capacity) list.splice(0, list.length - this.capacity);
    this.emit('event', event);
  }

  /** Oldest first. */
  recent(stream: string): readonly AnalysisEvent[] {
    return this.history.get(stream) ?? [];
  }
}
