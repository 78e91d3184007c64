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

const POLL_MS = 2000;
const MAX_EVENTS = 50;
const ENDED_PAUSE_MS = 3000; // long enough to read "stream ended" before the page goes back to waiting
const params = new URLSearchParams(location.search);
const name = params.get('stream') ?? '';
/** A positive number from the URL, or undefined. */
function numberParam(key) {
  const v = Number.parseFloat(params.get(key) ?? '');
  return Number.isFinite(v) && v > 0 ? v : undefined;
}
/**
 * Player live delay, s: `?liveDelay=` wins, else the server's latency mode (StreamInfo.latency), which
 * knows its segment size and delivery; 1 s if neither says.
 */
let liveDelay = numberParam('liveDelay') ?? 1.0;

/** Read by automated tests. `events` is newest first. */
const hook = { state: 'waiting', player: null, events: [], info: null, latency: null };
window.dashrelayViewer = hook;

const ui = elementsById();
const video = ui.video;
let player = null;
let playingSession = null; // sessionId the player is attached to
let endedSession = null; // a finished sessionId, so a late poll answer cannot revive it
let endedTimer = null;
let attachToken = 0; // bumps on every attach/detach so stale async steps give up

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

function showWaiting() {
  setState('waiting', `Waiting for stream ${name} to go live…`, waitingText());
}

/**
 * Lowest buffer the catch-up may play down to when the stream has sound, s. Chromium's audio renderer
 * stalls the element below ~0.25 s of audio; a 0.25 s floor cost ~15 ms of latency (409 ms), 0.22 s
 * still stopped the stall cascades (bench:latency, README "Latency").
 */
const AUDIO_BUFFER_FLOOR_S = 0.22;

/** Low-latency dash.js 5 settings (names as in node_modules/dashjs/index.d.ts). */
function createPlayer(info) {
  const p = dashjs.MediaPlayer().create();
  const hasAudio = info?.codecs?.audio && info.codecs.audio !== 'none';
  const delayMs = hasAudio ? info?.latency?.playerLiveDelayWithAudioMs : info?.latency?.playerLiveDelayMs;
  liveDelay = numberParam('liveDelay') ?? (delayMs ?? 1000) / 1000;
  const maxRate = numberParam('maxRate') ?? 0.3;
  p.updateSettings({
    streaming: {
      delay: { liveDelay },
      buffer: {
        // dash.js reports an empty buffer below this; with a sub-second target the default 0.3 s is the
        // whole buffer, so it would count normal low-latency operation as stalling.
        lowLatencyStallThreshold: Math.min(0.3, liveDelay / 3),
      },
      liveCatchup: {
        enabled: true,
        // Further than this from the target, dash.js seeks instead of slowly changing speed. Not less
        // than a second: seeking to a live edge that has no data yet would start a stall-seek loop.
        maxDrift: Math.max(1, liveDelay / 2),
        // v5 semantics: offsets from 1.0, i.e. by default play between 0.7× and 1.3× to reach the target.
        playbackRate: { min: -maxRate, max: maxRate },
        // LoL+ mode (dash.js "liveCatchupModeLoLP") also watches the buffer: it slows down before the
        // buffer runs dry instead of chasing the target into a stall. `?catchup=default` for the plain one.
        ...(params.get('catchup') !== 'default' && {
          mode: 'liveCatchupModeLoLP',
          // With sound, never below what Chromium's audio renderer needs: it stalls the element while
          // less than ~0.25 s of audio is buffered, and catching up at 1.2× after one stall drained
          // the audio into the next (bench:latency recorded 0.15 s of audio at such stalls).
          playbackBufferMin: hasAudio ? Math.max(liveDelay / 2, AUDIO_BUFFER_FLOOR_S) : liveDelay / 2,
        }),
      },
      utcSynchronization: {
        // The built-in default is a public time server, unreachable on an isolated network.
        defaultTimingSource: { scheme: 'urn:mpeg:dash:utc:http-iso:2014', value: `${location.origin}/time` },
        useManifestDateHeaderTimeSource: false,
      },
    },
  });
  const events = dashjs.MediaPlayer.events;
  p.on(events.ERROR, (e) => onPlayerError(e.error?.message ?? e.error?.code ?? 'unknown error'));
  p.on(events.PLAYBACK_ERROR, (e) => onPlayerError(e.error?.message ?? 'the video element failed'));
  p.on(events.PLAYBACK_NOT_ALLOWED, () => {
    ui.playNote.textContent = 'The browser blocked autoplay: click the video to start.';
  });
  return p;
}

async function attach(info) {
  const token = ++attachToken;
  const manifestUrl = info.manifestUrl ?? `/live/${encodeURIComponent(name)}/manifest.mpd`;
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
  if (player) player.destroy();
  player = null;
  hook.player = null;
  hook.latency = null;
  playingSession = null;
  ui.jump.disabled = true;
  ui.unmute.disabled = true;
  ui.unmute.textContent = video.muted ? 'Unmute' : 'Mute';
  ui.playNote.textContent = '';
}

