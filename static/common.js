// Small helpers shared by the three pages. Kept dependency-free so the pages work offline.

/** Same rule the server applies (src/util/stream-name.ts); checking here gives an instant, clear message. */
export const streamNamePattern = /^[A-Za-z0-9_-]{1,64}$/;

export const $ = (selector, root = document) => root.querySelector(selector);

/** Every element with an id, keyed by its camelCased id (`bytes-sent` → `bytesSent`). */
export function elementsById() {
  const out = {};
  for (const node of document.querySelectorAll('[id]')) {
    out[node.id.replace(/-(\w)/g, (_, c) => c.toUpperCase())] = node;
  }
  return out;
}

/**
 * Fetches JSON and returns `{ status, body }` instead of throwing on HTTP errors, because a 404 is an
 * expected answer here ("not live"), not a failure. Network failures still throw.
 */
export async function getJson(url) {
  const res = await fetch(url, { cache: 'no-store', headers: { accept: 'application/json' } });
  let body = null;
  try {
    body = await res.json();
  } catch {
    // A proxy error page or an empty body: the status alone tells the caller enough.
  }
  return { status: res.status, body };
}

export function clampInt(raw, fallback, min, max) {
  const n = Number.parseInt(raw ?? '', 10);
  return Number.isFinite(n) ? Math.min(max, Math.max(min, n)) : fallback;
}

/** Selects a value, adding it as an option first when a URL asked for something not in the list. */
export function selectValue(select, value, label) {
  if (![...select.options].some((o) => o.value === value)) select.add(new Option(label, value));
  select.value = value;
}

