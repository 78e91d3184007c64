// @ts-check
// The viewer page: finds the stream, attaches dash.js, shows its figures and the analysis events. The
// player's settings are in ./viewer/player-settings.js.
import {
  el,
  elementsById,
  formatBitrate,
  formatClock,
  formatCodecs,
  formatFps,
  formatResolution,
  formatSince,
  getJson,
  setPill,
  streamNamePattern,
} from './common.js';
import { liveDelayOf, playerSettings } from './viewer/player-settings.js';

/** @typedef {import('./common.js').StreamInfo} StreamInfo */
/** @typedef {import('dashjs').MediaPlayerClass} DashPlayer */

/**
 * One analysis result (docs/protocol.md, `AnalysisEvent`).
 * @typedef {object} AnalysisEvent
 * @property {string} stream
 * @property {string} plugin
 * @property {string} type
 * @property {number} ptsMs
 * @property {number} wallClockMs
 * @property {Record<string, unknown>} [data]
 */

/**
 * Read by automated tests (bench/lib/clock-probe.js reads `player`).
 * @typedef {object} ViewerHook
 * @property {string} state `waiting` | `live` | `ended` | `no-stream`
 * @property {DashPlayer | null} player
 * @property {AnalysisEvent[]} events newest first
 * @property {StreamInfo | null} info
 * @property {number | null} latency what dash.js reports, s
 */

const POLL_MS = 2000;
const MAX_EVENTS = 50;
const ENDED_PAUSE_MS = 3000; // long enough to read "stream ended" before the page goes back to waiting
const params = new URLSearchParams(location.search);
const name = params.get('stream') ?? '';
/** A play token on the page's URL (`viewer.html?stream=…&token=…`), passed on to the MPD and the API. */
const playToken = params.get('token');
/** @param {string} url */
const withToken = (url) =>
  playToken ? `${url}${url.includes('?') ? '&' : '?'}token=${encodeURIComponent(playToken)}` : url;
/** Player live delay, s, until a stream's own is known (see liveDelayOf). */
let liveDelay = liveDelayOf(null, params);

/** @type {ViewerHook} */
const hook = { state: 'waiting', player: null, events: [], info: null, latency: null };
window.dashrelayViewer = hook;

const ui = elementsById({
  picker: HTMLElement,
  pickName: HTMLInputElement,
  pickLive: HTMLElement,
  watch: HTMLElement,
  title: HTMLElement,
  state: HTMLElement,
  error: HTMLElement,
  frame: HTMLElement,
  video: HTMLVideoElement,
  overlay: HTMLElement,
  overlayTitle: HTMLElement,
  overlayText: HTMLElement,
  unmute: HTMLButtonElement,
  jump: HTMLButtonElement,
  playNote: HTMLElement,
  latency: HTMLElement,
  target: HTMLElement,
  buffer: HTMLElement,
  rate: HTMLElement,
  resolution: HTMLElement,
  fps: HTMLElement,
  codecs: HTMLElement,
  ingest: HTMLElement,
  since: HTMLElement,
  eventCount: HTMLElement,
  eventsEmpty: HTMLElement,
  events: HTMLOListElement,
});
let video = ui.video;

/**
 * Gives the next player a new <video> element in place of the old one. dash.js (5.x) leaves
 * listeners on the element it was given (a playback-rate change waiting for `canplay`) that fire,
 * after its reset, into a model whose element is gone and throw; a fresh element has none.
 */
function replaceVideo() {
  const fresh = /** @type {HTMLVideoElement} */ (video.cloneNode(false));
  fresh.muted = video.muted;
  video.replaceWith(fresh);
  video = fresh;
  ui.video = fresh;
  wireVideo(fresh);
}
/** @type {DashPlayer | null} */
let player = null;
/** @type {string | null} sessionId the player is attached to */
let playingSession = null;
/** @type {string | null} a finished sessionId, so a late poll answer cannot revive it */
let endedSession = null;
/** @type {ReturnType<typeof setTimeout> | undefined} */
let endedTimer;
let attachToken = 0; // bumps on every attach/detach so stale async steps give up

/**
 * @param {string} state
 * @param {string} [title]
 * @param {string | Node} [text]
 */
