import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { AnalysisSink, type AnalysisSinkOptions } from '../../../src/analysis/analysis-sink.ts';
import type {
  AnalysisContext,
  AnalysisFrame,
  AnalysisLogger,
  AnalysisPlugin,
  FrameFormat,
} from '../../../src/analysis/types.ts';
import { eventually, ffmpeg, fixture } from '../../_setup.ts';

const silent: AnalysisLogger = { info: () => {}, warn: () => {}, error: () => {} };

/** A plugin recording the frames it gets and whether its reader was closed. */
function recorder(name: string, format?: FrameFormat) {
  const plugin = {
    name,
    ...(format ? { format } : {}),
    frames: [] as AnalysisFrame[],
    closed: 0,
    open(_ctx: AnalysisContext) {
      return {
        onFrame: (f: AnalysisFrame) => {
          plugin.frames.push(f);
        },
        close: () => {
          plugin.closed++;
        },
      };
    },
  } satisfies AnalysisPlugin & { frames: AnalysisFrame[]; closed: number };
  return plugin;
}

async function sinkWith(
  plugins: AnalysisPlugin[],
  extra: Partial<AnalysisSinkOptions> = {},
): Promise<{ sink: AnalysisSink; stopped: ReturnType<typeof vi.fn> }> {
  const stopped = vi.fn();
  const sink = new AnalysisSink({
    stream: 'cam',
    ffmpegPath: (await ffmpeg()).path,
    plugins,
    fps: 5,
    widthPx: 64,
    queueFrames: 1000,
    emit: () => {},
    log: () => silent,
    onDecoderStopped: stopped,
    ...extra,
  });
  return { sink, stopped };
}

/** The analysis decoders this test process runs: ffmpeg children writing PNM frames to a pipe. */
function decoderPids(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The command name in parentheses may hold spaces: the parent pid is the second field after it.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== process.pid) continue;
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('image2pipe')) pids.push(Number(entry));
    } catch {
      // The process ended while being read.
    }
  }
  return pids;
}

function writeAll(sink: AnalysisSink, data: Buffer, pieceBytes = 16 * 1024): boolean[] {
  const answers: boolean[] = [];
  for (let off = 0; off < data.length; off += pieceBytes) {
    answers.push(sink.write(data.subarray(off, off + pieceBytes)));
  }
  return answers;
}

describe('AnalysisSink (real ffmpeg decoder, 4 s 320×240 fixture)', () => {
  it.each([
    { fps: 5, widthPx: 64, height: 48 },
    { fps: 10, widthPx: 32, height: 24 },
  ])('hands plugins $fps frames per second $widthPx px wide', async ({ fps, widthPx, height }) => {
    const gray = recorder('gray');
    const { sink, stopped } = await sinkWith([gray], { fps, widthPx });
    expect(writeAll(sink, await fixture('h264')).every(Boolean)).toBe(true);
    await sink.close();

    const expected = 4 * fps;
    expect(gray.frames.length).toBeGreaterThanOrEqual(expected - 1);
    expect(gray.frames.length).toBeLessThanOrEqual(expected + 1);
    expect(sink.frames).toBe(gray.frames.length);
    gray.frames.forEach((f, i) => {
      expect(f).toMatchObject({ stream: 'cam', width: widthPx, height, format: 'gray' });
      expect(f.data.length).toBe(widthPx * height);
      expect(f.ptsMs).toBe(Math.round((i * 1000) / fps));
    });
    // The test pattern moves: frames differ.
    expect(gray.frames[0]?.data.equals(gray.frames.at(-1)?.data ?? Buffer.alloc(0))).toBe(false);
    expect(gray.closed).toBe(1);
    expect(stopped).not.toHaveBeenCalled();
  });

  it('decodes RGB when a plugin asks for it, and still hands gray to the others', async () => {
    const rgb = recorder('rgb', 'rgb24');
    const gray = recorder('gray');
    const { sink } = await sinkWith([rgb, gray]);
    writeAll(sink, await fixture('h264'));
    await sink.close();
    expect(rgb.frames.length).toBeGreaterThan(10);
    expect(rgb.frames[0]).toMatchObject({ format: 'rgb24', width: 64, height: 48 });
    expect(rgb.frames[0]?.data.length).toBe(64 * 48 * 3);
    expect(gray.frames).toHaveLength(rgb.frames.length);
    expect(gray.frames[0]).toMatchObject({ format: 'gray', width: 64, height: 48 });
    expect(gray.frames[0]?.data.length).toBe(64 * 48);
  });

  it.runIf(process.platform === 'linux')(
    'tells the session when the decoder dies, then discards without pushing back',
    async () => {
      const gray = recorder('gray');
      const { sink, stopped } = await sinkWith([gray]);
      const data = await fixture('h264');
      writeAll(sink, data.subarray(0, 64 * 1024));
      const [pid] = await eventually(
        () => {
          const pids = decoderPids();
          return pids.length === 1 ? pids : undefined;
        },
        5000,
        'the decoder process',
      );
      process.kill(pid ?? 0, 'SIGKILL');
      await eventually(() => stopped.mock.calls.length > 0 || undefined, 5000, 'onDecoderStopped');
      expect(stopped).toHaveBeenCalledTimes(1);
      expect(stopped.mock.calls[0]?.[0]).toMatch(/SIGKILL/);
      expect(writeAll(sink, data.subarray(64 * 1024)).every(Boolean)).toBe(true);
      await sink.close();
      expect(gray.closed).toBe(1);
      expect(stopped).toHaveBeenCalledTimes(1);
      expect(decoderPids()).toEqual([]);
    },
  );

  it('gives up on a decoder that falls too far behind instead of pushing back', async () => {
    const gray = recorder('gray');
    const { sink, stopped } = await sinkWith([gray], { maxBacklogBytes: 64 * 1024 });
    const data = await fixture('h264');
    // One big write the pipe cannot take at once leaves the rest pending, over the bound.
    expect(sink.write(data)).toBe(true);
    expect(sink.write(data)).toBe(true);
    expect(stopped).toHaveBeenCalledTimes(1);
    expect(stopped.mock.calls[0]?.[0]).toBe('decoder fell too far behind the live input');
    expect(sink.write(data)).toBe(true);
    await sink.close();
    expect(gray.closed).toBe(1);
    expect(stopped).toHaveBeenCalledTimes(1);
  });

  it('closes idempotently, also before any input', async () => {
    const gray = recorder('gray');
    const { sink, stopped } = await sinkWith([gray]);
    await Promise.all([sink.close(), sink.close()]);
    await sink.close();
    expect(gray.closed).toBe(1);
    expect(gray.frames).toEqual([]);
    expect(stopped).not.toHaveBeenCalled();
    expect(sink.write(Buffer.from('late'))).toBe(true);
  });
});
