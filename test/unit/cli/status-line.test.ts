import { describe, expect, it } from 'vitest';
import { type FfmpegProgress, FfmpegProgressParser } from '../../../src/cli/ffmpeg-progress.ts';
import { parseFramecrc } from '../../../src/cli/file-probe.ts';
import { parseBitrate } from '../../../src/cli/publish-args.ts';
import {
  formatDuration,
  formatStatus,
  PublishReporter,
  type PublishStatus,
} from '../../../src/cli/status-line.ts';

const live: PublishStatus = {
  state: 'live',
  uptimeMs: 65_400,
  bitrateBps: 1_980_400,
  frames: 1950,
  reconnects: 0,
};

describe('formatStatus', () => {
  it.each([
    [live, 'live 0:01:05 · 1980 kbit/s · 1950 frames · 0 reconnects'],
    [
      { ...live, uptimeMs: 3 * 3600_000 + 61_000, reconnects: 1 },
      'live 3:01:01 · 1980 kbit/s · 1950 frames · 1 reconnect',
    ],
    [
      { ...live, state: 'retrying', retryInMs: 1200, bitrateBps: 0 },
      'retrying in 2 s · 0 kbit/s · 1950 frames · 0 reconnects',
    ],
    [
      { ...live, state: 'connecting', bitrateBps: 0, frames: 0 },
      'connecting · 0 kbit/s · 0 frames · 0 reconnects',
    ],
  ] as const)('%j → %s', (s, text) => {
    expect(formatStatus(s)).toBe(text);
  });

  it('formatDuration', () => {
    expect(formatDuration(0)).toBe('0:00:00');
    expect(formatDuration(59_999)).toBe('0:00:59');
    expect(formatDuration(36_000_000)).toBe('10:00:00');
  });
});

function recorder(tty: boolean) {
  const raw: string[] = [];
  const out: string[] = [];
  const err: string[] = [];
  let now = Date.parse('2026-12-03T10:00:00.000Z');
  const r = new PublishReporter({
    prefix: '[publish cam1]',
    tty,
    plainEveryMs: 10_000,
    write: (t) => void raw.push(t),
    out: (l) => void out.push(l),
    err: (l) => void err.push(l),
    now: () => now,
  });
  const advance = (ms: number): void => {
    now += ms;
  };
  return { r, raw, out, err, advance };
}

describe('PublishReporter', () => {
  it('on a terminal: one line redrawn in place; messages scroll above it', () => {
    const { r, raw, out, err } = recorder(true);
    r.status(live);
    r.status({ ...live, uptimeMs: 66_000 });
    expect(raw).toEqual([
      '\r\x1b[2K[publish cam1] live 0:01:05 · 1980 kbit/s · 1950 frames · 0 reconnects',
      '\r\x1b[2K[publish cam1] live 0:01:06 · 1980 kbit/s · 1950 frames · 0 reconnects',
    ]);
    r.error('connection lost');
    expect(err).toEqual(['[publish cam1] connection lost']);
    expect(raw.slice(-2)).toEqual([
      '\r\x1b[2K',
      '[publish cam1] live 0:01:06 · 1980 kbit/s · 1950 frames · 0 reconnects',
    ]);
    r.close();
    expect(raw.at(-1)).toBe('\n');
    expect(out).toEqual([]);
  });

  it('elsewhere: plain timestamped lines, a status every plainEveryMs, no control characters', () => {
    const { r, raw, out, err, advance } = recorder(false);
    r.info('connected');
    r.status(live);
    advance(3000);
    r.status(live);
    advance(7000);
    r.status(live);
    r.status(live, true);
    r.error('connection lost');
    r.close();
    expect(raw).toEqual([]);
    expect(out).toEqual([
      '2026-12-03T10:00:00.000Z [publish cam1] connected',
      '2026-12-03T10:00:00.000Z [publish cam1] live 0:01:05 · 1980 kbit/s · 1950 frames · 0 reconnects',
      '2026-12-03T10:00:10.000Z [publish cam1] live 0:01:05 · 1980 kbit/s · 1950 frames · 0 reconnects',
      '2026-12-03T10:00:10.000Z [publish cam1] live 0:01:05 · 1980 kbit/s · 1950 frames · 0 reconnects',
    ]);
    expect(err).toEqual(['2026-12-03T10:00:10.000Z [publish cam1] connection lost']);
  });
});

