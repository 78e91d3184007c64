// @ts-check
// The dash.js settings of the viewer, with their defaults and units in one place. Pure: what to play
// comes in, the settings object goes out (names as in node_modules/dashjs/index.d.ts, dash.js 5).

/** @typedef {import('dashjs').MediaPlayerSettingClass} DashSettings */
/** @typedef {Pick<import('../common.js').StreamInfo, 'codecs' | 'latency'>} PlayerStreamInfo */

/** Live delay when neither `?liveDelay=` nor the server's latency mode says, s. */
export const DEFAULT_LIVE_DELAY_S = 1;

/** Catch-up plays at most this much faster or slower than 1× (`?maxRate=`), as a fraction. */
export const DEFAULT_MAX_RATE = 0.3;

/**
 * Lowest buffer the catch-up may play down to when the stream has sound, s. Chromium's audio renderer
 * stalls the element below ~0.25 s of audio; a 0.25 s floor cost ~15 ms of latency (409 ms), 0.22 s
 * still stopped the stall cascades (bench:latency, README "Latency").
 */
export const AUDIO_BUFFER_FLOOR_S = 0.22;

/**
 * A positive number from the URL, or undefined.
 * @param {URLSearchParams} params
 * @param {string} key
 */
export function positiveParam(params, key) {
  const v = Number.parseFloat(params.get(key) ?? '');
  return Number.isFinite(v) && v > 0 ? v : undefined;
}

/** @param {PlayerStreamInfo | null | undefined} info */
function hasAudio(info) {
  return Boolean(info?.codecs?.audio && info.codecs.audio !== 'none');
}

/**
 * Player live delay, s: `?liveDelay=` wins, else the server's latency mode (StreamInfo.latency), which
 * knows its segment size and delivery; DEFAULT_LIVE_DELAY_S if neither says.
 * @param {PlayerStreamInfo | null | undefined} info `null` before the stream is known
 * @param {URLSearchParams} params the page's URL parameters
 */
export function liveDelayOf(info, params) {
  const delayMs = hasAudio(info)
    ? info?.latency?.playerLiveDelayWithAudioMs
    : info?.latency?.playerLiveDelayMs;
  return positiveParam(params, 'liveDelay') ?? (delayMs ?? DEFAULT_LIVE_DELAY_S * 1000) / 1000;
}

/**
 * Low-latency dash.js settings for one stream.
 * @param {PlayerStreamInfo | null | undefined} info
 * @param {URLSearchParams} params `liveDelay` (s), `maxRate` (fraction), `catchup=default`
 * @param {string} origin the page's origin, where the server's clock is (`/time`)
 * @returns {DashSettings}
 */
export function playerSettings(info, params, origin) {
  const liveDelay = liveDelayOf(info, params);
  const maxRate = positiveParam(params, 'maxRate') ?? DEFAULT_MAX_RATE;
  return {
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
          playbackBufferMin: hasAudio(info) ? Math.max(liveDelay / 2, AUDIO_BUFFER_FLOOR_S) : liveDelay / 2,
        }),
      },
      utcSynchronization: {
        // The built-in default is a public time server, unreachable on an isolated network.
        defaultTimingSource: { scheme: 'urn:mpeg:dash:utc:http-iso:2014', value: `${origin}/time` },
        useManifestDateHeaderTimeSource: false,
      },
    },
  };
}