function setState(state, title, text = '') {
  hook.state = state;
  setPill(ui.state, state);
  ui.overlay.hidden = state === 'live';
  ui.overlayTitle.textContent = title ?? '';
  ui.overlayText.replaceChildren(text);
}

function waitingText() {
  const link = el(
    'a',
    { href: `/capture.html?stream=${encodeURIComponent(name)}` },
    `/capture.html?stream=${name}`,
  );
  return el('span', {}, 'Start publishing at ', link, ' — playback begins automatically.');
}

/**
 * The stream as a source the server pulls (sources file), if it is one: a camera is not published
 * from a capture page, so the waiting text says what the server is doing instead.
 * @returns {Promise<{ state: string, lastError: { message: string } | null } | undefined>}
 */
async function pulledSource() {
  const res = await fetch('/api/sources', { cache: 'no-store' }).catch(() => null);
  if (!res?.ok) return undefined;
  /** @type {{ sources?: { name: string, state: string, lastError: { message: string } | null }[] }} */
  const body = await res.json().catch(() => ({}));
  return body.sources?.find((s) => s.name === name);
}

function showWaiting() {
  setState('waiting', `Waiting for stream ${name} to go live…`, waitingText());
  void pulledSource().then((source) => {
    if (!source || hook.state !== 'waiting') return;
    const text =
      source.state === 'retrying' && source.lastError
        ? `The camera does not answer (${source.lastError.message}); the server keeps trying by itself.`
        : 'The server is connecting to the camera; playback begins automatically.';
    setState('waiting', `Connecting to camera ${name}…`, text);
  });
}

/** @param {StreamInfo} info */
function createPlayer(info) {
  const dashjs = window.dashjs;
  const p = dashjs.MediaPlayer().create();
  liveDelay = liveDelayOf(info, params);
  p.updateSettings(playerSettings(info, params, location.origin));
  const events = dashjs.MediaPlayer.events;
  p.on(events.ERROR, (e) => {
    // Some dash.js errors are only a category string, which says no more than "unknown".
    const err = typeof e.error === 'object' ? e.error : null;
    onPlayerError(err?.message ?? err?.code ?? 'unknown error');
  });
  p.on(events.PLAYBACK_ERROR, (e) => onPlayerError(e.error?.message ?? 'the video element failed'));
  p.on(events.PLAYBACK_NOT_ALLOWED, () => {
    ui.playNote.textContent = 'The browser blocked autoplay: click the video to start.';
  });
  return p;
}

/** @param {StreamInfo} info */
async function attach(info) {
  const token = ++attachToken;
  const manifestUrl = withToken(info.manifestUrl ?? `/live/${encodeURIComponent(name)}/manifest.mpd`);
  // The API can report "live" a moment before ffmpeg has written the first manifest; dash.js would
  // fail hard on a 404, so wait for it here.
  const res = await fetch(manifestUrl, { cache: 'no-store' }).catch(() => null);
  if (token !== attachToken) return;
  if (!res?.ok) {
    setState('waiting', `Stream ${name} is starting…`, 'The first video segments are being prepared.');
    return;
  }
  destroyPlayer();
  playingSession = info.sessionId;
  player = createPlayer(info);
  hook.player = player;
  player.initialize(video, manifestUrl, true);
  ui.unmute.disabled = !info.codecs?.audio || info.codecs.audio === 'none';
  ui.unmute.textContent = ui.unmute.disabled ? 'No audio' : video.muted ? 'Unmute' : 'Mute';
  setState('live');
}

function detach() {
  attachToken++;
  destroyPlayer();
}

function destroyPlayer() {
  if (player) {
    player.destroy();
    replaceVideo();
  }
  player = null;
  hook.player = null;
  hook.latency = null;
  playingSession = null;
  ui.jump.disabled = true;
  ui.unmute.disabled = true;
  ui.unmute.textContent = video.muted ? 'Unmute' : 'Mute';
  ui.playNote.textContent = '';
}

/** @param {string | number} message */
function onPlayerError(message) {
  // Usually a restart on the server side; the next poll attaches again if the stream is still live.
  showError(`Playback problem: ${message}. Retrying…`);
  detach();
  showWaiting();
}

