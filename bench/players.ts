/**
 * `npm run bench:players`: real DASH players (dash.js with the viewer's and with stock settings, Shaka,
 * ffmpeg, GStreamer playbin and dashdemux, VLC) against a live dashrelay stream, per scenario (steady,
 * republish, throttled) with and without sound: did each play, its distance from the live edge, and how
 * many requests and 404s it made. Prints a table and writes bench/results/players-<time>.json.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import type { Browser } from 'playwright-core';
import type { PlayerResult, ScenarioName } from '../test/players/_harness.ts';
import {
  allPlayers,
  browserPlayers,
  formatTable,
  type Grouping,
  groupPlayers,
  runScenario,
} from '../test/players/_matrix.ts';
import { launchBenchBrowser } from './lib/browser-run.ts';
import { startServerProcess } from './lib/server-process.ts';

const { values } = parseArgs({
  options: {
    /** Any of steady, republish, throttled. */
    scenarios: { type: 'string', default: 'steady,republish,throttled' },
    /** both | yes | no */
    sound: { type: 'string', default: 'both' },
    /** Comma-separated player names, or all. */
    players: { type: 'string', default: 'all' },
    /** Seconds of playing in `steady`. */
    duration: { type: 'string', default: '20' },
    /** Seconds the 0.9× publisher runs in `throttled`. */
    'throttled-duration': { type: 'string', default: '120' },
    /** Read rate of the throttled publisher. */
    'read-rate': { type: 'string', default: '0.9' },
    /**
     * one: each player alone (default: on 2 cores, players decoding 720p beside each other starve the
     * publisher's encoder); mixed: one browser per run plus some native players; all: everything at once.
     */
    grouping: { type: 'string', default: 'one' },
  },
});

if (!['one', 'mixed', 'all'].includes(values.grouping))
  throw new Error('--grouping must be one, mixed or all');
const scenarios = values.scenarios.split(',').map((s) => s.trim()) as ScenarioName[];
const sounds = values.sound === 'both' ? [false, true] : [values.sound === 'yes'];
const wanted =
  values.players === 'all'
    ? allPlayers
    : allPlayers.filter((p) => values.players.split(',').includes(p.name));

const players = [];
const skipped: { player: string; missing: string }[] = [];
for (const p of wanted) {
  const missing = await p.missing();
  if (missing) {
    skipped.push({ player: p.name, missing });
    console.error(`skipping ${p.name}: ${missing}`);
  } else players.push(p);
}

const server = await startServerProcess();
let browser: Browser | undefined;
if (players.some((p) => browserPlayers.has(p.name))) browser = await launchBenchBrowser();
const results: PlayerResult[] = [];
const failures: { scenario: string; error: string }[] = [];
try {
  for (const scenario of scenarios) {
    for (const sound of sounds) {
      for (const group of groupPlayers(players, values.grouping as Grouping)) {
        try {
          const r = await runScenario({
            serverUrl: server.url,
            scenario,
            sound,
            players: group,
            ...(browser && { browser }),
            durationS: Number(scenario === 'throttled' ? values['throttled-duration'] : values.duration),
            readRate: Number(values['read-rate']),
            log: (line) => console.error(line),
          });
          results.push(...r);
          console.error(formatTable(r));
        } catch (e) {
          const exited = server.exited();
          const error = exited ? `${e} (the server had exited: ${exited})` : String(e);
          failures.push({ scenario: `${scenario}/${sound ? 'sound' : 'mute'}`, error });
          console.error(`${scenario} failed: ${error}`);
          if (exited) break;
        }
      }
    }
  }
} finally {
  await browser?.close();
  await server.close();
}

console.log('');
console.log(formatTable(results));
for (const r of results) {
  const notes = [
    ...r.errors.slice(0, 3).map((e) => `error: ${e}`),
    r.counts.notFound > 0 ? `404s: ${JSON.stringify(r.counts.notFoundUrls).slice(0, 300)}` : '',
    r.startError ? `start: ${r.startError}` : '',
  ].filter(Boolean);
  if (notes.length > 0)
    console.log(`\n${r.player} ${r.scenario}/${r.sound ? 'sound' : 'mute'}:\n  ${notes.join('\n  ')}`);
}
for (const s of skipped) console.log(`skipped ${s.player}: ${s.missing}`);

await mkdir('bench/results', { recursive: true });
const file = `bench/results/players-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
await writeFile(
  file,
  JSON.stringify(
    {
      date: new Date().toISOString(),
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGB: Math.round(totalmem() / 1e9) },
      options: values,
      results,
      skipped,
      failures,
    },
    null,
    2,
  ),
);
console.log(`\nwrote ${file}`);
if (failures.length > 0) process.exitCode = 1;
