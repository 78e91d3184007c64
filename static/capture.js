import {
  clampInt,
  describeMediaError,
  elementsById,
  explainClose,
  formatBitrate,
  formatBytes,
  pickMimeType,
  realMimeType,
  selectValue,
  setPill,
  streamNamePattern,
} from './common.js';

const params = new URLSearchParams(location.search);
// 20 ms: frames leave about as soon as Chrome encodes them (bench:latency: 193 ms median and no stalls in
// 3 min, against 199 ms and a few short stalls at 50 ms). Each chunk is one WebSocket message.
const TIMESLICE_MS = clampInt(params.get('timeslice'), 20, 10, 10_000);
// Chrome puts each keyframe on the first frame at least this long after the previous one, so every GOP
// lasts at least 1 s and the n-th keyframe is never before n s. That is what keeps ffmpeg's stream-copied
// segments one GOP each: it cuts at the first keyframe at or after the next 1 s mark, and a keyframe just
// before a mark (990 ms gave 0.98 s GOPs on irregular frames) puts two GOPs in one segment and every later
// segment ~1 s late. GOPs of 1.000–1.033 s are fine: the origin sets the MPD's segment duration to the
// measured one (src/origin/segment-timing.ts).
const KEYFRAME_MS = 1000;
// Above this much unsent data the uplink is clearly slower than the encoder; we warn but keep every byte.
const BACKPRESSURE_WARN = 8 * 1024 * 1024;
const BACKPRESSURE_CLEAR = 2 * 1024 * 1024;
// The server's message limit is 4 MiB; large timeslices at high bitrates could approach it.
const MAX_MESSAGE = 1024 * 1024;
const FIRST_MESSAGE_MIN = 1024;

/** Read by automated tests; kept current by setState() and the send loop. */
const hook = {
  state: 'idle',
  bytesSent: 0,
  mimeType: null,
  error: null,
  viewerUrl: null,
  serverBytesReceived: 0,
};
window.dashrelayCapture = hook;

// Every element with an id, e.g. ui.bytesSent for #bytes-sent.
const ui = elementsById();

let media = null; // the current MediaStream (preview and recording share it)
let mediaKey = '';
let session = null; // one publishing attempt: socket, recorder, counters

function applyUrlParams() {
  ui.stream.value = params.get('stream') ?? 'cam1';
  ui.audio.checked = params.get('audio') !== '0';
  const w = clampInt(params.get('width'), 0, 16, 7680);
  const h = clampInt(params.get('height'), 0, 16, 4320);
  if (w && h) selectValue(ui.resolution, `${w}x${h}`, `${w}×${h}`);
  const fps = clampInt(params.get('fps'), 0, 1, 120);
  if (fps) selectValue(ui.fps, String(fps), `${fps} fps`);
}

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

/** Identifies what getUserMedia was asked for, to know when the open camera no longer matches. */
function mediaKeyOf(s) {
  return JSON.stringify([s.cameraId, s.micId, s.audio, s.width, s.height, s.fps]);
}

const stateText = {
  idle: 'Not streaming yet. Choose your settings and press Start.',
  connecting: 'Connecting to the server…',
  live: 'You are live.',
  stopping: 'Sending the last video and closing…',
  stopped: 'Stopped. Press Start to go live again.',
  error: 'Not streaming: see the message below.',
};

function setState(state, label = state) {
  // "stopping" is only shown, never exposed: tests see live until the socket has really closed.
  if (state !== 'stopping') hook.state = state;
  setPill(ui.state, state === 'stopping' ? 'connecting' : state, label);
  ui.stateText.textContent = stateText[state] ?? '';
  const busy = session !== null;
  ui.start.disabled = busy || !canCapture();
  ui.stop.disabled = !busy;
  ui.previewBtn.disabled = busy || !canCapture();
  for (const c of [ui.stream, ui.camera, ui.mic, ui.audio, ui.resolution, ui.fps]) c.disabled = busy;
  ui.mic.disabled = busy || !ui.audio.checked;
  ui.liveLink.hidden = state !== 'live' || !hook.viewerUrl;
}

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

