/**
 * `npm run bench:fanout`: what N concurrent viewers cost the origin, and whether they hurt the one
 * viewer that is watching. Per N: a fresh `dashrelay serve`, one publisher (clock canvas, 1280×720 30 fps),
 * N plain-HTTP clients following the live edge in a separate process (bench/lib/load-worker.ts), and one
 * real dash.js viewer in Chromium whose glass-to-glass latency is measured from the burnt-in time.
 * Prints a table and writes bench/results/fanout-<time>.json.
 */
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import type { Browser } from 'playwright-core';
import type { StreamInfo } from '../src/api/stream-info.ts';
import {
  launchBenchBrowser,
  startClockPublisher,
  startProbedViewer,
  type ViewerMeasurement,
} from './lib/browser-run.ts';
import { type LoadCounters, type LoadTotals, type LoadWorker, startLoadWorker } from './lib/load-clients.ts';
import { CpuMeter, rssBytes } from './lib/proc-cpu.ts';
import { startServerProcess } from './lib/server-process.ts';
import { quantile } from './lib/stats.ts';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '1,50,200' },
    duration: { type: 'string', default: '60' },
    warmup: { type: 'string', default: '10' },
  },
});
const clientCounts = values.clients.split(',').map((s) => {
  const n = Number(s);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--clients: not a count: ${s}`);
  return n;
});
const durationS = Number(values.duration);
const warmupMs = Number(values.warmup) * 1000;
const size = { width: 1280, height: 720, fps: 30 };
const stream = 'bench';
/** The origin's per-viewer backlog bound (config maxViewerBufferBytes default), bytes. */
const viewerBufferBytes = 8 * 1024 * 1024;
const MiB = 1024 * 1024;

interface FanoutResult {
  clients: number;
  durationS: number;
  viewer: ViewerMeasurement;
  /** % of one core over the measured window. */
  serverCpuPct: number;
  ffmpegCpuPct: number;
  /** The load generator's process, % of one core (it shares the machine with everything else). */
  loadCpuPct: number;
  /** All processes on the machine, % of one core (so up to cores × 100). */
  machineCpuPct: number;
  /** Server RSS, bytes: before the clients started, then sampled every second over the window. */
  rss: { beforeClients: number | null; start: number | null; max: number | null; end: number | null };
  /** From `GET /api/streams/bench` over the window (includes the browser viewer). */
  origin: { bytesServed: number; cutOffTotal: number; openResponsesEnd: number };
  /** Client counters over the window, and totals for the whole run. */
  loadWindow: LoadCounters;
  loadTotals: Omit<LoadTotals, 'segments'>;
  /**
   * Media segments first completed by a client within the window: how many, and how many completions
   * all clients together had of them (ideally clients × segments).
   */
  windowSegments: { segments: number; completions: number };
  /**
   * Per segment, last client's completion minus first client's, ms, over the window's segments: the
   * delay the origin adds for the last of N viewers. Nothing to compare with one client.
   */
  spreadMs: { segments: number; median: number; p95: number; max: number };
  /**
   * How fast segment completions fall behind the SegmentTemplate's numbering, ms per s of run
   * (least-squares slope of SegmentCompletion.lagVsTemplateMs over the whole run), and its first and last
   * value, ms. Near 0 when each segment lasts exactly SegmentTemplate@duration.
   */
  templateDrift: { msPerS: number; firstLagMs: number; lastLagMs: number };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Busy and total jiffies of the whole machine (/proc/stat); idle and iowait count as not busy. */
function machineJiffies(): { busy: number; total: number } {
  const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '')
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  return { busy: total - (fields[3] ?? 0) - (fields[4] ?? 0), total };
}

async function viewerCounters(url: string): Promise<StreamInfo['viewers']> {
  const res = await fetch(`${url}/api/streams/${stream}`);
  if (!res.ok) throw new Error(`GET /api/streams/${stream}: ${res.status}`);
  return ((await res.json()) as StreamInfo).viewers;
}

/** Least-squares slope of `[timeMs, valueMs]` points, ms per s (NaN with fewer than 2 points). */
function slopePerS(points: readonly (readonly [number, number])[]): number {
  if (points.length < 2) return Number.NaN;
  const mx = points.reduce((a, p) => a + p[0], 0) / points.length;
  const my = points.reduce((a, p) => a + p[1], 0) / points.length;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den > 0 ? Math.round((num / den) * 10_000) / 10 : Number.NaN;
}

function diffCounters(a: LoadCounters, b: LoadCounters): LoadCounters {
  const out = { ...b };
  for (const k of Object.keys(out) as (keyof LoadCounters)[]) if (k !== 'clients') out[k] = b[k] - a[k];
  return out;
}

/** Runs `fn`, logging instead of throwing, so one failed cleanup step does not skip the others. */
async function quietly(what: string, fn: () => unknown): Promise<void> {
  try {
    await fn();
  } catch (err) {
    console.error(`bench:fanout: ${what}: ${(err as Error).message}`);
  }
}

async function runFanout(n: number): Promise<FanoutResult> {
  const server = await startServerProcess();
  let browser: Browser | undefined;
  let load: LoadWorker | undefined;
  let rssTimer: NodeJS.Timeout | undefined;
  try {
    browser = await launchBenchBrowser();
    await startClockPublisher(
      browser,
      `${server.url}/capture.html?stream=${stream}&autostart=1&audio=0&width=${size.width}&height=${size.height}&fps=${size.fps}`,
    );
    const rssBeforeClients = rssBytes(server.pid) ?? null;
    load = await startLoadWorker({
      baseUrl: server.url,
      stream,
      clients: n,
      representation: 0,
      rampMs: 1000,
      idleTimeoutMs: 10_000,
      readyTimeoutMs: 30_000,
      // Generous, only a bound in case this process dies without stopping it.
      maxLifetimeMs: (durationS + 180) * 1000,
    });
    const viewer = await startProbedViewer(
      browser,
      `${server.url}/viewer.html?stream=${stream}&sourceWidth=${size.width}`,
    );
    await viewer.firstFrame();

    const originBefore = await viewerCounters(server.url);
    const loadBefore = await load.snapshot();
    const serverCpu = new CpuMeter();
    const ffmpegCpu = new CpuMeter();
    const loadCpu = new CpuMeter();
    serverCpu.begin([server.pid]);
    ffmpegCpu.begin(server.ffmpegPids());
    loadCpu.begin([load.pid]);
    const machineBefore = machineJiffies();
    const windowStart = Date.now();
    const rssSamples: number[] = [];
    const sampleRss = () => {
      const b = rssBytes(server.pid);
      if (b !== undefined) rssSamples.push(b);
    };
    sampleRss();
    rssTimer = setInterval(sampleRss, 1000);

    await sleep(durationS * 1000);

    clearInterval(rssTimer);
    sampleRss();
    const windowEnd = Date.now();
    const machineAfter = machineJiffies();
    const serverCpuPct = serverCpu.end([server.pid]);
    const ffmpegCpuPct = ffmpegCpu.end(server.ffmpegPids());
    const loadCpuPct = loadCpu.end([load.pid]);
    const originAfter = await viewerCounters(server.url);
    const loadAfter = await load.snapshot();
    const m = await viewer.collect(warmupMs);
    const totals = await load.stop();
    load = undefined;

    const { segments, ...loadTotals } = totals;
    const inWindow = segments.filter((c) => c.firstMs >= windowStart && c.firstMs <= windowEnd);
    const spreads = inWindow
      .filter((c) => c.count > 1)
      .map((c) => c.lastMs - c.firstMs)
      .sort((a, b) => a - b);
    return {
      clients: n,
      durationS,
      viewer: m,
      serverCpuPct,
      ffmpegCpuPct,
      loadCpuPct,
      machineCpuPct:
        Math.round(
          ((machineAfter.busy - machineBefore.busy) / (machineAfter.total - machineBefore.total)) *
            cpus().length *
            1000,
        ) / 10,
      rss: {
        beforeClients: rssBeforeClients,
        start: rssSamples[0] ?? null,
        max: rssSamples.length ? Math.max(...rssSamples) : null,
        end: rssSamples.at(-1) ?? null,
      },
      origin: {
        bytesServed: originAfter.bytesServed - originBefore.bytesServed,
        cutOffTotal: originAfter.cutOff,
        openResponsesEnd: originAfter.openResponses,
      },
      loadWindow: diffCounters(loadBefore, loadAfter),
      loadTotals,
      windowSegments: {
        segments: inWindow.length,
        completions: inWindow.reduce((a, c) => a + c.count, 0),
      },
      spreadMs: {
        segments: spreads.length,
        median: quantile(spreads, 0.5),
        p95: quantile(spreads, 0.95),
        max: spreads.at(-1) ?? Number.NaN,
      },
      templateDrift: {
        msPerS: slopePerS(segments.map((c) => [c.firstMs, c.lagVsTemplateMs])),
        firstLagMs: segments[0]?.lagVsTemplateMs ?? Number.NaN,
        lastLagMs: segments.at(-1)?.lagVsTemplateMs ?? Number.NaN,
      },
    };
  } finally {
    clearInterval(rssTimer);
    const l = load;
    if (l) await quietly('stopping the clients', () => l.kill());
    const b = browser;
    if (b) await quietly('closing the browser', () => b.close());
    await quietly('stopping the server', () => server.close());
  }
}

const results: FanoutResult[] = [];
for (const n of clientCounts) {
  console.error(`bench:fanout: running N=${n} (${durationS} s)…`);
  results.push(await runFanout(n));
}

const fmt = (n: number | null, digits = 0) => (n === null || Number.isNaN(n) ? '–' : n.toFixed(digits));
const mib = (b: number | null) => (b === null ? '–' : (b / MiB).toFixed(0));
const rows = results.map((r) => {
  const w = r.loadWindow;
  return {
    clients: r.clients,
    'median ms': fmt(r.viewer.latency.medianMs),
    'p95 ms': fmt(r.viewer.latency.p95Ms),
    'max ms': fmt(r.viewer.latency.maxMs),
    stalls: `${r.viewer.stalls} (${fmt(r.viewer.stallMs)} ms)`,
    'server CPU %': fmt(r.serverCpuPct, 1),
    'ffmpeg CPU %': fmt(r.ffmpegCpuPct, 1),
    'load/machine CPU %': `${fmt(r.loadCpuPct, 0)}/${fmt(r.machineCpuPct, 0)}`,
    'RSS start/max MiB': `${mib(r.rss.start)}/${mib(r.rss.max)}`,
    'MB served': (r.origin.bytesServed / 1e6).toFixed(1),
    'client segs (expected)': `${r.windowSegments.completions} (${r.clients * r.windowSegments.segments})`,
    'spread p50/p95 ms': `${fmt(r.spreadMs.median)}/${fmt(r.spreadMs.p95)}`,
    'cut off': r.origin.cutOffTotal,
    'client err/reset/404': `${w.errors}/${w.disconnects}/${w.notFound}`,
  };
});
console.table(rows);
console.log(
  `CPU % are of one core (this machine has ${cpus().length}); load = the client process; client counts are over the ${durationS} s window;`,
);
console.log(
  'expected = clients × segments produced in the window; spread = last client − first client to have each whole segment.',
);
console.log(
  `segment numbering vs clock (segments end later than SegmentTemplate@duration says, ms per s): ${results
    .map(
      (r) =>
        `N=${r.clients}: ${fmt(r.templateDrift.msPerS, 1)} (${fmt(r.templateDrift.firstLagMs)} → ${fmt(r.templateDrift.lastLagMs)} ms)`,
    )
    .join(', ')}`,
);
const lo = results.reduce<FanoutResult | undefined>(
  (a, r) => (a && a.clients <= r.clients ? a : r),
  undefined,
);
const hi = results.reduce<FanoutResult | undefined>(
  (a, r) => (a && a.clients >= r.clients ? a : r),
  undefined,
);
if (lo && hi && lo !== hi) {
  const dP95 = hi.viewer.latency.p95Ms - lo.viewer.latency.p95Ms;
  const growth = (hi.rss.max ?? Number.NaN) - (lo.rss.max ?? Number.NaN);
  const bound = hi.clients * viewerBufferBytes;
  console.log(
    `p95 at N=${hi.clients} − p95 at N=${lo.clients} = ${fmt(dP95)} ms (target < 100 ms): ${dP95 < 100 ? 'met' : 'NOT met'}`,
  );
  console.log(
    `RSS growth N=${lo.clients}→N=${hi.clients} = ${fmt(growth / MiB, 1)} MiB (bound: ${hi.clients} × ${viewerBufferBytes / MiB} MiB per-connection buffer = ${bound / MiB} MiB): ${growth < bound ? 'within' : 'ABOVE'}`,
  );
}
await mkdir('bench/results', { recursive: true });
const file = `bench/results/fanout-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
await writeFile(
  file,
  `${JSON.stringify(
    {
      machine: { cpus: cpus().length, model: cpus()[0]?.model, memBytes: totalmem() },
      settings: {
        clients: clientCounts,
        durationS,
        warmupMs,
        size,
        stream,
        rampMs: 1000,
        viewerBufferBytes,
      },
      results,
    },
    null,
    2,
  )}\n`,
);
console.log(`wrote ${file}`);
process.exit(0);