describe('FfmpegProgressParser', () => {
  it('reports each block, however the text is split', () => {
    const reports: FfmpegProgress[] = [];
    const p = new FfmpegProgressParser((r) => void reports.push(r));
    const text =
      'frame=30\nfps=30.00\nstream_0_0_q=23.0\nbitrate= 512.3kbits/s\ntotal_size=65536\nout_time_us=1000000\n' +
      'out_time_ms=1000000\nout_time=00:00:01.000000\nspeed=1x\nprogress=continue\n' +
      'frame=61\ntotal_size=131072\nout_time_us=2033000\nprogress=end\n';
    for (let i = 0; i < text.length; i += 7) p.push(text.slice(i, i + 7));
    expect(reports).toEqual([
      { frames: 30, totalBytes: 65536, outTimeUs: 1_000_000, ended: false },
      { frames: 61, totalBytes: 131072, outTimeUs: 2_033_000, ended: true },
    ]);
  });

  it('treats N/A and missing keys as 0', () => {
    const reports: FfmpegProgress[] = [];
    const p = new FfmpegProgressParser((r) => void reports.push(r));
    p.push('frame=0\ntotal_size=N/A\nout_time_us=N/A\nprogress=continue\n');
    expect(reports).toEqual([{ frames: 0, totalBytes: 0, outTimeUs: 0, ended: false }]);
  });
});

describe('parseFramecrc', () => {
  const head = '#tb 0: 1/15360\n#media_type 0: video\n#codec_id 0: h264\n#dimensions 0: 320x240\n';
  const packet = (pts: number, key: boolean) =>
    `0, ${pts}, ${pts}, 512, 1000, 0xabcdef01${key ? '' : ', F=0x0'}\n`;

  it('finds the codec and the longest keyframe distance', () => {
    let text = head;
    for (let i = 0; i < 90; i++) text += packet(i * 512, i % 30 === 0 || i === 75);
    // keyframes at 0, 1 s, 2 s, 2.5 s: the longest gap is 1 s
    expect(parseFramecrc(text)).toEqual({ codec: 'h264', maxKeyframeIntervalMs: 1000 });
  });

  it('reads F=0x1 (and other flags with the key bit) as keyframes', () => {
    const text = `${head}0, 0, 0, 512, 1, 0x1, F=0x1\n0, 7680, 7680, 512, 1, 0x1, F=0x0\n0, 30720, 30720, 512, 1, 0x1, F=0x5\n`;
    expect(parseFramecrc(text).maxKeyframeIntervalMs).toBe(2000);
  });

  it('one keyframe or none: Infinity; no video: no codec', () => {
    expect(parseFramecrc(head + packet(0, true)).maxKeyframeIntervalMs).toBe(Number.POSITIVE_INFINITY);
    expect(parseFramecrc('').codec).toBeUndefined();
  });
});

describe('parseBitrate', () => {
  it.each([
    ['256k', 256_000],
    ['256K', 256_000],
    ['2M', 2_000_000],
    ['2.5m', 2_500_000],
    ['800000', 800_000],
    [' 1M ', 1_000_000],
  ])('%s → %i bits/s', (text, bps) => {
    expect(parseBitrate(text)).toBe(bps);
  });

  it.each([['0'], ['-1M'], ['fast'], ['1G'], ['1 M'], ['']])('%j → undefined', (text) => {
    expect(parseBitrate(text)).toBeUndefined();
  });
});
