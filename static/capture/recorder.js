// @ts-check
// MediaRecorder: container and codec choice, chunk size and keyframe spacing.

/**
 * Recorder chunk length, ms (`?timeslice=` overrides). 20 ms: frames leave about as soon as Chrome
 * encodes them (bench:latency: 193 ms median and no stalls in 3 min, against 199 ms and a few short
 * stalls at 50 ms). Each chunk is one WebSocket message.
 */
export const DEFAULT_TIMESLICE_MS = 20;

/**
 * Chrome puts each keyframe on the first frame at least this long after the previous one, so every GOP
 * lasts at least 1 s and the n-th keyframe is never before n s. That is what keeps ffmpeg's stream-copied
 * segments one GOP each: it cuts at the first keyframe at or after the next 1 s mark, and a keyframe just
 * before a mark (990 ms gave 0.98 s GOPs on irregular frames) puts two GOPs in one segment and every later
 * segment ~1 s late. GOPs of 1.000–1.033 s are fine: the origin sets the MPD's segment duration to the
 * measured one (src/origin/segment-timing.ts).
 */
export const KEYFRAME_MS = 1000;

/**
 * Chrome's `videoKeyFrameIntervalDuration` is not in TypeScript's DOM types yet.
 * @typedef {MediaRecorderOptions & { videoKeyFrameIntervalDuration?: number }} RecorderOptions
 */

/**
 * H.264 first: the server can copy it into DASH segments without re-encoding (cheaper, less delay).
 * WebM where the browser offers H.264 in it (Chrome, Edge); else MP4 (Safari records only MP4, with
 * AAC or Opus sound); else VP8/VP9 in WebM (Firefox), which the server transcodes. MP4 costs latency:
 * Chrome's MP4 recorder writes a fragment per keyframe (~1 s), its WebM one a block per frame.
 * @param {boolean} withAudio
 * @param {'auto' | 'mp4' | 'webm'} [container] `mp4` or `webm` forces the container (`?container=`)
 * @returns {string} `''` when the browser supports none: let it pick its default
 */
export function pickMimeType(withAudio, container = 'auto') {
  const webmH264 = withAudio ? ['video/webm;codecs=h264,opus'] : ['video/webm;codecs=h264'];
  const mp4 = withAudio
    ? ['video/mp4;codecs=avc1,mp4a.40.2', 'video/mp4;codecs=avc1,opus', 'video/mp4']
    : ['video/mp4;codecs=avc1', 'video/mp4'];
  const webmOther = withAudio
    ? ['video/webm;codecs=vp8,opus', 'video/webm;codecs=vp9,opus', 'video/webm']
    : ['video/webm;codecs=vp8', 'video/webm;codecs=vp9', 'video/webm'];
  const candidates =
    container === 'mp4'
      ? mp4
      : container === 'webm'
        ? [...webmH264, ...webmOther]
        : [...webmH264, ...mp4, ...webmOther];
  return candidates.find((t) => MediaRecorder.isTypeSupported(t)) ?? '';
}

/**
 * Chrome reports what it really records (`video/x-matroska;codecs=avc1,opus` when asked for
 * `video/webm;codecs=h264,opus`) only once a recorder has started, but hello must carry it before the
 * first media byte. A short-lived probe recorder finds it out, so the real one can still start after
 * `ready` and send the EBML header first.
 * @param {MediaStream} stream
 * @param {RecorderOptions} options
 * @returns {Promise<string>}
 */
function realMimeType(stream, options) {
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

/**
 * A recorder for `stream`, not started: recording starts only once the server is ready, so the first
 * bytes it sees are the EBML header. `mimeType` is found out meanwhile (see realMimeType).
 * @param {MediaStream} stream
 * @param {'auto' | 'mp4' | 'webm'} [container] see pickMimeType
 * @returns {{ recorder: MediaRecorder, mimeType: Promise<string> }}
 * @throws {Error} when the browser cannot record this stream
 */
export function createRecorder(stream, container = 'auto') {
  const requested = pickMimeType(stream.getAudioTracks().length > 0, container);
  /** @type {RecorderOptions} */
  const options = { videoKeyFrameIntervalDuration: KEYFRAME_MS, ...(requested && { mimeType: requested }) };
  const recorder = new MediaRecorder(stream, options);
  return { recorder, mimeType: realMimeType(stream, options) };
}

/**
 * Picture size and rate the camera actually delivers, for hello's hints.
 * @param {MediaStream} stream
 */
export function videoHints(stream) {
  const v = stream.getVideoTracks()[0]?.getSettings() ?? {};
  const fps = v.frameRate ? Math.round(v.frameRate) : undefined;
  return { width: v.width, height: v.height, fps };
}
