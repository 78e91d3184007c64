// @ts-check
// The capture page: form, preview and status. Devices, recording, the ingest protocol and the upload
// figures are in ./capture/.

import {
  canCapture,
  describeMediaError,
  mediaConstraints,
  mediaKeyOf,
  refreshDeviceLists,
  showOpenDevices,
} from './capture/devices.js';
import { IngestClient, ingestUrl, isRetryableClose, retryDelayMs } from './capture/ingest-client.js';
import { createRecorder, DEFAULT_TIMESLICE_MS, videoHints } from './capture/recorder.js';
import { backpressureMessage, UploadMeter } from './capture/stats.js';
import {
  clampInt,
  elementsById,
  formatBitrate,
  formatBytes,
  selectValue,
  setPill,
  streamNamePattern,
} from './common.js';

/** @typedef {import('./capture/devices.js').CaptureSettings} CaptureSettings */
/** @typedef {import('./capture/ingest-client.js').Explanation} Explanation */

/**
 * Read by automated tests (test/e2e, bench/); kept current by setState() and the send loop.
 * @typedef {object} CaptureHook
 * @property {string} state `idle` | `connecting` | `live` | `reconnecting` | `stopped` | `error`
 * @property {number} bytesSent
 * @property {string | null} mimeType what the recorder really records, once known
 * @property {string | null} error the message shown, `title: text`
 * @property {string | null} viewerUrl
 * @property {number} serverBytesReceived as the server's last `status` said
 * @property {number} reconnects connections lost and retried by the page itself
 */

/**
 * One publishing run, from Start to Stop, across the connections it reconnects.
 * @typedef {object} Session
 * @property {boolean} stopping the user (or a local failure) is ending it: a close is expected
 * @property {boolean} ended
 * @property {UploadMeter} meter
 * @property {MediaRecorder} [recorder]
 * @property {IngestClient} [client]
 * @property {ReturnType<typeof setInterval>} [ticker]
 * @property {MediaStream} [media] the camera (and microphone), kept on across reconnects
 * @property {ReturnType<typeof readSettings>} [settings]
 * @property {number} [attempt] reconnect attempts since the last connection that lasted
 * @property {number} [liveSinceMs] when the current connection went live
 * @property {ReturnType<typeof setTimeout>} [retryTimer] set while waiting to reconnect
 */

const params = new URLSearchParams(location.search);
const TIMESLICE_MS = clampInt(params.get('timeslice'), DEFAULT_TIMESLICE_MS, 10, 10_000);
/** `?container=mp4|webm` forces the recording container; by default WebM when it can carry H.264. */
const CONTAINER = /** @type {'auto' | 'mp4' | 'webm'} */ (
  ['mp4', 'webm'].includes(params.get('container') ?? '') ? params.get('container') : 'auto'
);

/** @type {CaptureHook} */
const hook = {
  state: 'idle',
  bytesSent: 0,
  mimeType: null,
  error: null,
  viewerUrl: null,
  serverBytesReceived: 0,
  reconnects: 0,
};
window.dashrelayCapture = hook;

const ui = elementsById({
  state: HTMLElement,
  stateText: HTMLElement,
  error: HTMLElement,
  errorTitle: HTMLElement,
  errorText: HTMLElement,
  errorHint: HTMLElement,
  warning: HTMLElement,
  backpressure: HTMLElement,
  preview: HTMLVideoElement,
  previewPlaceholder: HTMLElement,
  liveLink: HTMLElement,
  viewerLink: HTMLAnchorElement,
  settings: HTMLFormElement,
  stream: HTMLInputElement,
  streamMsg: HTMLElement,
  camera: HTMLSelectElement,
  mic: HTMLSelectElement,
  audio: HTMLInputElement,
  deviceHint: HTMLElement,
  resolution: HTMLSelectElement,
  fps: HTMLSelectElement,
  start: HTMLButtonElement,
  stop: HTMLButtonElement,
  previewBtn: HTMLButtonElement,
  bytesSent: HTMLElement,
  bitrate: HTMLElement,
  serverBytes: HTMLElement,
  packager: HTMLElement,
  mime: HTMLElement,
});

/** @type {MediaStream | null} the preview and the recording share it */
let media = null;
let mediaKey = '';
/** @type {Session | null} */
let session = null;

