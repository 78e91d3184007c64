import { createError } from '../errors/errors.ts';
import { rateLimited } from '../util/rate-limit.ts';
import { rgbToGray } from './pnm-parser.ts';
import type {
  AnalysisEvent,
  AnalysisFrame,
  AnalysisLogger,
  AnalysisPlugin,
  AnalysisReader,
} from './types.ts';

/** Per-plugin counters for one session. */
export interface PluginStats {
  readonly plugin: string;
  delivered: number;
  /** Frames not given to the plugin because it was still busy with earlier ones. */
  dropped: number;
  errors: number;
}

interface Slot {
  readonly plugin: AnalysisPlugin;
  reader: AnalysisReader | undefined;
  readonly queue: AnalysisFrame[];
  readonly stats: PluginStats;
  busy: boolean;
  current: AnalysisFrame | undefined;
  /** Logs a failed `onFrame`, at most once per {@link errorLogIntervalMs}. */
  readonly reportError: (err: unknown) => void;
}

/** A plugin that always throws logs one line per this many ms, not one per frame. */
export const errorLogIntervalMs = 10_000;

export interface PluginHostOptions {
  readonly stream: string;
  readonly plugins: readonly AnalysisPlugin[];
  /** Frames queued per plugin before dropping. */
  readonly queueFrames: number;
  readonly emit: (event: AnalysisEvent) => void;
  /** Logger factory, prefixed per plugin. */
  readonly log: (plugin: string) => AnalysisLogger;
  /** Clock, ms since the epoch (tests pass their own). */
  readonly now?: () => number;
}

/**
 * Runs a session's plugins. Each plugin has its own bounded queue and works through it one frame at a
 * time; when its queue is full, the oldest waiting frame is dropped for that plugin only. A throwing
 * or rejecting plugin is logged with its name and keeps receiving frames; it never reaches the pipeline.
 */
export class PluginHost {
  private readonly slots: Slot[];
  private closed = false;

  constructor(private readonly opts: PluginHostOptions) {
    this.slots = opts.plugins.map((plugin) => {
      const stats: PluginStats = { plugin: plugin.name, delivered: 0, dropped: 0, errors: 0 };
      const log = opts.log(plugin.name);
      const reportError = rateLimited(
        errorLogIntervalMs,
        (_suppressed, err: unknown) => {
          const e = createError('DR_ERR_ANALYSIS_PLUGIN', plugin.name, `onFrame: ${describe(err)}`);
          log.error(`${e.message} (${stats.errors} errors so far) [${e.code}]`);
        },
        opts.now,
      );
      const slot: Slot = {
        plugin,
        reader: undefined,
        queue: [],
        stats,
        busy: false,
        current: undefined,
        reportError,
      };
      try {
        slot.reader = plugin.open({
          stream: opts.stream,
          log,
          emit: (type, data, ptsMs) =>
            opts.emit({
              stream: opts.stream,
              plugin: plugin.name,
              type,
              ptsMs: ptsMs ?? slot.current?.ptsMs ?? 0,
              wallClockMs: (opts.now ?? Date.now)(),
              ...(data ? { data } : {}),
            }),
        });
      } catch (err) {
        stats.errors++;
        log.error(`open failed, plugin disabled for this stream: ${describe(err)}`);
      }
      return slot;
    });
  }

  /** The pixel format the decoder should produce: RGB if any plugin wants it (gray is derived). */
  static decoderFormat(plugins: readonly AnalysisPlugin[]): 'gray' | 'rgb24' {
    return plugins.some((p) => p.format === 'rgb24') ? 'rgb24' : 'gray';
  }

  get stats(): readonly PluginStats[] {
    return this.slots.map((s) => s.stats);
  }

  /** Offers a frame to every plugin; never blocks. */
  dispatch(frame: AnalysisFrame): void {
    if (this.closed) return;
    let gray: AnalysisFrame | undefined;
    for (const slot of this.slots) {
      if (!slot.reader) continue;
      let f = frame;
      if ((slot.plugin.format ?? 'gray') === 'gray' && frame.format === 'rgb24') {
        gray ??= { ...frame, format: 'gray', data: rgbToGray(frame.data, frame.width, frame.height) };
        f = gray;
      }
      slot.queue.push(f);
      if (slot.queue.length > this.opts.queueFrames) {
        slot.queue.shift();
        slot.stats.dropped++;
      }
      if (!slot.busy) void this.drain(slot);
    }
  }

  /** Stops dispatching and closes every plugin reader. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const slot of this.slots) {
      slot.queue.length = 0;
      try {
        await slot.reader?.close?.();
      } catch (err) {
        this.opts.log(slot.plugin.name).error(`close failed: ${describe(err)}`);
      }
    }
  }

  private async drain(slot: Slot): Promise<void> {
    slot.busy = true;
    while (!this.closed && slot.reader) {
      const frame = slot.queue.shift();
      if (!frame) break;
      slot.current = frame;
      try {
        await slot.reader.onFrame(frame);
        slot.stats.delivered++;
      } catch (err) {
        slot.stats.errors++;
        slot.reportError(err);
      }
    }
    slot.current = undefined;
    slot.busy = false;
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
