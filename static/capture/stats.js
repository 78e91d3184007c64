// @ts-check
// Upload figures shown while live.
import { formatBytes } from '../common.js';

/**
 * Upload rate of what has left the browser, not what was queued, so a slow uplink shows as a low rate.
 */
export class UploadMeter {
  /** @type {{ t: number, bytes: number } | null} */
  #last = null;

  /** @param {number} now ms, performance.now() */
  start(now) {
    this.#last = { t: now, bytes: 0 };
  }

  /**
   * @param {number} bytesSent handed to the socket
   * @param {number} backlog of which still buffered by it
   * @param {number} now ms, performance.now()
   * @returns {number} bits/s since the previous sample; NaN before start()
   */
  sample(bytesSent, backlog, now) {
    const uploaded = bytesSent - backlog;
    if (!this.#last) return Number.NaN;
    const dt = (now - this.#last.t) / 1000;
    const rate = Math.max(0, (uploaded - this.#last.bytes) * 8) / dt;
    this.#last = { t: now, bytes: uploaded };
    return rate;
  }
}

/** @param {number} backlog bytes recorded but not yet uploaded */
export function backpressureMessage(backlog) {
  return (
    `Network too slow: ${formatBytes(backlog)} recorded but not yet uploaded. Viewers will fall behind; ` +
    'choose a lower resolution or frame rate, or a better connection.'
  );
}