/** @param {string} text `''` hides the box */
function showError(text) {
  ui.error.hidden = !text;
  ui.error.textContent = text ?? '';
}

/**
 * One place for "here is what the server says now", from polling and from SSE alike.
 * @param {StreamInfo | null} info
 */
function onInfo(info) {
  if (!info) return onGone();
  if (info.sessionId && info.sessionId === endedSession) return;
  hook.info = info;
  renderInfo(info);
  if (info.packager === 'exited') {
    detach();
    setState(
      'waiting',
      'Live playback is unavailable',
      'The server’s DASH packager stopped; it is still recording.',
    );
    return;
  }
  if (player && playingSession === info.sessionId) return;
  clearTimeout(endedTimer);
  if (info.packager !== 'running') {
    if (!player)
      setState('waiting', `Stream ${name} is starting…`, 'The first video segments are being prepared.');
    return;
  }
  showError('');
  attach(info);
}

function onGone() {
  showError(''); // the server answered, and any playback error was just the stream going away
  hook.info = null;
  renderInfo(null);
  if (hook.state !== 'live' && !player) {
    if (hook.state !== 'ended') showWaiting();
    return;
  }
  endedSession = playingSession;
  detach();
  setState('ended', 'Stream ended', `Waiting for ${name} to go live again…`);
  clearTimeout(endedTimer);
  endedTimer = setTimeout(showWaiting, ENDED_PAUSE_MS);
}

/** @param {StreamInfo | null} info */
function renderInfo(info) {
  ui.resolution.textContent = info ? formatResolution(info) : '–';
  ui.fps.textContent = info ? formatFps(info) : '–';
  ui.codecs.textContent = info ? formatCodecs(info) : '–';
  ui.ingest.textContent = info ? formatBitrate(info.bitrateBps) : '–';
  ui.since.textContent = info ? formatSince(info.since) : '–';
}

async function poll() {
  try {
    /** @type {{ status: number, body: StreamInfo | null }} */
    const { status, body } = await getJson(withToken(`/api/streams/${encodeURIComponent(name)}`));
    if (status === 200) onInfo(body);
    else if (status === 404) onGone();
    else throw new Error(`HTTP ${status}`);
    if (ui.error.textContent.startsWith('Cannot reach')) showError('');
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    showError(`Cannot reach the dashrelay server (${why}). Retrying every ${POLL_MS / 1000} s…`);
  } finally {
    setTimeout(poll, POLL_MS);
  }
}

/**
 * dash.js throws from some getters until playback is initialised; "unknown" is the honest answer then.
 * @param {(p: DashPlayer) => number} fn
 */