export function formatBytes(n) {
  if (!Number.isFinite(n)) return '–';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

export function formatBitrate(bps) {
  if (!Number.isFinite(bps)) return '–';
  if (bps >= 1e6) return `${(bps / 1e6).toFixed(2)} Mbit/s`;
  return `${Math.round(bps / 1000)} kbit/s`;
}

/** The server reports nulls until it knows; "unknown yet" reads better than a dash there. */
export function formatResolution(info) {
  return info?.width && info?.height ? `${info.width}×${info.height}` : 'unknown yet';
}

export function formatFps(info) {
  return info?.fps ? `${Math.round(info.fps * 100) / 100} fps` : 'unknown yet';
}

export function formatCodecs(info) {
  const c = info?.codecs;
  if (!c) return '–';
  return [c.video, c.audio].filter((x) => x && x !== 'none').join(' + ') || '–';
}

/** "3 min 12 s" since an ISO time: easier to take in at a glance than a timestamp. */
export function formatSince(iso) {
  const ms = Date.now() - Date.parse(iso);
  if (!Number.isFinite(ms)) return '–';
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

export function formatClock(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

/** Pills carry the state both as text and as a class so colour is never the only signal. */
export function setPill(el, state, text = state) {
  el.className = `pill pill-${state}`;
  el.textContent = text;
}

/** Builds an element with text content only: nothing from the network ever goes through innerHTML. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') node.className = v;
    else if (v !== undefined && v !== null) node.setAttribute(k, v);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

// --- Capture page helpers: here to keep capture.js short; they have no state of their own. ---

/**
 * H.264 first: the server can copy it into DASH segments without re-encoding (cheaper, less delay).
 * VP8/VP9 still work, the server transcodes them.
 */
export function pickMimeType(withAudio) {
  const candidates = withAudio
    ? [
        'video/webm;codecs=h264,opus',
        'video/webm;codecs=vp8,opus',
        'video/webm;codecs=vp9,opus',
        'video/webm',
      ]
    : ['video/webm;codecs=h264', 'video/webm;codecs=vp8', 'video/webm;codecs=vp9', 'video/webm'];
  return candidates.find((t) => MediaRecorder.isTypeSupported(t)) ?? '';
}

/** Turns a getUserMedia failure (or `null` for "cannot even try") into [title, text, what to do]. */
export function describeMediaError(err, settings) {
  if (!window.isSecureContext || !navigator.mediaDevices?.getUserMedia) {
    return [
      'Camera access needs a secure page',
      `This page was opened over plain http from ${location.host}. Browsers only allow the camera and ` +
        'microphone on https:// pages or on http://localhost.',
      `Open this page as http://localhost:${location.port || 80}/capture.html on the server machine, or put dashrelay ` +
        'behind HTTPS (for example a reverse proxy with a certificate).',
    ];
  }
  if (!err)
    return ['This browser cannot record video', 'MediaRecorder is missing.', 'Use a current Chrome or Edge.'];
  const retry = 'then press Start again.';
  switch (err.name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return [
        'Camera permission denied',
        'The browser or the operating system blocked access to the camera or microphone.',
        `Allow access in the site settings (the icon left of the address bar), ${retry}`,
      ];
    case 'NotFoundError':
      return [
        'No camera or microphone found',
        'The browser found no device matching the selection.',
        settings?.audio ? `Connect a device, or untick "Send audio", ${retry}` : `Connect a camera, ${retry}`,
      ];
    case 'NotReadableError':
    case 'AbortError':
      return [
        'The camera is busy',
        'It could not be started; another application or browser tab may be using it.',
        `Close the other user of the camera, ${retry}`,
      ];
    case 'OverconstrainedError':
      return [
        'The camera does not support these settings',
        `Constraint not satisfiable: ${err.constraint || 'unknown'}.`,
        `Pick another camera, resolution or frame rate, ${retry}`,
      ];
    default:
      return ['Could not open the camera', `${err.name}: ${err.message}`, `Reload the page, ${retry}`];
  }
}

const serverHints = {
  DR_ERR_INGEST_STREAM_BUSY: 'Pick another stream name, or stop the other publisher first.',
  DR_ERR_INGEST_STREAM_NAME: 'Use 1 to 64 letters, digits, "_" or "-".',
  DR_ERR_INGEST_UNAUTHORIZED: 'This server requires a publish token; ask whoever runs it.',
  DR_ERR_INGEST_UNSUPPORTED_MIME:
    'This browser records a format the server does not accept; try Chrome or Edge.',
  DR_ERR_INGEST_NOT_MEDIA: 'This browser records a format the server does not accept; try Chrome or Edge.',
  DR_ERR_ARCHIVE_WRITE: 'The server cannot save the recording (disk full?); tell whoever runs it.',
};

/** Explains why the ingest socket closed when we did not ask it to: [title, text, what to do]. */
export function explainClose(ev, sess) {
  const again = 'Press Start to try again.';
  if (sess.serverError) {
    const { code, message } = sess.serverError;
    return ['The server stopped the stream', `${message} (${code})`, serverHints[code] ?? again];
  }
  if (ev.code >= 4000 && ev.code <= 4999) {
    return [
      'The server closed the connection',
      `${ev.reason || 'No reason given'} (close code ${ev.code}).`,
      again,
    ];
  }
  if (!sess.opened) {
    return [
      'Cannot reach the server',
      `Could not connect to ${sess.url}.`,
      `Check that the dashrelay server is running and reachable. ${again}`,
    ];
  }
  if (ev.code === 1001) return ['The server is shutting down', 'It closed the connection.', `Wait. ${again}`];
  const detail = `code ${ev.code}${ev.reason ? `: ${ev.reason}` : ''}`;
  return [
    'Connection lost',
    `The connection to the server closed unexpectedly (${detail}); the server may have stopped or the network dropped.`,
    `Check that the server is running, then ${again.toLowerCase()}`,
  ];
}

/**
 * Chrome reports what it really records (`video/x-matroska;codecs=avc1,opus` when asked for
 * `video/webm;codecs=h264,opus`) only once a recorder has started, but hello must carry it before the
 * first media byte. A short-lived probe recorder finds it out, so the real one can still start after
 * `ready` and send the EBML header first.
 */
export function realMimeType(stream, options) {
  return new Promise((resolve) => {
    const probe = new MediaRecorder(stream, options);
    const done = () => {
      clearTimeout(timer);
      resolve(probe.mimeType || options.mimeType || '');
      if (probe.state !== 'inactive') probe.stop();
    };
    const timer = setTimeout(done, 2000); // a browser that never fires `start` still gets a hello
    probe.addEventListener('start', done, { once: true });
    probe.start();
  });
}
