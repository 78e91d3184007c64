/** What the publisher is doing, for its status line. */
export interface PublishStatus {
  readonly state: 'connecting' | 'live' | 'retrying' | 'stopping';
  /** Time live in the current connection, ms (0 when not live). */
  readonly uptimeMs: number;
  /** Bits/s sent over the last few seconds. */
  readonly bitrateBps: number;
  /** Video frames ffmpeg wrote in the current connection. */
  readonly frames: number;
  /** Connections after the first one. */
  readonly reconnects: number;
  /** With `retrying`: ms until the next attempt. */
  readonly retryInMs?: number | undefined;
}

/** `0:01:05` */
export function formatDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${Math.floor(s / 3600)}:${pad(Math.floor(s / 60) % 60)}:${pad(s % 60)}`;
}

/** One line: `live 0:01:05 · 1980 kbit/s · 1950 frames · 0 reconnects`. */
export function formatStatus(s: PublishStatus): string {
  const head =
    s.state === 'live'
      ? `live ${formatDuration(s.uptimeMs)}`
      : s.state === 'retrying' && s.retryInMs !== undefined
        ? `retrying in ${Math.ceil(s.retryInMs / 1000)} s`
        : s.state;
  return `${head} · ${Math.round(s.bitrateBps / 1000)} kbit/s · ${s.frames} frames · ${s.reconnects} reconnect${s.reconnects === 1 ? '' : 's'}`;
}

export interface ReporterOptions {
  /** Prefix of every line, e.g. `[publish cam1]`. */
  readonly prefix: string;
  /** A terminal: one status line redrawn in place. Otherwise plain lines with a timestamp. */
  readonly tty: boolean;
  /** Plain mode: a status line at most this often, ms. */
  readonly plainEveryMs: number;
  /** Raw writes to the terminal (TTY mode). Default `process.stdout.write`. */
  readonly write?: (text: string) => void;
  /** A line for stdout. Default `console.log`. */
  readonly out?: (line: string) => void;
  /** A line for stderr. Default `console.error`. */
  readonly err?: (line: string) => void;
  readonly now?: () => number;
}

const clearLine = '\r\x1b[2K';

/**
 * The publisher's output. On a terminal, messages scroll above one status line that `status()`
 * redraws in place (`\r` + erase line). Elsewhere (systemd, a pipe, tests) every message and every
 * `plainEveryMs`th status is a plain line starting with an ISO time, so a log keeps the history.
 */
export class PublishReporter {
  private drawn = false;
  private lastStatus: string | undefined;
  private lastPlainAt = Number.NEGATIVE_INFINITY;
  private readonly write: (text: string) => void;
  private readonly out: (line: string) => void;
  private readonly err: (line: string) => void;
  private readonly now: () => number;

  constructor(private readonly opts: ReporterOptions) {
    this.write = opts.write ?? ((t) => void process.stdout.write(t));
    this.out = opts.out ?? ((l) => console.log(l));
    this.err = opts.err ?? ((l) => console.error(l));
    this.now = opts.now ?? Date.now;
  }

  info(message: string): void {
    this.line(this.out, message);
  }

  error(message: string): void {
    this.line(this.err, message);
  }

  /** The current state; shown at once on a terminal, every `plainEveryMs` (or on a state change) otherwise. */
  status(s: PublishStatus, force = false): void {
    const text = formatStatus(s);
    if (this.opts.tty) {
      this.lastStatus = text;
      this.write(`${clearLine}${this.opts.prefix} ${text}`);
      this.drawn = true;
      return;
    }
    const now = this.now();
    if (!force && now - this.lastPlainAt < this.opts.plainEveryMs) return;
    this.lastPlainAt = now;
    this.out(`${this.stamp()}${this.opts.prefix} ${text}`);
  }

  /** Ends the status line so the shell prompt starts on a fresh one. */
  close(): void {
    if (this.drawn) this.write('\n');
    this.drawn = false;
    this.lastStatus = undefined;
  }

  private line(sink: (line: string) => void, message: string): void {
    if (this.drawn) this.write(clearLine);
    sink(`${this.stamp()}${this.opts.prefix} ${message}`);
    if (this.drawn && this.lastStatus) this.write(`${this.opts.prefix} ${this.lastStatus}`);
  }

  private stamp(): string {
    return this.opts.tty ? '' : `${new Date(this.now()).toISOString()} `;
  }
}