function applyUrlParams() {
  ui.stream.value = params.get('stream') ?? 'cam1';
  ui.audio.checked = params.get('audio') !== '0';
  const w = clampInt(params.get('width'), 0, 16, 7680);
  const h = clampInt(params.get('height'), 0, 16, 4320);
  if (w && h) selectValue(ui.resolution, `${w}x${h}`, `${w}×${h}`);
  const fps = clampInt(params.get('fps'), 0, 1, 120);
  if (fps) selectValue(ui.fps, String(fps), `${fps} fps`);
}

/** @returns {CaptureSettings} */
function readSettings() {
  const [width, height] = ui.resolution.value.split('x').map(Number);
  const { camera, mic, audio, fps } = ui;
  return {
    name: ui.stream.value.trim(),
    cameraId: camera.value,
    micId: mic.value,
    audio: audio.checked,
    width,
    height,
    fps: Number(fps.value),
  };
}

/** @type {Record<string, string>} */
const stateText = {
  idle: 'Not streaming yet. Choose your settings and press Start.',
  connecting: 'Connecting to the server…',
  live: 'You are live.',
  stopping: 'Sending the last video and closing…',
  stopped: 'Stopped. Press Start to go live again.',
  reconnecting: 'The connection to the server was lost: reconnecting by itself.',
  error: 'Not streaming: see the message below.',
};

/** @param {string} state */
function setState(state, label = state) {
  // "stopping" is only shown, never exposed: tests see live until the socket has really closed.
  if (state !== 'stopping') hook.state = state;
  setPill(ui.state, state === 'stopping' || state === 'reconnecting' ? 'connecting' : state, label);
  ui.stateText.textContent = stateText[state] ?? '';
  const busy = session !== null;
  ui.start.disabled = busy || !canCapture();
  ui.stop.disabled = !busy;
  ui.previewBtn.disabled = busy || !canCapture();
  for (const c of [ui.stream, ui.camera, ui.mic, ui.audio, ui.resolution, ui.fps]) c.disabled = busy;
  ui.mic.disabled = busy || !ui.audio.checked;
  ui.liveLink.hidden = state !== 'live' || !hook.viewerUrl;
}

/**
 * @param {string} title
 * @param {string} text
 */
function showError(title, text, hint = '') {
  hook.error = text ? `${title}: ${text}` : title;
  ui.error.hidden = false;
  ui.errorTitle.textContent = title;
  ui.errorText.textContent = text;
  ui.errorHint.textContent = hint;
}

function clearMessages() {
  hook.error = null;
  ui.error.hidden = true;
  ui.warning.hidden = true;
  ui.backpressure.hidden = true;
}

function validateName() {
  const ok = streamNamePattern.test(ui.stream.value.trim());
  ui.stream.setAttribute('aria-invalid', String(!ok));
  ui.streamMsg.classList.toggle('invalid', !ok);
  ui.streamMsg.textContent = ok
    ? 'Letters, digits, _ and -; up to 64.'
    : 'Use 1 to 64 letters, digits, "_" or "-" (no spaces or other characters).';
  return ok;
}

async function refreshDevices() {
  ui.deviceHint.hidden = await refreshDeviceLists(ui.camera, ui.mic);
}

function stopMedia() {
  for (const t of media?.getTracks() ?? []) t.stop();
  media = null;
  mediaKey = '';
  ui.preview.srcObject = null;
  ui.previewPlaceholder.hidden = false;
}

/** Opens (or reuses) the camera with the current settings; also the moment device names become visible. */
async function ensureMedia() {
  const s = readSettings();
  if (media && mediaKeyOf(s) === mediaKey && media.getTracks().every((t) => t.readyState === 'live'))
    return media;
  stopMedia();
  media = await navigator.mediaDevices.getUserMedia(mediaConstraints(s));
  ui.preview.srcObject = media;
  ui.previewPlaceholder.hidden = true;
  await refreshDevices();
  showOpenDevices(media, ui.camera, ui.mic);
  mediaKey = mediaKeyOf(readSettings());
  for (const track of media.getTracks()) track.addEventListener('ended', onTrackEnded);
  return media;
}

function onTrackEnded() {
  if (session)
    fail('The camera or microphone stopped', 'It may be unplugged or used by another application.');
}

async function preview() {
  clearMessages();
  try {
    await ensureMedia();
  } catch (err) {
    showError(...describeMediaError(err, readSettings()));
    setState('error');
  }
}

