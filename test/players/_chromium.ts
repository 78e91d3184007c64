import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';
import { chromiumPath } from '../_browser.ts';
import {
  type PlayerContext,
  type PlayerDef,
  type PlayerHandle,
  type PlayerSample,
  pushBounded,
} from './_harness.ts';

const require = createRequire(import.meta.url);

/**
 * Shaka Player's compiled build: from the project (once `shaka-player` is a devDependency), else from
 * a private install (`npm install --prefix /tmp/shaka shaka-player`, or DASHRELAY_SHAKA_PREFIX).
 */
export function shakaPlayerPath(): string | undefined {
  const id = 'shaka-player/dist/shaka-player.compiled.js';
  for (const paths of [undefined, [process.env.DASHRELAY_SHAKA_PREFIX ?? '/tmp/shaka']]) {
    try {
      return paths ? require.resolve(id, { paths }) : require.resolve(id);
    } catch {
      // next
    }
  }
  return undefined;
}

/** In-page: what every browser player's page exposes to the sampler. */
interface PageSample {
  now: number;
  currentTime: number;
  frames: number;
  playerLatencyS: number | null;
  errors: string[];
}

const HARNESS_PREFIX = '/__players/';

function dashjsStockPage(manifestUrl: string): string {
  return `<!doctype html><meta charset="utf-8"><title>dash.js stock</title>
<video id="video" autoplay playsinline></video>
<script src="/vendor/dash.all.min.js"></script>
<script>
window.__errors = [];
const p = dashjs.MediaPlayer().create();
p.on(dashjs.MediaPlayer.events.ERROR, (e) => window.__errors.push('dash.js ERROR ' + JSON.stringify(e.error && (e.error.message || e.error.code) || e.error)));
p.on(dashjs.MediaPlayer.events.PLAYBACK_ERROR, (e) => window.__errors.push('PLAYBACK_ERROR ' + (e.error && e.error.message)));
p.initialize(document.getElementById('video'), ${JSON.stringify(manifestUrl)}, true);
window.__latency = () => { const l = p.getCurrentLiveLatency(); return Number.isFinite(l) ? l : null; };
</script>`;
}

function shakaPage(manifestUrl: string): string {
  return `<!doctype html><meta charset="utf-8"><title>Shaka stock</title>
<video id="video" autoplay playsinline></video>
<script src="${HARNESS_PREFIX}shaka-player.compiled.js"></script>
<script>
window.__errors = [];
(async () => {
  shaka.polyfill.installAll();
  const video = document.getElementById('video');
  const player = new shaka.Player();
  await player.attach(video);
  player.addEventListener('error', (e) => window.__errors.push('shaka error ' + e.detail.code + ' ' + JSON.stringify(e.detail.data).slice(0, 300)));
  window.__latency = () => { const l = player.getStats().liveLatency; return Number.isFinite(l) ? l : null; };
  try { await player.load(${JSON.stringify(manifestUrl)}); await video.play(); }
  catch (e) { window.__errors.push('shaka load ' + (e.code || '') + ' ' + (e.message || JSON.stringify(e.data || e).slice(0, 300))); }
})();
</script>`;
}

async function samplePage(page: Page): Promise<PageSample | null> {
  return page
    .evaluate(() => {
      const w = window as unknown as {
        __errors?: string[];
        __latency?: () => number | null;
        dashrelayViewer?: { latency: number | null };
      };
      const v = document.querySelector('video') as HTMLVideoElement | null;
      const errors = w.__errors?.splice(0) ?? [];
      let playerLatencyS: number | null = null;
      try {
        playerLatencyS = w.__latency ? w.__latency() : (w.dashrelayViewer?.latency ?? null);
      } catch {
        // the player is not ready
      }
      return {
        now: Date.now(),
        currentTime: v?.currentTime ?? 0,
        frames: v?.getVideoPlaybackQuality().totalVideoFrames ?? 0,
        playerLatencyS,
        errors,
      };
    })
    .catch(() => null);
}

type PageKind = 'dashjs-viewer' | 'dashjs-stock' | 'shaka';

async function startPagePlayer(kind: PageKind, ctx: PlayerContext): Promise<PlayerHandle> {
  if (!ctx.browser) throw new Error('browser players need ctx.browser');
  const page = await ctx.browser.newPage();
  const samples: PlayerSample[] = [];
  const errors: string[] = [];
  const warnings: string[] = [];
  page.on('pageerror', (e) => pushBounded(errors, `pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') pushBounded(errors, `console: ${m.text()}`);
    else if (m.type() === 'warning') pushBounded(warnings, `console: ${m.text()}`);
  });
  const shaka = shakaPlayerPath();
  await page.route(`${ctx.origin}${HARNESS_PREFIX}**`, async (route) => {
    const path = new URL(route.request().url()).pathname.slice(HARNESS_PREFIX.length);
    if (path === 'dashjs.html')
      return route.fulfill({ contentType: 'text/html', body: dashjsStockPage(ctx.manifestUrl) });
    if (path === 'shaka.html')
      return route.fulfill({ contentType: 'text/html', body: shakaPage(ctx.manifestUrl) });
    if (path === 'shaka-player.compiled.js' && shaka)
      return route.fulfill({ contentType: 'text/javascript', body: readFileSync(shaka, 'utf8') });
    return route.fulfill({ status: 404, body: 'not a harness file' });
  });
  const url =
    kind === 'dashjs-viewer'
      ? `${ctx.origin}/viewer.html?stream=${encodeURIComponent(ctx.stream)}`
      : `${ctx.origin}${HARNESS_PREFIX}${kind === 'shaka' ? 'shaka' : 'dashjs'}.html`;
  await page.goto(url);
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const s = await samplePage(page);
      if (s) {
        for (const e of s.errors) pushBounded(errors, e);
        samples.push({
          atMs: s.now,
          positionS: s.currentTime > 0 ? s.currentTime : null,
          frames: s.frames,
          ...(s.playerLatencyS !== null && { playerLatencyMs: s.playerLatencyS * 1000 }),
        });
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  })();
  return {
    samples,
    errors,
    warnings,
    async stop() {
      stopped = true;
      await loop;
      await page.close();
      return {};
    },
  };
}

async function chromiumMissing(): Promise<string | undefined> {
  return existsSync(chromiumPath)
    ? undefined
    : `Chromium not found at ${chromiumPath}: apt-get install chromium (or set CHROMIUM_PATH)`;
}

/** dash.js with the viewer page's settings: the server's own `/viewer.html?stream=…`. */
export const dashjsViewer: PlayerDef = {
  name: 'dashjs-viewer',
  positionIsPresentationTime: true,
  missing: chromiumMissing,
  start: (ctx) => startPagePlayer('dashjs-viewer', ctx),
};

/** dash.js as shipped (the server's `/vendor/dash.all.min.js`), stock settings, on a minimal page. */
export const dashjsStock: PlayerDef = {
  name: 'dashjs-stock',
  positionIsPresentationTime: true,
  missing: chromiumMissing,
  start: (ctx) => startPagePlayer('dashjs-stock', ctx),
};

/** Shaka Player, stock configuration, from the shaka-player npm package. */
export const shakaStock: PlayerDef = {
  name: 'shaka-stock',
  positionIsPresentationTime: true,
  async missing() {
    const c = await chromiumMissing();
    if (c) return c;
    return shakaPlayerPath()
      ? undefined
      : 'shaka-player not installed: npm install --save-dev shaka-player (or npm install --prefix /tmp/shaka shaka-player)';
  },
  start: (ctx) => startPagePlayer('shaka', ctx),
};