function safe(fn) {
  try {
    return player ? fn(player) : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

function updatePlaybackStats() {
  const ready = Boolean(player?.isReady());
  const latency = safe((p) => p.getCurrentLiveLatency());
  const target = safe((p) => p.getTargetLiveDelay());
  hook.latency = Number.isFinite(latency) && latency > 0 ? latency : null;
  ui.latency.textContent = hook.latency === null ? '–' : `${hook.latency.toFixed(2)} s`;
  ui.target.textContent = Number.isFinite(target) && target > 0 ? `${target.toFixed(2)} s` : '–';
  const buffer = safe((p) => p.getBufferLength('video'));
  ui.buffer.textContent = Number.isFinite(buffer) ? `${buffer.toFixed(2)} s` : '–';
  ui.rate.textContent = ready ? `${video.playbackRate.toFixed(2)}×` : '–';
  // "Well above" = more than a second behind the target, which catch-up alone fixes only slowly.
  ui.jump.disabled = !(
    hook.latency !== null && hook.latency > (target || liveDelay) + Math.max(0.5, liveDelay)
  );
  if (hook.info) ui.since.textContent = formatSince(hook.info.since);
}

/**
 * @param {AnalysisEvent} ev
 * @param {boolean} fresh arrived live (highlighted), not from the history
 */
function eventItem(ev, fresh) {
  const score = typeof ev.data?.score === 'number' ? ev.data.score.toFixed(1) : '';
  const label = ev.plugin && ev.plugin !== ev.type ? `${ev.type} (${ev.plugin})` : ev.type;
  return el(
    'li',
    { class: fresh ? 'fresh' : undefined },
    el('time', { datetime: new Date(ev.wallClockMs).toISOString() }, formatClock(ev.wallClockMs)),
    el('span', {}, label),
    el('span', { class: 'score', title: score ? 'score' : undefined }, score),
  );
}

/**
 * @param {AnalysisEvent[]} events newest first
 * @param {boolean} fresh
 */
function addEvents(events, fresh) {
  hook.events = [...events, ...hook.events].slice(0, MAX_EVENTS);
  ui.events.prepend(...events.map((ev) => eventItem(ev, fresh)));
  while (ui.events.children.length > MAX_EVENTS) ui.events.lastElementChild?.remove();
  ui.eventsEmpty.hidden = hook.events.length > 0;
  ui.eventCount.textContent = hook.events.length ? `latest ${hook.events.length}` : '';
}

/** @type {ReturnType<typeof setTimeout> | undefined} */
let motionTimer;

function flashMotion() {
  ui.frame.classList.add('motion');
  clearTimeout(motionTimer);
  motionTimer = setTimeout(() => ui.frame.classList.remove('motion'), 600);
}

async function loadHistory() {
  try {
    /** @type {{ status: number, body: { events?: AnalysisEvent[] } | null }} */
    const { status, body } = await getJson(withToken(`/api/streams/${encodeURIComponent(name)}/events`));
    if (status !== 200 || !Array.isArray(body?.events)) return;
    const newest = [...body.events].sort((a, b) => b.wallClockMs - a.wallClockMs).slice(0, MAX_EVENTS);
    addEvents(newest, false);
  } catch {
    // History is a nicety; live events still arrive over SSE.
  }
}

function subscribe() {
  // EventSource reconnects by itself after network hiccups or a server restart.
  const source = new EventSource(withToken(`/api/streams/${encodeURIComponent(name)}/events/live`));
  source.addEventListener('analysis', (e) => {
    /** @type {AnalysisEvent} */
    const ev = JSON.parse(e.data);
    addEvents([ev], true);
    if (ev.type === 'motion') flashMotion();
  });
  source.addEventListener('state', (e) => {
    /** @type {{ live: boolean, info: StreamInfo | null }} */
    const msg = JSON.parse(e.data);
    if (msg.live) onInfo(msg.info);
    else onGone();
  });
}

/** @param {string} [message] */
function showPicker(message) {
  hook.state = 'no-stream';
  ui.picker.hidden = false;
  ui.pickName.value = name;
  if (message) showError(message);
  getJson('/api/streams')
    .then((/** @type {{ body: { streams?: StreamInfo[] } | null }} */ { body }) => {
      const live = (body?.streams ?? []).map((s) => s.name);
      if (!live.length) return;
      ui.pickLive.replaceChildren('Live now: ');
      live.forEach((n, i) => {
        if (i) ui.pickLive.append(', ');
        ui.pickLive.append(el('a', { href: `/viewer.html?stream=${encodeURIComponent(n)}` }, n));
      });
    })
    .catch(() => {});
}

ui.unmute.addEventListener('click', () => {
  video.muted = !video.muted;
  ui.unmute.textContent = video.muted ? 'Unmute' : 'Mute';
});
ui.jump.addEventListener('click', () => {
  player?.seekToOriginalLive();
  video.play().catch(() => {});
});
/** @param {HTMLVideoElement} el */
function wireVideo(el) {
  el.addEventListener('click', () => {
    if (!el.paused) return;
    el.play().then(() => {
      ui.playNote.textContent = '';
    });
  });
}
wireVideo(video);

if (!name) {
  showPicker();
} else if (!streamNamePattern.test(name)) {
  showPicker(`"${name}" is not a valid stream name: use 1 to 64 letters, digits, "_" or "-".`);
  ui.picker.prepend(ui.error);
} else {
  document.title = `${name} · dashrelay`;
  ui.watch.hidden = false;
  ui.title.textContent = name;
  showWaiting();
  loadHistory().then(subscribe);
  poll();
  setInterval(updatePlaybackStats, 500);
}
