import { spawn } from 'node:child_process';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../_browser.ts';
import { eventually, ffmpeg, sleep, startServer, type TestServer } from '../_setup.ts';

/** Counts frames the <video> element presents (requestVideoFrameCallback) and hashes its pixels. */
async function sampleVideo(page: Page) {
  return page.evaluate(() => {
    const video = document.querySelector('video#video, video') as HTMLVideoElement;
    const w = window as unknown as { __frames?: number };
    if (w.__frames === undefined) {
      w.__frames = 0;
      const tick = () => {
        w.__frames = (w.__frames ?? 0) + 1;
        video.requestVideoFrameCallback(tick);
      };
      video.requestVideoFrameCallback(tick);
    }
    const canvas = document.createElement('canvas');
    canvas.width = 64;
    canvas.height = 36;
    const ctx = canvas.getContext('2d');
    ctx?.drawImage(video, 0, 0, 64, 36);
    const pixels = ctx?.getImageData(0, 0, 64, 36).data ?? new Uint8ClampedArray();
    let hash = 0;
    for (let i = 0; i < pixels.length; i += 4)
      hash = (hash * 31 + (pixels[i] ?? 0) + (pixels[i + 1] ?? 0)) | 0;
    return {
      currentTime: video.currentTime,
      readyState: video.readyState,
      paused: video.paused,
      width: video.videoWidth,
      presented: w.__frames ?? 0,
      hash,
    };
  });
}

/** Waits until the page's video element plays (data for the current frame, time moving, not paused). */
async function untilPlaying(page: Page): Promise<void> {
  await page.waitForFunction(
    () => {
      const v = document.querySelector('video') as HTMLVideoElement | null;
      return v !== null && v.readyState >= 2 && v.currentTime > 0 && !v.paused;
    },
    undefined,
    { timeout: 45_000 },
  );
}

/** For 8 s the 640-wide video plays on: its time advances and new frames keep being presented. */
async function expectPlaysOn(page: Page): Promise<void> {
  const first = await sampleVideo(page);
  await sleep(8000);
  const last = await sampleVideo(page);
  expect(last.width).toBe(640);
  expect(last.currentTime - first.currentTime).toBeGreaterThanOrEqual(7);
  // New frames keep being presented (a loaded 2-core machine renders fewer than 30 a second).
  expect(last.presented - first.presented).toBeGreaterThan(100);
}

