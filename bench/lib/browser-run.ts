import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../../test/_browser.ts';
import { type LatencySummary, quantile, summarize } from './stats.ts';

const clockSource = readFileSync(resolve('bench/lib/clock-source.js'), 'utf8');
const clockProbe = readFileSync(resolve('bench/lib/clock-probe.js'), 'utf8');

export interface ProbeResult {
  samples: [number, number][];
  badReads: number;
  firstFrameAtMs?: number;
  pageStartMs: number;
  stalls: [number, number][];
  /** At the first 20 stalls: currentTime and the last buffered ranges of each SourceBuffer. */
  stallDetails: Record<string, unknown>[];
  player: [number, number, number, number, number][];
}

export interface ViewerMeasurement {
  latency: LatencySummary;
  /** Page load → first decoded frame, ms. */
  startupMs: number;
  stalls: number;
  stallMs: number;
  /** The first 100 stalls: [ms after the first frame, duration ms]. */
  stallList: [number, number][];
  /** What each SourceBuffer held at the first 20 stalls (currentTime `t`, last buffered ranges). */
  stallDetails: Record<string, unknown>[];
  droppedFrames: number;
  totalFrames: number;
  badReads: number;
  /** The player's own view, medians over the run: live latency (s), video buffer (s), playback rate. */
  player: { liveLatencyS: number; bufferS: number; audioBufferS: number; playbackRate: number } | null;
}

function med(values: number[]): number {
  return quantile(
    values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b),
    0.5,
  );
}

/** One Chromium for the benchmark; timers are not throttled in pages that are not in front. */
export async function launchBenchBrowser(): Promise<Browser> {
  return launchChromium([
    '--disable-background-timer-throttling',
    '--disable-renderer-backgrounding',
    '--disable-backgrounding-occluded-windows',
  ]);
}

/** Opens the capture page with the clock canvas instead of a camera and waits until it is live. */
export async function startClockPublisher(browser: Browser, captureUrl: string): Promise<Page> {
  const page = await browser.newPage();
  await page.addInitScript(clockSource);
  await page.goto(captureUrl);
  await page.waitForFunction(
    () => (window as unknown as { dashrelayCapture?: { state: string } }).dashrelayCapture?.state === 'live',
    undefined,
    { timeout: 30_000 },
  );
  return page;
}

/** Opens a viewer page with the latency probe; returns a function that collects the results. */
export async function startProbedViewer(browser: Browser, viewerUrl: string) {
  const page = await browser.newPage();
  await page.addInitScript(clockProbe);
  await page.goto(viewerUrl);
  return {
    page,
    /** Waits for the first decoded frame (or throws after `timeoutMs`). */
    async firstFrame(timeoutMs = 60_000) {
      await page.waitForFunction(
        () => (window as unknown as { __benchProbe: ProbeResult }).__benchProbe.samples.length > 0,
        undefined,
        { timeout: timeoutMs },
      );
    },
    /** Collects what the probe saw; drops the first `warmupMs` after the first frame from the latency stats. */
    async collect(warmupMs: number): Promise<ViewerMeasurement> {
      const probe = await page.evaluate(
        () => (window as unknown as { __benchProbe: ProbeResult }).__benchProbe,
      );
      const quality = await page.evaluate(() => {
        const q = (document.querySelector('video') as HTMLVideoElement).getVideoPlaybackQuality();
        return { dropped: q.droppedVideoFrames, total: q.totalVideoFrames };
      });
      const first = probe.firstFrameAtMs ?? Number.NaN;
      const steady = probe.samples.filter((s) => s[0] >= first + warmupMs);
      const stalls = probe.stalls.filter((s) => s[0] >= first + warmupMs);
      return {
        latency: summarize(steady),
        startupMs: first - probe.pageStartMs,
        stalls: stalls.length,
        stallMs: stalls.reduce((a, s) => a + s[1], 0),
        stallList: stalls.slice(0, 100).map(([at, ms]) => [at - first, ms]),
        stallDetails: probe.stallDetails ?? [],
        droppedFrames: quality.dropped,
        totalFrames: quality.total,
        badReads: probe.badReads,
        player: probe.player.length
          ? {
              liveLatencyS: med(probe.player.map((p) => p[1])),
              bufferS: med(probe.player.map((p) => p[2])),
              playbackRate: med(probe.player.map((p) => p[3])),
              audioBufferS: med(probe.player.map((p) => p[4])),
            }
          : null,
      };
    },
  };
}