function canCapture() {
  return Boolean(window.isSecureContext && navigator.mediaDevices?.getUserMedia && window.MediaRecorder);
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
  const devices = await navigator.mediaDevices.enumerateDevices();
  const fill = (select, kind, fallback) => {
    const keep = select.value;
    const found = devices.filter((d) => d.kind === kind && d.deviceId);
    // Before permission the browser hides labels (and often ids); offer "default" until then.
    const options = [new Option(fallback, '')];
    found.forEach((d, i) => {
      options.push(new Option(d.label || `${fallback} ${i + 1}`, d.deviceId));
    });
    select.replaceChildren(...options);
    if (options.some((o) => o.value === keep)) select.value = keep;
  };
  fill(ui.camera, 'videoinput', 'Default camera');
  fill(ui.mic, 'audioinput', 'Default microphone');
  ui.deviceHint.hidden = devices.some((d) => d.label);
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
  const video = { width: { ideal: s.width }, height: { ideal: s.height }, frameRate: { ideal: s.fps } };
  if (s.cameraId) video.deviceId = { exact: s.cameraId };
  const audio = s.audio ? (s.micId ? { deviceId: { exact: s.micId } } : true) : false;
  media = await navigator.mediaDevices.getUserMedia({ video, audio });
  ui.preview.srcObject = media;
  ui.previewPlaceholder.hidden = true;
  await refreshDevices();
  // Show the devices actually chosen, so "Default camera" turns into its real name.
  const camId = media.getVideoTracks()[0]?.getSettings().deviceId;
  const micId = media.getAudioTracks()[0]?.getSettings().deviceId;
  if (camId && [...ui.camera.options].some((o) => o.value === camId)) ui.camera.value = camId;
  if (micId && [...ui.mic.options].some((o) => o.value === micId)) ui.mic.value = micId;
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

async function start() {
  if (session) return;
  if (!validateName()) return ui.stream.focus();
  clearMessages();
  const settings = readSettings();
  const sess = {
    stopping: false, // the user (or a local failure) is ending it: a close is expected
    ended: false,
    opened: false,
    serverError: null, // the last `error` message, explained when the close follows
    chain: Promise.resolve(), // sends in recording order
    head: [], // chunks held back until the first message is big enough
    headSent: false,
  };
  session = sess;
  hook.bytesSent = 0;
  hook.serverBytesReceived = 0;
  hook.viewerUrl = null;
  updateStats(sess);
  setState('connecting', 'connecting…');
  // Remember the name so a reload (or a bookmark) publishes to the same stream.
  params.set('stream', settings.name);
  history.replaceState(null, '', `?${params}`);

  let stream;
  try {
    stream = await ensureMedia();
  } catch (err) {
    return fail(...describeMediaError(err, settings));
  }
  if (session !== sess) return stopMedia(); // stopped while the permission prompt was open

  const requested = pickMimeType(stream.getAudioTracks().length > 0);
  const options = { videoKeyFrameIntervalDuration: KEYFRAME_MS, ...(requested && { mimeType: requested }) };
  try {
    sess.recorder = new MediaRecorder(stream, options);
  } catch (err) {
    return fail('This browser cannot record the camera', err.message, 'Try a current Chrome or Edge.');
  }
  sess.recorder.ondataavailable = (e) => enqueue(sess, e.data);
  sess.recorder.onerror = (e) => fail('Recording failed', e.error?.message ?? 'MediaRecorder error');
  // Learn the real container type while the socket connects (see realMimeType).
  const mimeType = realMimeType(stream, options);

  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  sess.url = `${scheme}//${location.host}/ingest/${encodeURIComponent(settings.name)}`;
  const ws = new WebSocket(sess.url);
  sess.ws = ws;
  ws.binaryType = 'arraybuffer';
  ws.onopen = async () => {
    sess.opened = true;
    hook.mimeType = await mimeType;
    ui.mime.textContent = hook.mimeType || 'browser default';
    if (sess.ended || ws.readyState !== WebSocket.OPEN) return;
    const v = stream.getVideoTracks()[0]?.getSettings() ?? {};
    const fps = v.frameRate ? Math.round(v.frameRate) : undefined;
    // The promise to the server is an upper bound: the interval plus the frame it may spill into.
    const hello = { type: 'hello', mimeType: hook.mimeType, keyframeIntervalMs: 1000 };
    ws.send(JSON.stringify({ ...hello, width: v.width, height: v.height, fps, client: 'capture.html' }));
  };
  ws.onmessage = (ev) => onServerMessage(sess, ev);
  ws.onclose = (ev) => onClose(sess, ev);
}

function onServerMessage(sess, ev) {
  if (typeof ev.data !== 'string') return;
  let msg;
  try {
    msg = JSON.parse(ev.data);
  } catch {
    return;
  }
  if (msg.type === 'ready') {
    if (sess.stopping) return;
    hook.viewerUrl = new URL(msg.viewerUrl ?? `/viewer.html?stream=${msg.stream}`, location.href).href;
    ui.viewerLink.href = hook.viewerUrl;
    ui.viewerLink.textContent = hook.viewerUrl;
    // Recording starts only now, so the first bytes the server sees are the EBML header.
    sess.recorder.start(TIMESLICE_MS);
    sess.lastTick = { t: performance.now(), bytes: 0 };
    sess.ticker = setInterval(() => updateStats(sess), 1000);
    setState('live');
  } else if (msg.type === 'status') {
    hook.serverBytesReceived = msg.bytesReceived ?? hook.serverBytesReceived;
    ui.packager.textContent = msg.packager ?? '–';
  } else if (msg.type === 'warning') {
    ui.warning.hidden = false;
    ui.warning.textContent = `Server warning: ${msg.message} (${msg.code})`;
  } else if (msg.type === 'error') {
    // The close that follows carries only a short reason; keep the full message for the error box.
    sess.serverError = msg;
  }
}

/** Queues one recorder chunk; the promise chain keeps chunks in recording order across async reads. */
function enqueue(sess, blob) {
  if (!blob.size) return;
  if (!sess.headSent) {
    // Chrome's first chunk is a single byte; the server checks the EBML header in the first message,
    // so the first message waits until the header is surely complete (or recording has ended).
    sess.head.push(blob);
    const size = sess.head.reduce((n, b) => n + b.size, 0);
    if (size < FIRST_MESSAGE_MIN && sess.recorder.state === 'recording') return;
    blob = new Blob(sess.head);
    sess.head = [];
    sess.headSent = true;
  }
  sess.chain = sess.chain
    .then(async () => {
      const buf = await blob.arrayBuffer();
      const ws = sess.ws;
      if (ws.readyState !== WebSocket.OPEN) return;
      for (let off = 0; off < buf.byteLength; off += MAX_MESSAGE) {
        ws.send(buf.slice(off, off + MAX_MESSAGE));
      }
      hook.bytesSent += buf.byteLength;
      if (ws.bufferedAmount > BACKPRESSURE_WARN) showBackpressure(ws.bufferedAmount);
    })
    .catch((err) => fail('Could not read recorded data', err.message));
}

function showBackpressure(buffered) {
  ui.backpressure.hidden = false;
  ui.backpressure.textContent =
    `Network too slow: ${formatBytes(buffered)} recorded but not yet uploaded. Viewers will fall behind; ` +
    'choose a lower resolution or frame rate, or a better connection.';
}

function updateStats(sess) {
  const now = performance.now();
  // Count what has left the browser, not what was queued, so a slow uplink shows as a low rate.
  const uploaded = hook.bytesSent - (sess.ws?.bufferedAmount ?? 0);
  if (sess.lastTick) {
    const dt = (now - sess.lastTick.t) / 1000;
    ui.bitrate.textContent = formatBitrate(Math.max(0, (uploaded - sess.lastTick.bytes) * 8) / dt);
    sess.lastTick = { t: now, bytes: uploaded };
  } else {
    ui.bitrate.textContent = '–';
  }
  ui.bytesSent.textContent = formatBytes(hook.bytesSent);
  ui.serverBytes.textContent = formatBytes(hook.serverBytesReceived);
  if (sess.ws && sess.ws.bufferedAmount < BACKPRESSURE_CLEAR) ui.backpressure.hidden = true;
}

function stop() {
  const sess = session;
  if (!sess || sess.stopping) return;
  sess.stopping = true;
  setState('stopping', 'stopping…');
  const closeSocket = () => sess.ws?.close(1000, 'publisher stopped');
  if (sess.recorder && sess.recorder.state !== 'inactive') {
    // The final dataavailable fires before onstop; wait for it to be sent, then close.
    sess.recorder.onstop = () => sess.chain.then(closeSocket);
    sess.recorder.stop();
    setTimeout(closeSocket, 3000); // never hang on a stuck recorder
  } else if (sess.ws) {
    closeSocket();
  } else {
    finish(sess, 'stopped');
  }
}

/** Ends the session because of a local problem (camera, recorder). */
function fail(title, text, hint = 'Fix the problem above, then press Start again.') {
  const sess = session;
  showError(title, text, hint);
  if (sess) {
    sess.stopping = true;
    if (sess.recorder && sess.recorder.state !== 'inactive') sess.recorder.stop();
    sess.ws?.close(1000, 'capture error');
    finish(sess, 'error');
  } else {
    setState('error');
  }
}

function onClose(sess, ev) {
  if (sess.ended) return;
  if (sess.stopping) return finish(sess, 'stopped');
  if (sess.recorder && sess.recorder.state !== 'inactive') sess.recorder.stop();
  showError(...explainClose(ev, sess));
  finish(sess, 'error');
}

function finish(sess, state) {
  if (sess.ended) return;
  sess.ended = true;
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
addEventListener('pagehide', () => session?.ws?.close(1000, 'page closed'));

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
