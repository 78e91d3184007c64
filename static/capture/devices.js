// @ts-check
// Camera and microphone: what to ask getUserMedia for, the device lists, and what a failure means.

/**
 * What the user picked in the form.
 * @typedef {object} CaptureSettings
 * @property {string} name stream name
 * @property {string} cameraId `''` for the browser's default
 * @property {string} micId
 * @property {boolean} audio
 * @property {number | undefined} width
 * @property {number | undefined} height
 * @property {number} fps
 */

/** On plain-http pages `navigator.mediaDevices` is undefined, whatever TypeScript's DOM types say. */
function mediaDevices() {
  return /** @type {MediaDevices | undefined} */ (navigator.mediaDevices);
}

export function canCapture() {
  return Boolean(window.isSecureContext && mediaDevices()?.getUserMedia && window.MediaRecorder);
}

/**
 * Identifies what getUserMedia was asked for, to know when the open camera no longer matches.
 * @param {CaptureSettings} s
 */
export function mediaKeyOf(s) {
  return JSON.stringify([s.cameraId, s.micId, s.audio, s.width, s.height, s.fps]);
}

/**
 * `ideal`, not `exact`, sizes: a camera that cannot do 1280×720 should still open at its nearest size.
 * @param {CaptureSettings} s
 * @returns {MediaStreamConstraints}
 */
export function mediaConstraints(s) {
  /** @type {MediaTrackConstraints} */
  const video = { width: { ideal: s.width }, height: { ideal: s.height }, frameRate: { ideal: s.fps } };
  if (s.cameraId) video.deviceId = { exact: s.cameraId };
  const audio = s.audio ? (s.micId ? { deviceId: { exact: s.micId } } : true) : false;
  return { video, audio };
}

/**
 * Refills a device list, keeping the selection when that device is still there.
 * @param {HTMLSelectElement} select
 * @param {MediaDeviceInfo[]} devices
 * @param {MediaDeviceKind} kind
 * @param {string} fallback label of the browser's default device
 */
function fillDeviceSelect(select, devices, kind, fallback) {
  const keep = select.value;
  const found = devices.filter((d) => d.kind === kind && d.deviceId);
  // Before permission the browser hides labels (and often ids); offer "default" until then.
  const options = [new Option(fallback, '')];
  found.forEach((d, i) => {
    options.push(new Option(d.label || `${fallback} ${i + 1}`, d.deviceId));
  });
  select.replaceChildren(...options);
  if (options.some((o) => o.value === keep)) select.value = keep;
}

/**
 * @param {HTMLSelectElement} camera
 * @param {HTMLSelectElement} mic
 * @returns {Promise<boolean>} whether device names are visible (i.e. permission was given)
 */
export async function refreshDeviceLists(camera, mic) {
  const devices = await navigator.mediaDevices.enumerateDevices();
  fillDeviceSelect(camera, devices, 'videoinput', 'Default camera');
  fillDeviceSelect(mic, devices, 'audioinput', 'Default microphone');
  return devices.some((d) => d.label);
}

/**
 * Shows the devices actually chosen, so "Default camera" turns into its real name.
 * @param {MediaStream} stream
 * @param {HTMLSelectElement} camera
 * @param {HTMLSelectElement} mic
 */
export function showOpenDevices(stream, camera, mic) {
  const camId = stream.getVideoTracks()[0]?.getSettings().deviceId;
  const micId = stream.getAudioTracks()[0]?.getSettings().deviceId;
  if (camId && [...camera.options].some((o) => o.value === camId)) camera.value = camId;
  if (micId && [...mic.options].some((o) => o.value === micId)) mic.value = micId;
}

/**
 * Turns a getUserMedia failure (or `null` for "cannot even try") into [title, text, what to do].
 * @param {unknown} err
 * @param {{ audio: boolean } | undefined} settings
 * @returns {[title: string, text: string, hint: string]}
 */
export function describeMediaError(err, settings) {
  if (!window.isSecureContext || !mediaDevices()?.getUserMedia) {
    return [
      'Camera access needs a secure page',
      `This page was opened over plain http from ${location.host}. Browsers only allow the camera and ` +
        'microphone on https:// pages or on http://localhost.',
      `Open this page as http://localhost:${location.port || 80}/capture.html on the server machine, or start ` +
        'dashrelay with --tls-self-signed (or --tls-cert and --tls-key) and open it as https://.',
    ];
  }
  if (!err)
    return ['This browser cannot record video', 'MediaRecorder is missing.', 'Use a current Chrome or Edge.'];
  // getUserMedia rejects with DOMExceptions; OverconstrainedError adds `constraint`.
  const { name, message, constraint } =
    /** @type {{ name?: string, message?: string, constraint?: string }} */ (err);
  const retry = 'then press Start again.';
  switch (name) {
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
        `Constraint not satisfiable: ${constraint || 'unknown'}.`,
        `Pick another camera, resolution or frame rate, ${retry}`,
      ];
    default:
      return ['Could not open the camera', `${name}: ${message}`, `Reload the page, ${retry}`];
  }
}
