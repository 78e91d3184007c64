import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signToken } from '../../src/auth/tokens.ts';
import { launchChromium } from '../_browser.ts';
import { eventually, sleep, startServer, type TestServer } from '../_setup.ts';

const secret = 'an-https-test-secret';

/**
 * A phone on the LAN: Chromium reaches the server under a name that is not localhost
 * (`phone-lan.test`, mapped to 127.0.0.1), so the page is a secure context only over HTTPS.
 */
const lanName = 'phone-lan.test';

async function captureState(page: Page): Promise<string | undefined> {
  return page.evaluate(
    () => (window as unknown as { dashrelayCapture?: { state: string } }).dashrelayCapture?.state,
  );
}

describe('HTTPS in headless Chromium: a camera page opened from another machine', () => {
  let https: TestServer;
  let http: TestServer;
  let browser: Browser;

  beforeAll(async () => {
    const config = { server: { host: '0.0.0.0' }, auth: { secret }, rtmp: { enabled: false } };
    https = await startServer({
      analyzers: [],
      config: {
        ...config,
        server: { ...config.server, tlsSelfSigned: true },
        auth: { secret, playTokens: ['phone'] },
      },
    });
    http = await startServer({ analyzers: [], config });
    browser = await launchChromium([`--host-resolver-rules=MAP ${lanName} 127.0.0.1`]);
  });
  afterAll(async () => {
    await browser?.close();
    await https?.close();
    await http?.close();
  });

  it('over plain HTTP the capture page says the camera needs a secure page and how to get one', async () => {
    const page = await browser.newPage();
    const port = new URL(http.url).port;
    await page.goto(`http://${lanName}:${port}/capture.html?stream=plain&autostart=1`);
    expect(await page.evaluate(() => window.isSecureContext)).toBe(false);
    await page.waitForFunction(() => document.body.innerText.includes('Camera access needs a secure page'));
    expect(await page.locator('body').innerText()).toContain('--tls-self-signed');
    if (process.env.SCREENSHOT_DIR)
      await page.screenshot({ path: `${process.env.SCREENSHOT_DIR}/capture-needs-https.png` });
    await page.close();
  });

  it('over HTTPS it captures, publishes over WSS with a token, and the viewer page plays it with a play token', {
    timeout: 120_000,
  }, async () => {
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const errors: string[] = [];
    const port = new URL(https.url).port;
    const token = await signToken(secret, { stream: 'phone', action: 'publish' }, 600);
    const capture = await context.newPage();
    capture.on('pageerror', (e) => errors.push(`capture: ${e.message}`));
    await capture.goto(
      `https://${lanName}:${port}/capture.html?stream=phone&autostart=1&width=640&height=360&fps=30&token=${token}`,
    );
    expect(await capture.evaluate(() => window.isSecureContext)).toBe(true);
    await capture.waitForFunction(
      () =>
        (window as unknown as { dashrelayCapture?: { state: string } }).dashrelayCapture?.state === 'live',
      undefined,
      { timeout: 30_000 },
    );
    await eventually(() => https.server.registry.get('phone'), 10_000, 'server session');

    const viewer = await context.newPage();
    viewer.on('pageerror', (e) => errors.push(`viewer: ${e.message}`));
    // dash.js asks for the MPD with the token; the served MPD carries it on to every segment URL.
    const playToken = await signToken(secret, { stream: 'phone', action: 'play' }, 600);
    const refused = await capture.evaluate(
      async (url) => (await fetch(url)).status,
      `https://${lanName}:${port}/live/phone/manifest.mpd`,
    );
    expect(refused).toBe(401);
    await viewer.goto(`https://${lanName}:${port}/viewer.html?stream=phone&token=${playToken}`);
    await viewer.waitForFunction(
      () => {
        const v = document.querySelector('video') as HTMLVideoElement | null;
        return v !== null && v.readyState >= 2 && v.currentTime > 0 && !v.paused;
      },
      undefined,
      { timeout: 45_000 },
    );
    const at = () => viewer.evaluate(() => (document.querySelector('video') as HTMLVideoElement).currentTime);
    if (process.env.SCREENSHOT_DIR) {
      await capture.screenshot({ path: `${process.env.SCREENSHOT_DIR}/capture-https.png` });
      await viewer.screenshot({ path: `${process.env.SCREENSHOT_DIR}/viewer-https.png` });
    }
    const first = await at();
    await sleep(5000);
    expect((await at()) - first).toBeGreaterThanOrEqual(4);
    expect(await captureState(capture)).toBe('live');
    expect(errors).toEqual([]);
    await context.close();
  });
});
