// Benchmark only: injected into the viewer page before it loads. Reads the time burnt into each frame
// the <video> element presents (see clock-source.js) and records glass-to-glass latency on the same
// clock: display time (performance.timeOrigin + the frame's expectedDisplayTime) minus the burnt-in time.
(() => {
  const BITS = 48;
  const BLOCK = 24;
  const TOP = 8;
  const LEFT = 8;
  const probe = {
    samples: [], // [wallClockMs, latencyMs]
    badReads: 0,
    firstFrameAtMs: undefined,
    pageStartMs: Date.now(),
    stalls: [], // [startMs, durationMs]
    attachedAtMs: undefined,
    // What the player itself believes, every 500 ms: [wallClockMs, liveLatencyS, videoBufferS, playbackRate, audioBufferS].
    player: [],
  };
  window.__benchProbe = probe;
  // Keep the SourceBuffers, so a stall can be explained by what each track had buffered.
  const sourceBuffers = [];
  const addSourceBuffer = MediaSource.prototype.addSourceBuffer;
  MediaSource.prototype.addSourceBuffer = function (type) {
    const sb = addSourceBuffer.call(this, type);
    sourceBuffers.push([type.split(';')[0], sb]);
    return sb;
  };
  const ranges = (r) =>
    Array.from({ length: r.length }, (_, i) => [+r.start(i).toFixed(3), +r.end(i).toFixed(3)]);
  probe.stallDetails = [];

  function decode(ctx, video) {
    const w = video.videoWidth;
    const h = video.videoHeight;
    if (!w || !h) return undefined;
    // Block positions are in source pixels of a 1280-wide picture; scale for other sizes.
    const scale = w / Number(new URLSearchParams(location.search).get('sourceWidth') || 1280);
    const stripW = Math.ceil((LEFT + BITS * BLOCK) * scale);
    const stripH = Math.ceil((TOP + 2 * BLOCK) * scale);
    ctx.canvas.width = stripW;
    ctx.canvas.height = stripH;
    ctx.drawImage(video, 0, 0, stripW, stripH, 0, 0, stripW, stripH);
    const data = ctx.getImageData(0, 0, stripW, stripH).data;
    let value = 0;
    for (let i = 0; i < BITS; i++) {
      const x = Math.floor((LEFT + i * BLOCK + BLOCK / 2) * scale);
      const y0 = Math.floor((TOP + BLOCK / 2) * scale);
      const y1 = Math.floor((TOP + BLOCK + BLOCK / 2) * scale);
      const a = data[(y0 * stripW + x) * 4 + 1] > 128 ? 1 : 0;
      const b = data[(y1 * stripW + x) * 4 + 1] > 128 ? 1 : 0;
      if (a === b) return undefined; // the complement row disagrees: a smeared or partial frame
      value = value * 2 + a;
    }
    return value;
  }

  function attach(video) {
    probe.attachedAtMs = Date.now();
    const canvas = document.createElement('canvas');
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    let stallStart;
    video.addEventListener('waiting', () => {
      if (probe.firstFrameAtMs !== undefined && stallStart === undefined) {
        stallStart = Date.now();
        if (probe.stallDetails.length < 20) {
          const detail = { t: +video.currentTime.toFixed(3) };
          for (const [type, sb] of sourceBuffers) {
            try {
              detail[type] = ranges(sb.buffered).slice(-3);
            } catch {
              // removed
            }
          }
          probe.stallDetails.push(detail);
        }
      }
    });
    video.addEventListener('playing', () => {
      if (stallStart !== undefined) probe.stalls.push([stallStart, Date.now() - stallStart]);
      stallStart = undefined;
    });
    const onFrame = (_now, meta) => {
      const displayMs = performance.timeOrigin + meta.expectedDisplayTime;
      const burnt = decode(ctx, video);
      if (burnt === undefined || Math.abs(displayMs - burnt) > 600_000) probe.badReads++;
      else {
        probe.firstFrameAtMs ??= Date.now();
        probe.samples.push([Math.round(displayMs), Math.round(displayMs - burnt)]);
      }
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  }

  setInterval(() => {
    const p = window.dashrelayViewer?.player;
    const v = document.querySelector('video');
    if (!p || !v || probe.firstFrameAtMs === undefined) return;
    try {
      probe.player.push([
        Date.now(),
        p.getCurrentLiveLatency(),
        p.getBufferLength('video'),
        v.playbackRate,
        p.getBufferLength('audio'),
      ]);
    } catch {
      // the player is being replaced
    }
  }, 500);

  // The viewer page gives each new player a fresh <video> (after a republish or a server restart):
  // follow it, so the probe keeps measuring.
  let attached = null;
  setInterval(() => {
    const video = document.querySelector('video');
    if (video && video !== attached) {
      attached = video;
      attach(video);
    }
  }, 10);
})();
