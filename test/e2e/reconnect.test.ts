import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../_browser.ts';
import { eventually, freePort, sleep, startServer, type TestServer } from '../_setup.ts';

type Hook = { state: string; reconnects: number };
const hookOf = (page: Page) =>
  page.evaluate(() => (window as unknown as { dashrelayCapture: Hook }).dashrelayCapture);
const videoTime = (page: Page) =>
  page.evaluate(() => (document.querySelector('video') as HTMLVideoElement | null)?.currentTime ?? 0);

/** Waits until the page's video time moves on by `seconds` from now. */
async function playsOn(page: Page, seconds: number, timeoutMs: number): Promise<void> {
  const from = await videoTime(page);
  await eventually(
    async () => ((await videoTime(page)) - from >= seconds ? true : undefined),
    timeoutMs,
    'video plays',
  );
}

describe('the capture and viewer pages come back by themselves after a server restart', () => {
  let port: number;
  let t: TestServer | undefined;
  let browser: Browser;
  beforeAll(async () => {
    port = await freePort();
    t = await startServer({ analyzers: [], config: { server: { port }, rtmp: { enabled: false } } });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('reconnects the capture page with backoff, keeps the camera on, and the viewer plays again', {
    timeout: 120_000,
  }, async () => {
    const url = `http://127.0.0.1:${port}`;
    const capture = await browser.newPage();
    const errors: string[] = [];
    capture.on('pageerror', (e) => errors.push(`capture: ${e.message}`));
    await capture.goto(`${url}/capture.html?stream=rc&autostart=1&width=640&height=360&fps=30&audio=0`);
    await eventually(
      async () => ((await hookOf(capture)).state === 'live' ? true : undefined),
      30_000,
      'live',
    );
    const viewer = await browser.newPage();
    viewer.on('pageerror', (e) => errors.push(`viewer: ${e.message}`));
    await viewer.goto(`${url}/viewer.html?stream=rc`);
    await playsOn(viewer, 2, 45_000);

    // The server goes away: the publisher is told 1001, the page waits and retries.
    await t?.close();
    t = undefined;
    await eventually(
      async () => ((await hookOf(capture)).state === 'reconnecting' ? true : undefined),
      10_000,
      'reconnecting',
    );
    expect(await capture.locator('#warning').innerText()).toMatch(/Reconnecting in \d/);
    await sleep(2000);
    t = await startServer({ analyzers: [], config: { server: { port }, rtmp: { enabled: false } } });
    const server = t;
    await eventually(
      async () => ((await hookOf(capture)).state === 'live' ? true : undefined),
      40_000,
      'live again',
    );
    expect((await hookOf(capture)).reconnects).toBeGreaterThanOrEqual(1);
    await eventually(() => server.server.registry.get('rc'), 10_000, 'the stream on the new server');
    await playsOn(viewer, 3, 45_000);
    expect(errors).toEqual([]);
    await capture.close();
    await viewer.close();
  });
});
