import { execFile } from 'node:child_process';

/** The first seconds of a file's video, as far as copying it into a live stream is concerned. */
export interface VideoProbe {
  /** ffmpeg's codec name (`h264`, `hevc`, `vp9`…), or `undefined` when the file has no video. */
  readonly codec: string | undefined;
  /** The longest distance between two keyframes seen, ms (`Infinity` when fewer than two were seen). */
  readonly maxKeyframeIntervalMs: number;
}

/**
 * Reads ffmpeg's `framecrc` listing of one video stream (`#tb 0: 1/15360`, `#codec_id 0: h264`, then
 * `stream, dts, pts, duration, size, crc[, F=0x…]` per packet; a packet without `F=`, or with bit 0
 * set, is a keyframe).
 */
export function parseFramecrc(text: string): VideoProbe {
  let codec: string | undefined;
  let timebase = 0;
  const keyframePts: number[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) {
      const tb = /^#tb 0: (\d+)\/(\d+)/.exec(line);
      if (tb) timebase = Number(tb[1]) / Number(tb[2]);
      const id = /^#codec_id 0: (\S+)/.exec(line);
      if (id) codec = id[1];
      continue;
    }
    const fields = line.split(',').map((f) => f.trim());
    if (fields.length < 6 || fields[0] !== '0') continue;
    const flags = /^F=0x([0-9a-fA-F]+)$/.exec(fields[6] ?? '');
    const key = flags === null || (Number.parseInt(flags[1] ?? '0', 16) & 1) === 1;
    if (key) keyframePts.push(Number(fields[2]));
  }
  keyframePts.sort((a, b) => a - b);
  let max = keyframePts.length < 2 ? Number.POSITIVE_INFINITY : 0;
  for (let i = 1; i < keyframePts.length; i++) {
    max = Math.max(max, ((keyframePts[i] ?? 0) - (keyframePts[i - 1] ?? 0)) * timebase * 1000);
  }
  return { codec, maxKeyframeIntervalMs: max };
}

/**
 * Lists the first `seconds` of `file`'s first video stream with `ffmpeg -f framecrc` (no decoding, so
 * this is quick even on a Pi). Resolves `undefined` when ffmpeg cannot read the file.
 */
export function probeVideo(ffmpegPath: string, file: string, seconds = 10): Promise<VideoProbe | undefined> {
  const args = ['-hide_banner', '-loglevel', 'error', '-i', file, '-map', '0:v:0', '-c', 'copy'];
  args.push('-t', String(seconds), '-f', 'framecrc', '-');
  return new Promise((resolve) => {
    execFile(ffmpegPath, args, { timeout: 20_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout) => {
      resolve(err ? undefined : parseFramecrc(stdout));
    });
  });
}
