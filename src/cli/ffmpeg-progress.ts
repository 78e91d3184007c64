/** What ffmpeg's `-progress` reports, as the publisher shows it. */
export interface FfmpegProgress {
  /** Video frames written so far. */
  readonly frames: number;
  /** Output bytes so far. */
  readonly totalBytes: number;
  /** Media time written, µs. */
  readonly outTimeUs: number;
  /** `true` on ffmpeg's last report. */
  readonly ended: boolean;
}

/**
 * Reads ffmpeg's `-progress` output (`key=value` lines, a block per report ending in
 * `progress=continue|end`). Feed it text as it arrives, in any pieces; `onReport` gets each complete block.
 */
export class FfmpegProgressParser {
  private partial = '';
  private block = new Map<string, string>();

  constructor(private readonly onReport: (p: FfmpegProgress) => void) {}

  push(text: string): void {
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop() ?? '';
    for (const raw of lines) {
      const line = raw.trim();
      const eq = line.indexOf('=');
      if (eq <= 0) continue;
      const key = line.slice(0, eq);
      const value = line.slice(eq + 1);
      if (key !== 'progress') {
        this.block.set(key, value);
        continue;
      }
      const num = (k: string): number => {
        const n = Number(this.block.get(k));
        return Number.isFinite(n) ? n : 0;
      };
      this.onReport({
        frames: num('frame'),
        totalBytes: num('total_size'),
        // ffmpeg 5 prints out_time_ms in µs too (a long-standing misnomer); either will do.
        outTimeUs: num('out_time_us') || num('out_time_ms'),
        ended: value === 'end',
      });
      this.block = new Map();
    }
  }
}
