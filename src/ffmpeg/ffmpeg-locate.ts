import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createError } from '../errors/errors.ts';

/** Oldest ffmpeg whose dash muxer has the options we use (`ldash`, `streaming`, `write_prft`, `target_latency`). */
export const minFfmpegVersion = [5, 1] as const;

export interface FfmpegBinary {
  /** Path or command name passed to `spawn`. */
  readonly path: string;
  /** Where it came from, for the start-up log. */
  readonly source: 'config' | 'FFMPEG_PATH' | 'ffmpeg-static' | 'PATH';
  /** Version string as printed by `ffmpeg -version` (e.g. `5.1.9-0+deb12u1`). */
  readonly version: string;
}

const fixHint =
  'Install it (Debian/Ubuntu: `sudo apt-get install ffmpeg`; macOS: `brew install ffmpeg`) ' +
  'or point FFMPEG_PATH at an ffmpeg binary of version 5.1 or newer.';

/** The candidate in the documented order: explicit path, `FFMPEG_PATH`, `ffmpeg-static`, `ffmpeg` on PATH. */
export function pickFfmpeg(
  explicit?: string,
  env: NodeJS.ProcessEnv = process.env,
): Omit<FfmpegBinary, 'version'> {
  if (explicit) return { path: explicit, source: 'config' };
  if (env.FFMPEG_PATH) return { path: env.FFMPEG_PATH, source: 'FFMPEG_PATH' };
  const bundled = ffmpegStaticPath();
  if (bundled) return { path: bundled, source: 'ffmpeg-static' };
  return { path: 'ffmpeg', source: 'PATH' };
}

function ffmpegStaticPath(): string | undefined {
  try {
    // ffmpeg-static is optional: its install downloads a binary and fails offline, leaving no file.
    const p = createRequire(import.meta.url)('ffmpeg-static') as unknown;
    return typeof p === 'string' && existsSync(p) ? p : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Parses the first line of `ffmpeg -version`. Git builds (`N-12345-g…`) count as new enough.
 * @returns `[major, minor]`, or `undefined` for unparsable output.
 */
export function parseFfmpegVersion(
  output: string,
): { text: string; major: number; minor: number } | undefined {
  const m = /^ffmpeg version (\S+)/m.exec(output);
  if (!m?.[1]) return undefined;
  const text = m[1];
  const num = /^n?(\d+)\.(\d+)/.exec(text);
  if (num) return { text, major: Number(num[1]), minor: Number(num[2]) };
  // Git builds: `N-112233-g…` (ffmpeg.org), `2024-03-07-git-…` (gyan.dev), `git-…`.
  if (/^N-|^git-|^\d{4}-\d{2}-\d{2}-git-/.test(text)) return { text, major: 99, minor: 0 };
  return undefined;
}

/**
 * Finds ffmpeg and checks it runs and is ≥ 5.1.
 * @throws DashrelayError `DR_ERR_FFMPEG_MISSING` (not found / not runnable) or `DR_ERR_FFMPEG_TOO_OLD`.
 */
export async function locateFfmpeg(
  explicit?: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<FfmpegBinary> {
  const pick = pickFfmpeg(explicit, env);
  const output = await new Promise<string>((resolve, reject) => {
    execFile(pick.path, ['-hide_banner', '-version'], { timeout: 10_000 }, (err, stdout) => {
      if (err) reject(err);
      else resolve(stdout);
    });
  }).catch((err: NodeJS.ErrnoException) => {
    const why = err.code === 'ENOENT' ? 'was not found' : `could not be run (${err.message})`;
    throw createError(
      'DR_ERR_FFMPEG_MISSING',
      `ffmpeg (${pick.path}, from ${pick.source}) ${why}. ${fixHint}`,
    );
  });
  const v = parseFfmpegVersion(output);
  if (!v) throw createError('DR_ERR_FFMPEG_MISSING', `${pick.path} does not look like ffmpeg. ${fixHint}`);
  const [minMajor, minMinor] = minFfmpegVersion;
  if (v.major < minMajor || (v.major === minMajor && v.minor < minMinor)) {
    throw createError(
      'DR_ERR_FFMPEG_TOO_OLD',
      `ffmpeg ${v.text} (${pick.path}) is too old; dashrelay needs ${minMajor}.${minMinor} or newer. ${fixHint}`,
    );
  }
  return { ...pick, version: v.text };
}
