import { spawnSync } from 'node:child_process';
import type { Browser } from 'playwright-core';
import { latencyMs, type MpdWatcher } from './_mpd.ts';
import type { RequestCounts } from './_proxy.ts';

/** One reading of a player's playback position. */
export interface PlayerSample {
  /** Wall clock of the reading, ms. */
  readonly atMs: number;
  /** Seconds (into the Period, or since AST for MSE players: see PlayerDef); null when unknown. */
  readonly positionS: number | null;
  /** Decoded video frames so far (players that can say). */
  readonly frames?: number;
  /** What the player itself reports as its live latency, ms (dash.js, Shaka). */
  readonly playerLatencyMs?: number;
  /**
   * False for readings too coarse to measure latency (VLC's get_time is whole seconds: only the
   * moment it ticks over is used).
   */
  readonly forLatency?: boolean;
}

export interface PlayerContext {
  /** The MPD through this player's counting proxy. */
  readonly manifestUrl: string;
  /** The proxy's origin (the server's pages and routes through it). */
  readonly origin: string;
  readonly stream: string;
  /** Shared headless Chromium (browser players only). */
  readonly browser?: Browser;
  /** A scratch directory for this run's files. */
  readonly workDir: string;
}

export interface PlayerHandle {
  readonly samples: PlayerSample[];
  /** Errors the player reported (its log's error lines, page errors, error events). */
  readonly errors: string[];
  /** Warnings and other notable log lines (bounded). */
  readonly warnings: string[];
  /** Stops the player; resolves with player-specific findings (e.g. ffprobe of ffmpeg's file). */
  stop(): Promise<Record<string, unknown>>;
}

export interface PlayerDef {
  readonly name: string;
  /** The position is time since AST (MSE currentTime) rather than seconds into the Period. */
  readonly positionIsPresentationTime: boolean;
  /** Undefined when the player can run here, else what is missing (and how to install it). */
  missing(): Promise<string | undefined>;
  start(ctx: PlayerContext): Promise<PlayerHandle>;
}

/** Bounded push, for logs. */
/** Calls `onLine` with each complete line of a child's output as it arrives (a line may span chunks). */
export function onLines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let pending = '';
  stream.on('data', (d: Buffer) => {
    pending += d.toString();
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) onLine(line);
  });
}

export function pushBounded(list: string[], line: string, max = 40): void {
  if (list.length < max) list.push(line.length > 400 ? `${line.slice(0, 400)}…` : line);
}

/** Whether `cmd` runs here (`which`). */
export function hasCommand(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

export function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))))] ?? Number.NaN;
}

/**
 * Seconds of media played between two wall-clock times: the sum of forward steps of the position that
 * are no faster than 2× real time (a seek to the live edge is a jump, not playback), and, when the
 * player counts frames, only while frames were decoded.
 */
export function playedSeconds(samples: readonly PlayerSample[], fromMs = 0, toMs = Infinity): number {
  let played = 0;
  let prev: PlayerSample | undefined;
  for (const s of samples) {
    if (s.atMs < fromMs || s.atMs > toMs || s.positionS === null) continue;
    if (prev && prev.positionS !== null) {
      const d = s.positionS - prev.positionS;
      const wall = (s.atMs - prev.atMs) / 1000;
      const decoded = s.frames === undefined || prev.frames === undefined || s.frames > prev.frames;
      // VLC's whole seconds can step by 1 within a short wall interval: allow one second of rounding.
      if (d > 0 && d <= 2 * wall + 1.01 && decoded) played += d;
    }
    prev = s;
  }
  return played;
}

export interface LatencyStats {
  samples: number;
  medianMs: number;
  p90Ms: number;
  minMs: number;
  maxMs: number;
  /** The player's own figure (median), where it reports one. */
  playerMedianMs: number | null;
}

/** Latency of the samples in [fromMs, toMs) while the position advanced, against the MPD of their time. */
export function latencyStats(
  samples: readonly PlayerSample[],
  watcher: MpdWatcher,
  positionIsPresentationTime: boolean,
  fromMs = 0,
  toMs = Infinity,
): LatencyStats & { series: [number, number, string][] } {
  const values: number[] = [];
  const own: number[] = [];
  const series: [number, number, string][] = [];
  let prev: PlayerSample | undefined;
  for (const s of samples) {
    if (s.positionS === null) continue;
    const advancing = prev?.positionS != null && s.positionS > prev.positionS;
    prev = s;
    if (s.atMs < fromMs || s.atMs >= toMs || !advancing || s.forLatency === false) continue;
    const t = watcher.at(s.atMs);
    if (!t) continue;
    const l = latencyMs(t, s.positionS, s.atMs, positionIsPresentationTime);
    values.push(l.latencyMs);
    series.push([Math.round(s.atMs), Math.round(l.latencyMs), l.periodId]);
    if (s.playerLatencyMs !== undefined && Number.isFinite(s.playerLatencyMs)) own.push(s.playerLatencyMs);
  }
  const round = (v: number) => (Number.isFinite(v) ? Math.round(v) : Number.NaN);
  return {
    samples: values.length,
    medianMs: round(quantile(values, 0.5)),
    p90Ms: round(quantile(values, 0.9)),
    minMs: round(Math.min(...values)),
    maxMs: round(Math.max(...values)),
    playerMedianMs: own.length > 0 ? round(quantile(own, 0.5)) : null,
    series,
  };
}

export type ScenarioName = 'steady' | 'republish' | 'throttled';

export interface PlayerResult {
  player: string;
  scenario: ScenarioName;
  sound: boolean;
  /** Decoded media advanced for at least the scenario's threshold (before the stop, for republish). */
  played: boolean;
  /** Seconds of media played (see playedSeconds). */
  playedS: number;
  /** Players started → first advance of the position, ms (null: never advanced). */
  startupMs: number | null;
  /** republish: position advancing again within 15 s of the restart; null for other scenarios. */
  resumedAfterRepublish: boolean | null;
  /** republish: seconds played in the 15 s after the restart. */
  playedAfterRestartS: number | null;
  latency: LatencyStats;
  counts: RequestCounts;
  errors: string[];
  warnings: string[];
  findings: Record<string, unknown>;
  /** [wall ms, latency ms, Period id] */
  latencySeries: [number, number, string][];
  /** Set when the player could not be started at all. */
  startError?: string;
}
