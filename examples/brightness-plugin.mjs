// An analysis plugin: reports the mean brightness of the picture once a second.
// Run it with: npm start -- --analyzer examples/brightness-plugin.mjs

/** @type {import('dashrelay').AnalysisPlugin} */
export default {
  name: 'brightness',
  format: 'gray', // frame.data holds one byte (0-255) per pixel
  open(ctx) {
    let lastPtsMs = -Infinity;
    return {
      onFrame(frame) {
        if (frame.ptsMs - lastPtsMs < 1000) return;
        lastPtsMs = frame.ptsMs;
        let sum = 0;
        for (const luma of frame.data) sum += luma;
        const mean = sum / frame.data.length;
        ctx.emit('brightness', { mean: Math.round(mean), dark: mean < 40 });
      },
      close() {
        ctx.log.info(`stream ${ctx.stream} ended`);
      },
    };
  },
};