function onPlayerError(message) {
  // Usually a restart on the server side; the next poll attaches again if the stream is still live.
  showError(`Playback problem: ${message}. Retrying…`);
  detach();
  showWaiting();
}

function showError(text) {
  ui.error.hidden = !text;
  ui.error.textContent = text ?? '';
}

/** One place for "here is what the server says now", from polling and from SSE alike. */
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

function renderInfo(info) {
  ui.resolution.textContent = info ? formatResolution(info) : '–';
  ui.fps.textContent = info ? formatFps(info) : '–';
  ui.codecs.textContent = info ? formatCodecs(info) : '–';
  ui.ingest.textContent = info ? formatBitrate(info.bitrateBps) : '–';
  ui.since.textContent = info ? formatSince(info.since) : '–';
}

async function poll() {
  try {
    const { status, body } = await getJson(`/api/streams/${encodeURIComponent(name)}`);
    if (status === 200) onInfo(body);
    else if (status === 404) onGone();
    else throw new Error(`HTTP ${status}`);
    if (ui.error.textContent.startsWith('Cannot reach')) showError('');
  } catch (err) {
    showError(`Cannot reach the dashrelay server (${err.message}). Retrying every ${POLL_MS / 1000} s…`);
  } finally {
    setTimeout(poll, POLL_MS);
  }
}

/** dash.js throws from some getters until playback is initialised; "unknown" is the honest answer then. */
function safe(fn) {
  try {
    return player ? fn() : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

function updatePlaybackStats() {
  const ready = Boolean(player?.isReady());
  const latency = safe(() => player.getCurrentLiveLatency());
  const target = safe(() => player.getTargetLiveDelay());
  hook.latency = Number.isFinite(latency) && latency > 0 ? latency : null;
  ui.latency.textContent = hook.latency === null ? '–' : `${hook.latency.toFixed(2)} s`;
  ui.target.textContent = Number.isFinite(target) && target > 0 ? `${target.toFixed(2)} s` : '–';
  const buffer = safe(() => player.getBufferLength('video'));
  ui.buffer.textContent = Number.isFinite(buffer) ? `${buffer.toFixed(2)} s` : '–';
  ui.rate.textContent = ready ? `${video.playbackRate.toFixed(2)}×` : '–';
  // "Well above" = more than a second behind the target, which catch-up alone fixes only slowly.
  ui.jump.disabled = !(
    hook.latency !== null && hook.latency > (target || liveDelay) + Math.max(0.5, liveDelay)
  );
  if (hook.info) ui.since.textContent = formatSince(hook.info.since);
}

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

function addEvents(events, fresh) {
  hook.events = [...events, ...hook.events].slice(0, MAX_EVENTS);
  ui.events.prepend(...events.map((ev) => eventItem(ev, fresh)));
  while (ui.events.children.length > MAX_EVENTS) ui.events.lastElementChild.remove();
  ui.eventsEmpty.hidden = hook.events.length > 0;
  ui.eventCount.textContent = hook.events.length ? `latest ${hook.events.length}` : '';
}

function flashMotion() {
  ui.frame.classList.add('motion');
  clearTimeout(flashMotion.timer);
  flashMotion.timer = setTimeout(() => ui.frame.classList.remove('motion'), 600);
}

async function loadHistory() {
  try {
    const { status, body } = await getJson(`/api/streams/${encodeURIComponent(name)}/events`);
    if (status !== 200 || !Array.isArray(body?.events)) return;
    const newest = [...body.events].sort((a, b) => b.wallClockMs - a.wallClockMs).slice(0, MAX_EVENTS);
    addEvents(newest, false);
  } catch {
    // History is a nicety; live events still arrive over SSE.
  }
}

function subscribe() {
  // EventSource reconnects by itself after network hiccups or a server restart.
  const source = new EventSource(`/api/streams/${encodeURIComponent(name)}/events/live`);
  source.addEventListener('analysis', (e) => {
    const ev = JSON.parse(e.data);
    addEvents([ev], true);
    if (ev.type === 'motion') flashMotion();
  });
  source.addEventListener('state', (e) => {
    const msg = JSON.parse(e.data);
    if (msg.live) onInfo(msg.info);
    else onGone();
  });
}

function showPicker(message) {
  hook.state = 'no-stream';
  ui.picker.hidden = false;
  ui.pickName.value = name;
  if (message) showError(message);
  getJson('/api/streams')
    .then(({ body }) => {
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
video.addEventListener('click', () => {
  if (!video.paused) return;
  video.play().then(() => {
    ui.playNote.textContent = '';
  });
});

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
