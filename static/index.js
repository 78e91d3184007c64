// @ts-check
// The start page: the list of live streams, refreshed every few seconds.
import {
  el,
  elementsById,
  formatBitrate,
  formatCodecs,
  formatFps,
  formatResolution,
  formatSince,
  getJson,
  setPill,
} from './common.js';

/** @typedef {import('./common.js').StreamInfo} StreamInfo */

const POLL_MS = 2000;
const ui = elementsById({
  streams: HTMLUListElement,
  empty: HTMLElement,
  error: HTMLElement,
  listStatus: HTMLElement,
});
const list = ui.streams;
const empty = ui.empty;
const errorBox = ui.error;
const status = ui.listStatus;

/** @param {StreamInfo} info */
function renderStream(info) {
  const pill = el('span');
  // The packager may still be starting: say so rather than offering a link that will not play yet.
  if (info.packager === 'running') setPill(pill, 'live', 'live');
  else setPill(pill, 'connecting', info.packager ?? 'starting');
  const watch = el('a', { class: 'button primary', href: info.viewerUrl }, 'Watch');
  return el(
    'li',
    { class: 'stream-item' },
    el('div', { class: 'stream-title' }, el('strong', {}, info.name), ' ', pill),
    el(
      'dl',
      { class: 'facts' },
      el('div', {}, el('dt', {}, 'Live for'), el('dd', { title: info.since }, formatSince(info.since))),
      el('div', {}, el('dt', {}, 'Resolution'), el('dd', {}, formatResolution(info))),
      el('div', {}, el('dt', {}, 'Frame rate'), el('dd', {}, formatFps(info))),
      el('div', {}, el('dt', {}, 'Codecs'), el('dd', {}, formatCodecs(info))),
      el('div', {}, el('dt', {}, 'Ingest'), el('dd', {}, formatBitrate(info.bitrateBps))),
    ),
    watch,
  );
}

async function refresh() {
  try {
    /** @type {{ status: number, body: { streams?: StreamInfo[] } | null }} */
    const { status: code, body } = await getJson('/api/streams');
    if (code !== 200 || !Array.isArray(body?.streams)) throw new Error(`the server answered HTTP ${code}`);
    errorBox.hidden = true;
    const streams = [...body.streams].sort((a, b) => a.name.localeCompare(b.name));
    list.replaceChildren(...streams.map(renderStream));
    empty.hidden = streams.length > 0;
    status.textContent = `${streams.length} live · updated ${new Date().toLocaleTimeString()}`;
  } catch (err) {
    // Keep the last list visible: a brief server restart should not blank the page.
    errorBox.hidden = false;
    const why = err instanceof Error ? err.message : String(err);
    errorBox.textContent = `Cannot load the stream list (${why}). Is the dashrelay server running? Retrying…`;
    status.textContent = '';
  } finally {
    setTimeout(refresh, POLL_MS);
  }
}

refresh();