/** @param {unknown} err */
function messageOf(err) {
  return err instanceof Error ? err.message : String(err);
}

async function start() {
  if (session) return;
  if (!validateName()) return ui.stream.focus();
  clearMessages();
  const settings = readSettings();
  /** @type {Session} */
  const sess = { stopping: false, ended: false, meter: new UploadMeter() };
  session = sess;
  hook.bytesSent = 0;
  hook.serverBytesReceived = 0;
  hook.viewerUrl = null;
  updateStats(sess);
  setState('connecting', 'connecting…');
  // Remember the name so a reload (or a bookmark) publishes to the same stream.
  params.set('stream', settings.name);
  history.replaceState(null, '', `?${params}`);

  /** @type {MediaStream} */
  let stream;
  try {
    stream = await ensureMedia();
  } catch (err) {
    return fail(...describeMediaError(err, settings));
  }
  if (session !== sess) return stopMedia(); // stopped while the permission prompt was open
  sess.media = stream;
  sess.settings = settings;
  connect(sess);
}

/**
 * One connection of the session: a fresh recorder (a new connection must start with the container's
 * header and a keyframe) and a fresh ingest client. Called again after a connection is lost.
 * @param {Session} sess
 */
function connect(sess) {
  const stream = sess.media;
  const settings = sess.settings;
  if (!stream || !settings) return;
  sess.retryTimer = undefined;
  /** @type {MediaRecorder} */
  let recorder;
  /** @type {Promise<string>} */
  let mimeType;
  try {
    ({ recorder, mimeType } = createRecorder(stream, CONTAINER));
  } catch (err) {
    return fail('This browser cannot record the camera', messageOf(err), 'Try a current Chrome or Edge.');
  }
  sess.recorder = recorder;
  recorder.ondataavailable = (e) => sess.client?.send(e.data, recorder.state === 'recording');
  recorder.onerror = (e) => fail('Recording failed', e.error?.message ?? 'MediaRecorder error');

  sess.client = new IngestClient(ingestUrl(location, settings.name), {
    hello: async () => {
      hook.mimeType = await mimeType;
      ui.mime.textContent = hook.mimeType || 'browser default';
      // The promise to the server is an upper bound: the interval plus the frame it may spill into.
      return {
        type: 'hello',
        mimeType: hook.mimeType,
        keyframeIntervalMs: 1000,
        ...videoHints(stream),
        client: 'capture.html',
      };
    },
    onReady: (msg) => {
      if (sess.stopping) return;
      hook.viewerUrl = new URL(msg.viewerUrl ?? `/viewer.html?stream=${msg.stream}`, location.href).href;
      ui.viewerLink.href = hook.viewerUrl;
      ui.viewerLink.textContent = hook.viewerUrl;
      // Recording starts only now, so the first bytes the server sees are the EBML header.
      recorder.start(TIMESLICE_MS);
      sess.meter.start(performance.now());
      clearInterval(sess.ticker);
      sess.ticker = setInterval(() => updateStats(sess), 1000);
      sess.liveSinceMs = Date.now();
      ui.warning.hidden = true;
      setState('live');
    },
    onStatus: (msg) => {
      hook.serverBytesReceived = msg.bytesReceived ?? hook.serverBytesReceived;
      ui.packager.textContent = msg.packager ?? '–';
    },
    onWarning: (msg) => {
      ui.warning.hidden = false;
      ui.warning.textContent = `Server warning: ${msg.message} (${msg.code})`;
    },
    onSent: (bytesSent) => {
      hook.bytesSent = bytesSent;
    },
    onBackpressure: (congested, backlog) => {
      ui.backpressure.hidden = !congested;
      if (congested) ui.backpressure.textContent = backpressureMessage(backlog);
    },
    onSendFailed: (err) => fail('Could not read recorded data', messageOf(err)),
    onClose: (close, why) => onClose(sess, close, why),
  });
}

/** @param {Session} sess */
function updateStats(sess) {
  const rate = sess.meter.sample(hook.bytesSent, sess.client?.backlog ?? 0, performance.now());
  ui.bitrate.textContent = formatBitrate(rate);
  ui.bytesSent.textContent = formatBytes(hook.bytesSent);
  ui.serverBytes.textContent = formatBytes(hook.serverBytesReceived);
  sess.client?.checkBackpressure();
}

