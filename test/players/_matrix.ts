import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { dashjsStock, dashjsViewer, shakaStock } from './_chromium.ts';
import { ffmpegCopy } from './_ffmpeg.ts';
import { gstDashdemux, gstPlaybin } from './_gstreamer.ts';
import {
  latencyStats,
  type PlayerDef,
  type PlayerHandle,
  type PlayerResult,
  playedSeconds,
  type ScenarioName,
} from './_harness.ts';
import { MpdWatcher } from './_mpd.ts';
import { CountingProxy } from './_proxy.ts';
import { Publisher } from './_publisher.ts';
import { vlcRc } from './_vlc.ts';

export const allPlayers: readonly PlayerDef[] = [
  dashjsViewer,
  dashjsStock,
  shakaStock,
  ffmpegCopy,
  gstPlaybin,
  gstDashdemux,
  vlcRc,
];

export const browserPlayers = new Set(['dashjs-viewer', 'dashjs-stock', 'shaka-stock']);

export interface ScenarioOptions {
  readonly serverUrl: string;
  readonly scenario: ScenarioName;
  readonly sound: boolean;
  readonly players: readonly PlayerDef[];
  /** Needed when a browser player is in `players`. */
  readonly browser?: Browser;
  /** steady: seconds of playing; throttled: seconds the 0.9× publisher runs (players start ~3 s in). */
  readonly durationS?: number;
  /** republish: publisher stops this many seconds after the players started (default 8)… */
  readonly stopAfterS?: number;
  /** …and restarts under the same name this many seconds later (default 4)… */
  readonly restartAfterS?: number;
  /** …and players get this long to play on by themselves (default 15). */
  readonly resumeWindowS?: number;
  /** throttled: the publisher's read rate (default 0.9). */
  readonly readRate?: number;
  /** The publisher's picture, WxH (default 1280x720, as the issue that asked for the matrix measured). */
  readonly size?: string;
  /**
   * Publish over RTMP as a camera or OBS does (x264, keyframes where `keyframes` says) instead of
   * `dashrelay publish`'s 1 s keyframes over WebSocket: the server copies the H.264 and segments
   * follow its GOPs.
   */
  readonly camera?: { readonly rtmpUrl: string; readonly keyframes: string };
  /** Stream name (default `players-<scenario>-<sound>-<time>`). */
  readonly stream?: string;
  readonly log?: (line: string) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs one scenario: publishes, starts every player at once (each behind its own counting proxy),
 * drives the publisher as the scenario says, stops the players and measures them.
 */
export async function runScenario(o: ScenarioOptions): Promise<PlayerResult[]> {
  const log = o.log ?? (() => {});
  const stream = o.stream ?? `players-${o.scenario}-${o.sound ? 'sound' : 'mute'}-${Date.now().toString(36)}`;
  const workDir = await mkdtemp(join(tmpdir(), 'dashrelay-players-'));
  const watcher = new MpdWatcher(`${o.serverUrl}/live/${stream}/manifest.mpd`);
  const readRate = o.scenario === 'throttled' ? (o.readRate ?? 0.9) : 1;
  let publisher = new Publisher({
    serverUrl: o.serverUrl,
    stream,
    sound: o.sound,
    readRate,
    ...(o.size && { size: o.size }),
    ...(o.camera && { camera: o.camera }),
  });
  const running: {
    def: PlayerDef;
    proxy: CountingProxy;
    handle?: PlayerHandle;
    startError?: string;
    workDir: string;
    stopped?: Promise<Record<string, unknown>>;
  }[] = [];
  const stop = (r: (typeof running)[number]) => {
    r.stopped ??= r.handle ? r.handle.stop().catch((e) => ({ stopError: String(e) })) : Promise.resolve({});
    return r.stopped;
  };
  const marks: {
    publishedMs: number;
    playersMs: number;
    stopMs?: number;
    restartMs?: number;
    endMs: number;
  } = {
    publishedMs: 0,
    playersMs: 0,
    endMs: 0,
  };
  try {
    await publisher.start();
    marks.publishedMs = Date.now();
    watcher.start();
    await watcher.first(20_000);
    // A couple of segments in, so that no player meets an MPD that lists nothing available yet.
    await sleep(2500);
    log(
      `${o.scenario}/${o.sound ? 'sound' : 'no sound'}: starting ${o.players.map((p) => p.name).join(', ')}`,
    );
    marks.playersMs = Date.now();
    await Promise.all(
      o.players.map(async (def) => {
        const proxy = new CountingProxy(o.serverUrl);
        const origin = await proxy.start();
        const dir = await mkdtemp(join(workDir, `${def.name}-`));
        const entry: (typeof running)[number] = { def, proxy, workDir: dir };
        running.push(entry);
        try {
          entry.handle = await def.start({
            manifestUrl: `${origin}/live/${stream}/manifest.mpd`,
            origin,
            stream,
            workDir: dir,
            ...(o.browser && { browser: o.browser }),
          });
        } catch (e) {
          entry.startError = String(e);
        }
      }),
    );

    if (o.scenario === 'republish') {
      // After the players started, so that each has had the time to show that it plays at all.
      const stopAt = marks.playersMs + (o.stopAfterS ?? 8) * 1000;
      await sleep(Math.max(0, stopAt - Date.now()));
      await publisher.stop();
      marks.stopMs = Date.now();
      log(`republish: publisher stopped`);
      await sleep((o.restartAfterS ?? 4) * 1000);
      publisher = new Publisher({
        serverUrl: o.serverUrl,
        stream,
        sound: o.sound,
        readRate,
        ...(o.size && { size: o.size }),
        ...(o.camera && { camera: o.camera }),
      });
      await publisher.start();
      marks.restartMs = Date.now();
      log(`republish: publisher restarted`);
      await sleep((o.resumeWindowS ?? 15) * 1000);
    } else {
      const durationS = o.durationS ?? (o.scenario === 'throttled' ? 120 : 20);
      const endAt =
        o.scenario === 'throttled'
          ? marks.publishedMs + durationS * 1000
          : marks.playersMs + durationS * 1000;
      await sleep(Math.max(0, endAt - Date.now()));
    }
    marks.endMs = Date.now();

    // All at once: a player still running while another is stopped would only load the machine.
    await Promise.all(running.map(stop));
    const results: PlayerResult[] = [];
    for (const r of running) {
      const findings = await stop(r);
      const samples = r.handle?.samples ?? [];
      const playedS = playedSeconds(samples, 0, marks.stopMs ?? marks.endMs);
      // Playing means media advanced for at least half the time the player had (minus 5 s to start);
      // before a republish's stop, that it advanced at all (≥ 1 s: the viewer page alone needs seconds).
      const had = ((marks.stopMs ?? marks.endMs) - marks.playersMs) / 1000;
      const played = playedS >= (marks.stopMs !== undefined ? 1 : Math.max(2, 0.5 * (had - 5)));
      const firstAdvance = samples.find(
        (s, i) => i > 0 && s.positionS !== null && (samples[i - 1]?.positionS ?? Infinity) < s.positionS,
      );
      let resumed: boolean | null = null;
      let playedAfterRestartS: number | null = null;
      if (marks.restartMs !== undefined) {
        const windowEnd = marks.restartMs + (o.resumeWindowS ?? 15) * 1000;
        // From 1 s after the restart: what was still buffered from the first session does not count.
        playedAfterRestartS = playedSeconds(samples, marks.restartMs + 1000, windowEnd);
        resumed = playedAfterRestartS >= 2;
      }
      const { series, ...latency } = latencyStats(
        samples,
        watcher,
        r.def.positionIsPresentationTime,
        marks.playersMs,
        marks.endMs + 1,
      );
      results.push({
        player: r.def.name,
        scenario: o.scenario,
        sound: o.sound,
        played,
        playedS: Math.round(playedS * 10) / 10,
        startupMs: firstAdvance ? firstAdvance.atMs - marks.playersMs : null,
        resumedAfterRepublish: resumed,
        playedAfterRestartS: playedAfterRestartS === null ? null : Math.round(playedAfterRestartS * 10) / 10,
        latency,
        counts: r.proxy.counts(),
        errors: r.handle?.errors ?? [],
        warnings: r.handle?.warnings ?? [],
        findings: {
          ...findings,
          samples: samples.length,
          mpdTimelines: watcher.history.map((t) => ({
            ast: new Date(t.astMs).toISOString(),
            periods: t.periods,
          })),
          marks: {
            playersAfterPublishMs: marks.playersMs - marks.publishedMs,
            ...(marks.stopMs !== undefined && { stopAfterPublishMs: marks.stopMs - marks.publishedMs }),
            ...(marks.restartMs !== undefined && {
              restartAfterPublishMs: marks.restartMs - marks.publishedMs,
            }),
            endAfterPublishMs: marks.endMs - marks.publishedMs,
          },
        },
        latencySeries: series,
        ...(r.startError !== undefined && { startError: r.startError }),
      });
    }
    return results;
  } finally {
    watcher.stop();
    await Promise.all(running.map(stop));
    await publisher.stop().catch(() => {});
    await Promise.all(running.map((r) => r.proxy.close()));
    await rm(workDir, { recursive: true, force: true });
  }
}

/**
 * How players share a run. `all`: everything at once (on 2 cores, several 720p decoders starve the
 * publisher's encoder, which then runs late, and the players meet 404s at the edge). `one`: each alone
 * (clean figures, slowest). `mixed`: each browser with one native player, the other native players
 * alone; ffmpeg last, so that it runs alone: when its dash demuxer asks for a segment that is not
 * there yet it retries at once, hundreds of times a second, and slows down whoever shares its run.
 */
export type Grouping = 'all' | 'one' | 'mixed';

export function groupPlayers(players: readonly PlayerDef[], grouping: Grouping): PlayerDef[][] {
  if (grouping === 'all') return [[...players]];
  if (grouping === 'one') return players.map((p) => [p]);
  const browsers = players.filter((p) => browserPlayers.has(p.name));
  const natives = players
    .filter((p) => !browserPlayers.has(p.name))
    .sort((a, b) => Number(a.name === ffmpegCopy.name) - Number(b.name === ffmpegCopy.name));
  const groups: PlayerDef[][] = browsers.map((b, i) => {
    const n = natives[i];
    return n ? [b, n] : [b];
  });
  for (const n of natives.slice(browsers.length)) groups.push([n]);
  return groups;
}

/** runScenario once per group (each with its own publish), results in `players` order. */
export async function runScenarioGrouped(
  o: Omit<ScenarioOptions, 'players'>,
  players: readonly PlayerDef[],
  grouping: Grouping,
): Promise<PlayerResult[]> {
  const results: PlayerResult[] = [];
  for (const group of groupPlayers(players, grouping))
    results.push(...(await runScenario({ ...o, players: group })));
  const order = players.map((p) => p.name);
  return results.sort((a, b) => order.indexOf(a.player) - order.indexOf(b.player));
}

/**
 * runScenarioGrouped, then each player that did not play runs once more alone. On two cores a loaded
 * moment (players decoding beside each other, CPU steal) can starve the publisher until its segments
 * come late; the first result is kept in `findings.firstTry` so the table still shows it.
 */
export async function runScenarioRetryingAlone(
  o: Omit<ScenarioOptions, 'players'>,
  players: readonly PlayerDef[],
  grouping: Grouping,
  passed: (r: PlayerResult) => boolean = (r) => r.played,
): Promise<PlayerResult[]> {
  const results = await runScenarioGrouped(o, players, grouping);
  const out: PlayerResult[] = [];
  for (const r of results) {
    const def = players.find((p) => p.name === r.player);
    if (passed(r) || r.startError !== undefined || !def) {
      out.push(r);
      continue;
    }
    const [again] = await runScenario({ ...o, players: [def] });
    out.push(
      again
        ? { ...again, findings: { ...again.findings, firstTry: { playedS: r.playedS, latency: r.latency } } }
        : r,
    );
  }
  return out;
}

const fmt = (v: number | null) => (v === null || !Number.isFinite(v) ? '-' : String(Math.round(v * 10) / 10));

/** One line per result: player × scenario × sound: played, latency, 404s, requests. */
export function formatTable(results: readonly PlayerResult[]): string {
  const head = [
    'player',
    'scenario',
    'sound',
    'played',
    'played s',
    'startup ms',
    'resumed',
    'median ms',
    'p90 ms',
    '404s',
    'requests',
    'max same URL',
    'errors',
  ];
  const rows = results.map((r) => [
    r.player,
    r.scenario,
    r.sound ? 'yes' : 'no',
    (r.startError ? 'START FAILED' : r.played ? 'yes' : 'NO') +
      (r.findings.firstTry ? ' (alone, 2nd try)' : ''),
    fmt(r.playedS),
    fmt(r.startupMs),
    r.resumedAfterRepublish === null ? '' : r.resumedAfterRepublish ? 'yes' : 'NO',
    fmt(r.latency.medianMs),
    fmt(r.latency.p90Ms),
    String(r.counts.notFound),
    String(r.counts.requests),
    String(r.counts.maxRepeatsOfOneUrl),
    String(r.errors.length),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
