/**
 * `npm run bench:latency`: glass-to-glass latency of dashrelay against the naive design, measured with
 * real Chromium on both ends and the time burnt into the picture (bench/lib/clock-source.js).
 * Prints a table and writes bench/results/latency-<time>.json.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { locateFfmpeg } from '../src/ffmpeg/ffmpeg-locate.ts';
import {
  launchBenchBrowser,
  startClockPublisher,
  startProbedViewer,
  type ViewerMeasurement,
} from './lib/browser-run.ts';
import { startNaiveServer } from './lib/naive-server.ts';
import { CpuMeter } from './lib/proc-cpu.ts';
import { startServerProcess } from './lib/server-process.ts';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '300' },
    /**
     * Seconds; default the same as --duration. The naive design's latency grows by a stall's length
     * after every stall (no catch-up), so a short window mostly measures how its start happened to go.
     */
    'baseline-duration': { type: 'string', default: '' },
    warmup: { type: 'string', default: '10' },
    /** A second viewer opens after the run and is measured for this many seconds (0: none). */
    'late-join': { type: 'string', default: '30' },
    /** Any of low, low-audio, normal, baseline. */
    scenarios: { type: 'string', default: 'low,low-audio,baseline' },
    width: { type: 'string', default: '1280' },
    height: { type: 'string', default: '720' },
    fps: { type: 'string', default: '30' },
    /** Extra query for the viewer page, e.g. `&liveDelay=0.3` (experiments). */
    viewer: { type: 'string', default: '' },
    /** Extra query for the capture page, e.g. `&timeslice=20` (experiments). */
    capture: { type: 'string', default: '' },
  },
});
const durationS = Number(values.duration);
const warmupMs = Number(values.warmup) * 1000;
const size = { width: Number(values.width), height: Number(values.height), fps: Number(values.fps) };

interface ScenarioResult extends ViewerMeasurement {
  scenario: string;
  durationS: number;
  serverCpuPct: number | null;
  ffmpegCpuPct: number | null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const captureQuery = (audio: boolean, extra = '') =>
  `stream=bench&autostart=1&audio=${audio ? 1 : 0}&width=${size.width}&height=${size.height}&fps=${size.fps}${extra}${values.capture}`;

async function runDashrelay(
  name: string,
  audio: boolean,
  seconds: number,
  serverArgs: readonly string[] = [],
): Promise<ScenarioResult[]> {
  const server = await startServerProcess(serverArgs);
  const browser = await launchBenchBrowser();
  try {
    await startClockPublisher(browser, `${server.url}/capture.html?${captureQuery(audio)}`);
    const viewer = await startProbedViewer(
      browser,
      `${server.url}/viewer.html?stream=bench&sourceWidth=${size.width}${values.viewer}`,
    );
    await viewer.firstFrame();
    const serverCpu = new CpuMeter();
    const ffmpegCpu = new CpuMeter();
    serverCpu.begin([server.pid]);
    ffmpegCpu.begin(server.ffmpegPids());
    await sleep(seconds * 1000);
    const m = await viewer.collect(warmupMs);
    const main: ScenarioResult = {
      scenario: name,
      durationS: seconds,
      ...m,
      serverCpuPct: serverCpu.end([server.pid]),
      ffmpegCpuPct: ffmpegCpu.end(server.ffmpegPids()),
    };
    const lateS = Number(values['late-join']);
    if (lateS <= 0) return [main];
    // A viewer that opens the page minutes into the session: it finds the live edge from the MPD alone
    // (SegmentTemplate@duration × segment number), which is where a template that drifted from the
    // media would show (startup in a gap, stalls).
    const late = await startProbedViewer(
      browser,
      `${server.url}/viewer.html?stream=bench&sourceWidth=${size.width}${values.viewer}`,
    );
    await late.firstFrame();
    await sleep(lateS * 1000);
    const lm = await late.collect(Math.min(warmupMs, (lateS * 1000) / 3));
    return [
      main,
      {
        scenario: `${name}, joined after ${seconds} s`,
        durationS: lateS,
        ...lm,
        serverCpuPct: null,
        ffmpegCpuPct: null,
      },
    ];
  } finally {
    await browser.close();
    await server.close();
  }
}

async function runBaseline(seconds: number): Promise<ScenarioResult> {
  const ffmpeg = await locateFfmpeg();
  const naive = await startNaiveServer(ffmpeg.path, 'output/.bench-naive');
  const browser = await launchBenchBrowser();
  try {
    await startClockPublisher(browser, `${naive.url}/capture.html?${captureQuery(false, '&timeslice=1000')}`);
    // dash.js gives up on a manifest that is missing or empty, as a person would reload: open the
    // viewer once the first segment is listed.
    for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(500)) {
      const mpd = await fetch(`${naive.url}/dash/manifest.mpd`).then((r) => (r.ok ? r.text() : ''));
      if (mpd.includes('<S ')) break;
    }
    const viewer = await startProbedViewer(
      browser,
      `${naive.url}/naive-viewer.html?sourceWidth=${size.width}`,
    );
    await viewer.firstFrame(120_000);
    const ffmpegCpu = new CpuMeter();
    const pid = naive.ffmpegPid();
    ffmpegCpu.begin(pid ? [pid] : []);
    await sleep(seconds * 1000);
    const m = await viewer.collect(warmupMs);
    return {
      scenario: 'baseline (naive)',
      durationS: seconds,
      ...m,
      serverCpuPct: null,
      ffmpegCpuPct: ffmpegCpu.end(pid ? [pid] : []),
    };
  } finally {
    await browser.close();
    await naive.close();
  }
}