describe('end to end in headless Chromium: capture page → server → viewer page', () => {
  let t: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    t = await startServer();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('publishes the fake camera with MediaRecorder and plays it live with dash.js for 10 s', {
    timeout: 120_000,
  }, async () => {
    const capture = await browser.newPage();
    const errors: string[] = [];
    capture.on('pageerror', (e) => errors.push(`capture: ${e.message}`));
    await capture.goto(`${t.url}/capture.html?stream=e2e&autostart=1&audio=1&width=640&height=360&fps=30`);
    await capture.waitForFunction(
      () =>
        (window as unknown as { dashrelayCapture?: { state: string } }).dashrelayCapture?.state === 'live',
      undefined,
      { timeout: 30_000 },
    );
    const session = await eventually(() => t.server.registry.get('e2e'), 10_000, 'server session');
    expect(session.info.mimeType).toMatch(/avc1|h264|vp8|vp9/);

    const viewer = await browser.newPage();
    viewer.on('pageerror', (e) => errors.push(`viewer: ${e.message}`));
    await viewer.goto(`${t.url}/viewer.html?stream=e2e`);
    await untilPlaying(viewer);

    const first = await sampleVideo(viewer);
    const hashes = new Set<number>([first.hash]);
    let previousTime = first.currentTime;
    let advances = 0;
    for (let i = 0; i < 11; i++) {
      await sleep(1000);
      const s = await sampleVideo(viewer);
      if (s.currentTime > previousTime) advances++;
      previousTime = s.currentTime;
      hashes.add(s.hash);
    }
    const last = await sampleVideo(viewer);
    expect(last.width).toBeGreaterThan(0);
    expect(last.currentTime - first.currentTime).toBeGreaterThanOrEqual(10);
    expect(advances).toBeGreaterThanOrEqual(10);
    expect(last.presented - first.presented).toBeGreaterThan(100);
    expect(hashes.size).toBeGreaterThan(5);

    const captureState = await capture.evaluate(
      () =>
        (window as unknown as { dashrelayCapture: { bytesSent: number; state: string } }).dashrelayCapture,
    );
    expect(captureState.state).toBe('live');
    expect(captureState.bytesSent).toBeGreaterThan(100_000);
    expect(errors).toEqual([]);
    await capture.close();
    await viewer.close();
  });

  it("records MP4 (Chromium's video/mp4 MediaRecorder, as Safari must) and plays it on the viewer page", {
    timeout: 90_000,
  }, async () => {
    const capture = await browser.newPage();
    const errors: string[] = [];
    capture.on('pageerror', (e) => errors.push(`capture: ${e.message}`));
    await capture.goto(
      `${t.url}/capture.html?stream=e2e-mp4&autostart=1&audio=1&width=640&height=360&fps=30&container=mp4`,
    );
    await capture.waitForFunction(
      () =>
        (window as unknown as { dashrelayCapture?: { state: string } }).dashrelayCapture?.state === 'live',
      undefined,
      { timeout: 30_000 },
    );
    const session = await eventually(() => t.server.registry.get('e2e-mp4'), 10_000, 'server session');
    expect(session.info.mimeType).toMatch(/^video\/mp4;codecs=avc1/);
    expect(session.info.media.container).toBe('mp4');
    // The page says what it sends.
    expect(await capture.textContent('#mime')).toMatch(/^video\/mp4/);

    const viewer = await browser.newPage();
    viewer.on('pageerror', (e) => errors.push(`viewer: ${e.message}`));
    await viewer.goto(`${t.url}/viewer.html?stream=e2e-mp4`);
    await untilPlaying(viewer);
    await expectPlaysOn(viewer);
    expect(errors).toEqual([]);
    await capture.close();
    await viewer.close();
    // The archive is the MP4 the recorder wrote.
    await eventually(
      () => t.server.registry.get('e2e-mp4') === undefined || undefined,
      20_000,
      'session end',
    );
    const { readdir } = await import('node:fs/promises');
    expect(await readdir(`${t.outputDir}/e2e-mp4/archive`)).toEqual([expect.stringMatching(/\.mp4$/)]);
  });

  it('plays an RTMP push (OBS-like x264 + AAC, 2 s keyframes) on the viewer page with dash.js', {
    timeout: 90_000,
  }, async () => {
    const obs = spawn(
      (await ffmpeg()).path,
      [
        ...[
          '-hide_banner',
          '-loglevel',
          'error',
          '-re',
          '-f',
          'lavfi',
          '-i',
          'testsrc2=size=640x360:rate=30',
        ],
        ...['-re', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-c:v', 'libx264'],
        ...['-preset', 'veryfast', '-b:v', '1500k', '-g', '60', '-pix_fmt', 'yuv420p', '-c:a', 'aac'],
        ...['-b:a', '160k', '-ar', '48000', '-f', 'flv', `${t.server.rtmpUrl}/obs`],
      ],
      { stdio: 'ignore' },
    );
    try {
      const viewer = await browser.newPage();
      const errors: string[] = [];
      viewer.on('pageerror', (e) => errors.push(e.message));
      // Opened before the publisher is live: the page waits for the stream, then plays.
      await viewer.goto(`${t.url}/viewer.html?stream=obs`);
      await untilPlaying(viewer);
      await expectPlaysOn(viewer);
      if (process.env.SCREENSHOT_DIR)
        await viewer.screenshot({ path: `${process.env.SCREENSHOT_DIR}/viewer-rtmp.png` });
      expect(errors).toEqual([]);
      await viewer.close();
    } finally {
      obs.kill('SIGKILL');
    }
  });
});