function stop() {
  const sess = session;
  if (!sess || sess.stopping) return;
  sess.stopping = true;
  setState('stopping', 'stopping…');
  const { client, recorder } = sess;
  if (sess.retryTimer !== undefined) {
    // Waiting to reconnect: nothing is open.
    clearTimeout(sess.retryTimer);
    return finish(sess, 'stopped');
  }
  const closeSocket = () => client?.close(1000, 'publisher stopped');
  if (recorder && recorder.state !== 'inactive') {
    // The final dataavailable fires before onstop; wait for it to be sent, then close.
    recorder.onstop = () => client?.drained().then(closeSocket);
    recorder.stop();
    setTimeout(closeSocket, 3000); // never hang on a stuck recorder
  } else if (client) {
    closeSocket();
  } else {
    finish(sess, 'stopped');
  }
}

/**
 * Ends the session because of a local problem (camera, recorder).
 * @param {string} title
 * @param {string} text
 */
function fail(title, text, hint = 'Fix the problem above, then press Start again.') {
  const sess = session;
  showError(title, text, hint);
  if (sess) {
    sess.stopping = true;
    if (sess.recorder && sess.recorder.state !== 'inactive') sess.recorder.stop();
    sess.client?.close(1000, 'capture error');
    finish(sess, 'error');
  } else {
    setState('error');
  }
}

/**
 * A connection closed without our asking: reconnect by itself after a capped, jittered wait when
 * that can heal (server restart, network drop), with the camera kept on; otherwise say why and stop.
 * @param {Session} sess
 * @param {{ code: number }} close
 * @param {Explanation} why
 */
function onClose(sess, close, why) {
  if (sess.ended) return;
  if (sess.stopping) return finish(sess, 'stopped');
  if (sess.recorder && sess.recorder.state !== 'inactive') sess.recorder.stop();
  clearInterval(sess.ticker);
  if (!isRetryableClose(close.code)) {
    showError(...why);
    return finish(sess, 'error');
  }
  // A connection that stayed up a while starts the count over: the next blip waits 1 s again.
  if (sess.liveSinceMs !== undefined && Date.now() - sess.liveSinceMs > 30_000) sess.attempt = 0;
  sess.liveSinceMs = undefined;
  const attempt = sess.attempt ?? 0;
  sess.attempt = attempt + 1;
  const delayMs = retryDelayMs(attempt);
  hook.reconnects += 1;
  ui.warning.hidden = false;
  ui.warning.textContent = `${why[0]}: ${why[1]} Reconnecting in ${(delayMs / 1000).toFixed(1)} s (attempt ${attempt + 1}); the camera stays on.`;
  setState('reconnecting', 'reconnecting…');
  sess.retryTimer = setTimeout(() => {
    if (session === sess && !sess.stopping) connect(sess);
  }, delayMs);
}

/**
 * @param {Session} sess
 * @param {string} state
 */
function finish(sess, state) {
  if (sess.ended) return;
  sess.ended = true;
  clearTimeout(sess.retryTimer);
  clearInterval(sess.ticker);
  updateStats(sess);
  ui.bitrate.textContent = '–';
  ui.packager.textContent = '–';
  if (session === sess) session = null;
  stopMedia(); // turn the camera light off: nothing is being sent any more
  setState(state);
}

ui.settings.addEventListener('submit', (e) => {
  e.preventDefault();
  start();
});
ui.stop.addEventListener('click', stop);
ui.previewBtn.addEventListener('click', preview);
ui.stream.addEventListener('input', validateName);
ui.audio.addEventListener('change', () => setState(hook.state, ui.state.textContent));
// While only previewing, follow device/format changes at once so the preview matches what will be sent.
for (const c of [ui.camera, ui.mic, ui.audio, ui.resolution, ui.fps]) {
  c.addEventListener('change', () => media && !session && preview());
}
// Closing the tab mid-stream: say goodbye properly so the server ends the session at once.
addEventListener('pagehide', () => session?.client?.close(1000, 'page closed'));

applyUrlParams();
validateName();
setState('idle');
if (!canCapture()) {
  showError(...describeMediaError(null, readSettings()));
  setState('error');
} else {
  // Device names are visible right away if the user allowed the camera on an earlier visit.
  refreshDevices().catch(() => {});
  if (params.get('autostart') === '1') start();
}