const results: ScenarioResult[] = [];
const failures: { scenario: string; error: string }[] = [];
const scenarios: Record<string, () => Promise<ScenarioResult | ScenarioResult[]>> = {
  low: () => runDashrelay('dashrelay low, video', false, durationS),
  'low-audio': () => runDashrelay('dashrelay low, video+audio', true, durationS),
  normal: () => runDashrelay('dashrelay --latency normal, video', false, durationS, ['--latency', 'normal']),
  baseline: () => runBaseline(Number(values['baseline-duration'] || durationS)),
};
for (const s of values.scenarios.split(',')) {
  const run = scenarios[s];
  if (!run) throw new Error(`unknown scenario ${s}; use ${Object.keys(scenarios).join(', ')}`);
  console.error(`bench:latency: running ${s}…`);
  try {
    for (const r of [await run()].flat()) {
      results.push(r);
      // Each scenario is printed as it ends, so a failure later does not lose minutes of measurement.
      console.error(
        JSON.stringify({ scenario: r.scenario, latency: r.latency, stalls: r.stalls, stallMs: r.stallMs }),
      );
    }
  } catch (err) {
    failures.push({ scenario: s, error: (err as Error).message });
    console.error(`bench:latency: ${s} failed: ${(err as Error).message}`);
  }
}

const fmt = (n: number | null, digits = 0) => (n === null || Number.isNaN(n) ? '–' : n.toFixed(digits));
const rows = results.map((r) => ({
  scenario: r.scenario,
  'run s': r.durationS,
  'median ms': fmt(r.latency.medianMs),
  'p95 ms': fmt(r.latency.p95Ms),
  'max ms': fmt(r.latency.maxMs),
  'drift ms': fmt(r.latency.driftMs),
  stalls: `${r.stalls} (${fmt(r.stallMs)} ms)`,
  'startup ms': fmt(r.startupMs),
  dropped: `${r.droppedFrames}/${r.totalFrames}`,
  'server CPU %': fmt(r.serverCpuPct, 1),
  'ffmpeg CPU %': fmt(r.ffmpegCpuPct, 1),
  'player latency/video/audio buffer s': r.player
    ? `${r.player.liveLatencyS.toFixed(2)}/${r.player.bufferS.toFixed(2)}/${fmt(r.player.audioBufferS, 2)}`
    : '–',
}));
console.table(rows);
for (const f of failures) console.log(`FAILED ${f.scenario}: ${f.error}`);
const base = results.find((r) => r.scenario.startsWith('baseline'));
const best = results.find((r) => r.scenario === 'dashrelay low, video');
if (base && best) {
  console.log(
    `baseline median / dashrelay median = ${(base.latency.medianMs / best.latency.medianMs).toFixed(1)}×`,
  );
}
await mkdir('bench/results', { recursive: true });
const file = `bench/results/latency-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
await writeFile(
  file,
  `${JSON.stringify({ machine: { cpus: cpus().length, model: cpus()[0]?.model, memBytes: totalmem() }, size, warmupMs, results, failures }, null, 2)}\n`,
);
console.log(`wrote ${file}`);
process.exit(0);
