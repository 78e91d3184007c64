// @ts-check
// Small helpers shared by the three pages. Kept dependency-free so the pages work offline.

/**
 * A live stream as `GET /api/streams` reports it (docs/protocol.md; src/api/stream-info.ts is the
 * server's definition). Only what the pages read.
 * @typedef {object} StreamInfo
 * @property {string} name
 * @property {string} sessionId
 * @property {string} since session start, ISO 8601 UTC
 * @property {{ video: string, audio: string }} codecs `none` when a track is absent
 * @property {number | null} width `null` until known
 * @property {number | null} height
 * @property {number | null} fps
 * @property {number} bitrateBps ingest rate, bits/s
 * @property {string} packager `starting` | `running` | `exited`
 * @property {{ playerLiveDelayMs: number, playerLiveDelayWithAudioMs: number }} [latency] the server's
 *   latency mode; optional because a server older than the pages may not send it
 * @property {string} viewerUrl
 * @property {string} manifestUrl
 */

/** Same rule the server applies (src/util/stream-name.ts); checking here gives an instant, clear message. */
export const streamNamePattern = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * The page's elements, keyed by camelCased id (`bytesSent` for `#bytes-sent`), each checked to be what
 * the page expects: a page whose markup and script disagree fails at load, naming the element.
 * @template {Record<string, new () => HTMLElement>} S
 * @param {S} spec element class per key
 * @returns {{ [K in keyof S]: InstanceType<S[K]> }}
 */
export function elementsById(spec) {
  /** @type {Record<string, HTMLElement>} */
  const out = {};
  for (const [key, type] of Object.entries(spec)) {
    const id = key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    const node = document.getElementById(id);
    if (!(node instanceof type)) throw new Error(`#${id} is missing or not a ${type.name}`);
    out[key] = node;
  }
  return /** @type {{ [K in keyof S]: InstanceType<S[K]> }} */ (out);
}

/**
 * Fetches JSON and returns `{ status, body }` instead of throwing on HTTP errors, because a 404 is an
 * expected answer here ("not live"), not a failure. Network failures still throw. `T` is what the
 * caller expects from the server; it is not validated.
 * @template T
 * @param {string} url
 * @returns {Promise<{ status: number, body: T | null }>}
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

/**
 * @param {string | null | undefined} raw
 * @param {number} fallback when `raw` is not a number
 * @param {number} min
 * @param {number} max
 */
export function clampInt(raw, fallback, min, max) {
  const n = Number.parseInt(raw ?? '', 10);
  return Number.isFinite(n) ? Math.min(max, Math.max(min, n)) : fallback;
}

/**
 * Selects a value, adding it as an option first when a URL asked for something not in the list.
 * @param {HTMLSelectElement} select
 * @param {string} value
 * @param {string} label
 */
export function selectValue(select, value, label) {
  if (![...select.options].some((o) => o.value === value)) select.add(new Option(label, value));
  select.value = value;
}

/** @param {number} n */
export function formatBytes(n) {
  if (!Number.isFinite(n)) return '–';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

/** @param {number} bps */
export function formatBitrate(bps) {
  if (!Number.isFinite(bps)) return '–';
  if (bps >= 1e6) return `${(bps / 1e6).toFixed(2)} Mbit/s`;
  return `${Math.round(bps / 1000)} kbit/s`;
}

/**
 * The server reports nulls until it knows; "unknown yet" reads better than a dash there.
 * @param {StreamInfo} info
 */
export function formatResolution(info) {
  return info?.width && info?.height ? `${info.width}×${info.height}` : 'unknown yet';
}

/** @param {StreamInfo} info */
export function formatFps(info) {
  return info?.fps ? `${Math.round(info.fps * 100) / 100} fps` : 'unknown yet';
}

/** @param {StreamInfo} info */
export function formatCodecs(info) {
  const c = info?.codecs;
  if (!c) return '–';
  return [c.video, c.audio].filter((x) => x && x !== 'none').join(' + ') || '–';
}

/**
 * "3 min 12 s" since an ISO time: easier to take in at a glance than a timestamp.
 * @param {string} iso
 */
export function formatSince(iso) {
  const ms = Date.now() - Date.parse(iso);
  if (!Number.isFinite(ms)) return '–';
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** @param {number} ms */
export function formatClock(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

/**
 * Pills carry the state both as text and as a class so colour is never the only signal.
 * @param {HTMLElement} el
 * @param {string} state
 */
export function setPill(el, state, text = state) {
  el.className = `pill pill-${state}`;
  el.textContent = text;
}

/**
 * Builds an element with text content only: nothing from the network ever goes through innerHTML.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, string | null | undefined>} attrs `class` sets className; null/undefined are left out
 * @param {...(Node | string | null | undefined)} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') node.className = v ?? '';
    else if (v !== undefined && v !== null) node.setAttribute(k, v);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}
