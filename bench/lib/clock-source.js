// Benchmark only: injected into capture.html before it loads (Playwright addInitScript). Replaces the
// camera with a canvas that burns the current time (Date.now(), ms) into every frame as two rows of
// 48 black/white blocks — the value and its bitwise complement, so a decoder can reject bad reads —
// plus a moving bar so the encoder sees motion. Audio, when asked for, is a 440 Hz oscillator.
(() => {
  const BITS = 48;
  const BLOCK = 24;
  const TOP = 8;
  const LEFT = 8;
  const params = new URLSearchParams(location.search);
  const width = Number(params.get('width') || 1280);
  const height = Number(params.get('height') || 720);
  const fps = Number(params.get('fps') || 30);

  function draw(ctx, now, frame) {
    ctx.fillStyle = '#404040';
    ctx.fillRect(0, 0, width, height);
    ctx.fillStyle = '#3070c0';
    ctx.fillRect((frame * 8) % width, height / 2, 80, height / 3);
    for (let row = 0; row < 2; row++) {
      for (let i = 0; i < BITS; i++) {
        // Bit i of the value (MSB first); row 1 carries the complement.
        const bit = Math.floor(now / 2 ** (BITS - 1 - i)) % 2;
        ctx.fillStyle = (row === 0 ? bit : 1 - bit) ? '#ffffff' : '#000000';
        ctx.fillRect(LEFT + i * BLOCK, TOP + row * BLOCK, BLOCK, BLOCK);
      }
    }
    ctx.fillStyle = '#ffffff';
    ctx.font = '40px monospace';
    ctx.fillText(new Date(now).toISOString().slice(11, 23), LEFT, TOP + 2 * BLOCK + 50);
  }

  async function clockStream(constraints) {
    const canvas = document.createElement('canvas');
    canvas.width = width;
    canvas.height = height;
    const ctx = canvas.getContext('2d', { alpha: false });
    let frame = 0;
    draw(ctx, Date.now(), frame);
    // A timer, not requestAnimationFrame: it keeps running in a page that is not in front.
    setInterval(() => draw(ctx, Date.now(), ++frame), 1000 / fps);
    const stream = canvas.captureStream(fps);
    if (constraints?.audio) {
      const audio = new AudioContext();
      const osc = audio.createOscillator();
      osc.frequency.value = 440;
      const dest = audio.createMediaStreamDestination();
      osc.connect(dest);
      osc.start();
      for (const track of dest.stream.getAudioTracks()) stream.addTrack(track);
    }
    return stream;
  }

  const md = navigator.mediaDevices;
  if (md) {
    md.getUserMedia = (constraints) => clockStream(constraints);
  }
  window.__benchClockSource = { BITS, BLOCK, TOP, LEFT };
})();
