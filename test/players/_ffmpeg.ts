import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { hasCommand, onLines, type PlayerDef, type PlayerSample, pushBounded } from './_harness.ts';

const run = promisify(execFile);
const ffmpegBin = process.env.DASHRELAY_PLAYER_FFMPEG ?? 'ffmpeg';
const ffprobeBin = process.env.DASHRELAY_PLAYER_FFPROBE ?? 'ffprobe';

export interface FileCheck {
  durationS: number | null;
  /** Per stream: packets, and the gaps in pts continuity (a step above 2× the stream's usual step). */
  streams: {
    index: number;
    type: string;
    packets: number;
    gaps: number;
    maxGapMs: number;
    firstGapAtS: number | null;
  }[];
  error?: string;
}

/** ffprobe of a recording: its duration and whether each stream's packet timestamps run without gaps. */
export async function checkRecording(file: string): Promise<FileCheck> {
  try {
    const { stdout } = await run(
      ffprobeBin,
      [
        '-v',
        'error',
        '-show_entries',
        'format=duration:stream=index,codec_type:packet=stream_index,pts_time',
        '-of',
        'json',
        file,
      ],
      { maxBuffer: 64 * 1024 * 1024 },
    );
    const j = JSON.parse(stdout) as {
      format?: { duration?: string };
      streams?: { index: number; codec_type: string }[];
      packets?: { stream_index: number; pts_time?: string }[];
    };
    const streams = (j.streams ?? []).map((s) => {
      const pts = (j.packets ?? [])
        .filter((p) => p.stream_index === s.index && p.pts_time !== undefined)
        .map((p) => Number(p.pts_time))
        .sort((a, b) => a - b);
      const steps = pts.slice(1).map((p, i) => p - (pts[i] ?? p));
      const usual = [...steps].sort((a, b) => a - b)[Math.floor(steps.length / 2)] ?? 0;
      let gaps = 0;
      let maxGap = 0;
      let firstGapAtS: number | null = null;
      steps.forEach((d, i) => {
        if (usual > 0 && d > 2 * usual + 0.001) {
          gaps++;
          firstGapAtS ??= pts[i] ?? null;
        }
        maxGap = Math.max(maxGap, d);
      });
      return {
        index: s.index,
        type: s.codec_type,
        packets: pts.length,
        gaps,
        maxGapMs: Math.round(maxGap * 1000),
        firstGapAtS,
      };
    });
    const d = Number(j.format?.duration);
    return { durationS: Number.isFinite(d) ? d : null, streams };
  } catch (e) {
    return { durationS: null, streams: [], error: String(e).slice(0, 300) };
  }
}

/**
 * ffmpeg reading the MPD, `-c copy` into a Matroska file; the position is the input's start time (its
 * first timestamp, seconds into the Period, from ffmpeg's own log) plus `-progress` out_time.
 */
export const ffmpegCopy: PlayerDef = {
  name: 'ffmpeg-copy',
  positionIsPresentationTime: false,
  async missing() {
    if (!hasCommand(ffmpegBin)) return `${ffmpegBin} not found: apt-get install ffmpeg`;
    if (!hasCommand(ffprobeBin)) return `${ffprobeBin} not found: apt-get install ffmpeg`;
    return undefined;
  },
  async start(ctx) {
    const file = join(ctx.workDir, 'ffmpeg-copy.mkv');
    const samples: PlayerSample[] = [];
    const errors: string[] = [];
    const warnings: string[] = [];
    const child = spawn(
      ffmpegBin,
      [
        '-hide_banner',
        '-nostats',
        '-loglevel',
        'level+info',
        '-i',
        ctx.manifestUrl,
        '-map',
        '0',
        '-c',
        'copy',
        '-progress',
        'pipe:1',
        '-y',
        file,
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    let startS: number | null = null;
    onLines(child.stderr, (line) => {
      const start = /Duration: .*?start: (-?[\d.]+)/.exec(line);
      if (start && startS === null) startS = Number(start[1]);
      if (/\[(error|fatal)\]/.test(line)) pushBounded(errors, line.trim());
      else if (/\[warning\]/.test(line)) pushBounded(warnings, line.trim());
    });
    onLines(child.stdout, (line) => {
      const m = /^out_time_us=(\d+)/.exec(line);
      if (m && startS !== null) samples.push({ atMs: Date.now(), positionS: startS + Number(m[1]) / 1e6 });
    });
    let exitCode: number | null = null;
    const closed = new Promise<void>((resolve) =>
      child.once('close', (code) => {
        exitCode = code;
        resolve();
      }),
    );
    child.on('error', (e) => pushBounded(errors, `spawn: ${e.message}`));
    return {
      samples,
      errors,
      warnings,
      async stop() {
        const exitedEarly = child.exitCode !== null;
        if (!exitedEarly) {
          // `q` ends the recording cleanly (the file gets its index); SIGTERM if ffmpeg does not listen.
          // ffmpeg's dash demuxer retrying a manifest that went away does not check for signals: KILL then.
          child.stdin.end('q');
          const term = setTimeout(() => child.kill('SIGTERM'), 5000);
          const kill = setTimeout(() => child.kill('SIGKILL'), 8000);
          await closed;
          clearTimeout(term);
          clearTimeout(kill);
        }
        return {
          exitedBeforeStop: exitedEarly,
          exitCode,
          inputStartS: startS,
          file: await checkRecording(file),
        };
      },
    };
  },
};
