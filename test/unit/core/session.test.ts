import { describe, expect, it, vi } from 'vitest';
import type { SessionInfo } from '../../../src/contracts/sink.ts';
import { Session } from '../../../src/core/session.ts';
import { FakeSink } from '../_fake-sink.ts';

const info: SessionInfo = {
  stream: 'cam1',
  sessionId: 'session-1',
  startedAtMs: 0,
  protocol: 'websocket',
  media: { container: 'matroska', video: 'h264', audio: 'opus' },
  mimeType: 'video/x-matroska;codecs=avc1,opus',
};

const b = (s: string): Buffer => Buffer.from(s);

function setup(...names: string[]) {
  const journal: string[] = [];
  const session = new Session(info);
  const sinks = names.map((n) => new FakeSink(n, journal));
  for (const s of sinks) session.attach(s);
  const pause = vi.fn();
  const resume = vi.fn();
  const ended = vi.fn();
  session.on('pause', pause);
  session.on('resume', resume);
  session.on('ended', ended);
  return { session, sinks, journal, pause, resume, ended };
}

describe('Session', () => {
  it('keeps its info', () => {
    expect(new Session(info).info).toBe(info);
  });

  it('tees every chunk to every sink, in order', () => {
    const { session, sinks, journal } = setup('archive', 'packager', 'analysis');
    session.push(b('1'));
    session.push(b('2'));
    expect(journal).toEqual([
      'archive:1',
      'packager:1',
      'analysis:1',
      'archive:2',
      'packager:2',
      'analysis:2',
    ]);
    for (const s of sinks) expect(s.chunks.map(String)).toEqual(['1', '2']);
  });

  it('passes the same Buffer to every sink', () => {
    const { session, sinks } = setup('a', 'b');
    const chunk = b('x');
    session.push(chunk);
    expect(sinks[0]?.chunks[0]).toBe(chunk);
    expect(sinks[1]?.chunks[0]).toBe(chunk);
  });

  it('counts bytes received', () => {
    const { session } = setup('a');
    session.push(b('abc'));
    session.push(b('de'));
    expect(session.bytesReceived).toBe(5);
  });

  it("emits 'pause' once when a sink returns false, and 'resume' after its drain", () => {
    const { session, sinks, pause, resume } = setup('a', 'b');
    const [a, slow] = sinks as [FakeSink, FakeSink];
    slow.accept = false;
    session.push(b('1'));
    expect(pause).toHaveBeenCalledTimes(1);
    expect(session.paused).toBe(true);
    // still full: no second pause; bytes are not dropped
    session.push(b('2'));
    expect(pause).toHaveBeenCalledTimes(1);
    expect(slow.chunks.map(String)).toEqual(['1', '2']);

    a.drain(); // a was never paused: nothing happens
    expect(resume).not.toHaveBeenCalled();

    slow.drain();
    expect(resume).toHaveBeenCalledTimes(1);
    expect(session.paused).toBe(false);
  });

  it("emits 'resume' only after every paused sink drained", () => {
    const { session, sinks, pause, resume } = setup('a', 'b', 'c');
    const [a, bSink, c] = sinks as [FakeSink, FakeSink, FakeSink];
    a.accept = false;
    c.accept = false;
    session.push(b('1'));
    expect(pause).toHaveBeenCalledTimes(1);

    a.drain();
    expect(resume).not.toHaveBeenCalled();
    bSink.drain();
    expect(resume).not.toHaveBeenCalled();
    c.drain();
    expect(resume).toHaveBeenCalledTimes(1);

    // a second drain of the same sink does not resume twice
    c.drain();
    expect(resume).toHaveBeenCalledTimes(1);
  });

  it('pauses again after a resume when a sink fills up again', () => {
    const { session, sinks, pause, resume } = setup('a');
    const sink = sinks[0] as FakeSink;
    sink.accept = false;
    session.push(b('1'));
    sink.drain();
    sink.accept = false;
    session.push(b('2'));
    expect(pause).toHaveBeenCalledTimes(2);
    expect(resume).toHaveBeenCalledTimes(1);
  });

  it("does not emit 'pause' for a sink that fills while another already paused", () => {
    const { session, sinks, pause, resume } = setup('a', 'b');
    const [a, bSink] = sinks as [FakeSink, FakeSink];
    a.accept = false;
    session.push(b('1'));
    bSink.accept = false;
    session.push(b('2'));
    expect(pause).toHaveBeenCalledTimes(1);
    a.drain();
    expect(resume).not.toHaveBeenCalled();
    bSink.drain();
    expect(resume).toHaveBeenCalledTimes(1);
  });

  it('end() closes every sink once, emits ended once and is idempotent', async () => {
    const { session, sinks, ended } = setup('a', 'b');
    expect(session.ended).toBe(false);
    const first = session.end();
    const second = session.end();
    expect(second).toBe(first);
    expect(session.ended).toBe(true);
    await first;
    await session.end();
    expect(ended).toHaveBeenCalledTimes(1);
    for (const s of sinks) expect(s.closeCalls).toBe(1);
  });

  it("end() waits for every sink's close before 'ended'", async () => {
    const { session, sinks, ended } = setup('a', 'b');
    let release!: () => void;
    sinks[1]?.closeWith(
      new Promise<void>((resolve) => {
        release = resolve;
      }),
    );
    const done = session.end();
    await new Promise((resolve) => setImmediate(resolve));
    expect(ended).not.toHaveBeenCalled();
    release();
    await done;
    expect(ended).toHaveBeenCalledTimes(1);
  });

  it("end() runs the onEnd releases after the sinks closed and waits for them before 'ended'", async () => {
    const { session, journal, ended } = setup('a');
    let finish!: () => void;
    session.onEnd(async () => {
      journal.push('release started');
      await new Promise<void>((resolve) => {
        finish = resolve;
      });
      journal.push('release done');
    });
    session.onEnd(() => Promise.reject(new Error('a failing release does not stop the others')));
    const done = session.end();
    await new Promise((resolve) => setImmediate(resolve));
    expect(journal).toEqual(['a.close', 'release started']);
    expect(ended).not.toHaveBeenCalled();
    finish();
    await done;
    expect(journal.at(-1)).toBe('release done');
    expect(ended).toHaveBeenCalledTimes(1);
  });

  it('onEnd on an ended session runs the release at once', async () => {
    const { session } = setup();
    await session.end();
    const release = vi.fn(() => undefined);
    session.onEnd(release);
    await new Promise((resolve) => setImmediate(resolve));
    expect(release).toHaveBeenCalledTimes(1);
  });

  it('end() still ends when a sink fails to close', async () => {
    const { session, sinks, ended } = setup('a', 'b');
    sinks[0]?.closeWith(Promise.reject(new Error('close failed')));
    await expect(session.end()).resolves.toBeUndefined();
    expect(ended).toHaveBeenCalledTimes(1);
    expect(sinks[1]?.closeCalls).toBe(1);
  });

  it('ignores pushes after end()', async () => {
    const { session, sinks } = setup('a');
    await session.end();
    session.push(b('late'));
    expect(sinks[0]?.chunks).toEqual([]);
    expect(session.bytesReceived).toBe(0);
  });

  it("does not emit 'resume' after end()", async () => {
    const { session, sinks, resume } = setup('a');
    const sink = sinks[0] as FakeSink;
    sink.accept = false;
    session.push(b('1'));
    await session.end();
    sink.drain();
    expect(resume).not.toHaveBeenCalled();
  });

  it('reports the ingest bitrate over the last 2 s', () => {
    vi.useFakeTimers({ now: 10_000, toFake: ['Date'] });
    try {
      const { session } = setup('a');
      session.push(Buffer.alloc(1000));
      vi.setSystemTime(11_000);
      session.push(Buffer.alloc(1500));
      expect(session.bitrateBps()).toBe(10_000);
      vi.setSystemTime(12_500);
      expect(session.bitrateBps()).toBe(6_000);
      vi.setSystemTime(20_000);
      expect(session.bitrateBps()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('Session ingest bitrate limit', () => {
  it('tees the chunk that goes over the limit, then emits fatal DR_ERR_LIMIT_BITRATE once', () => {
    vi.useFakeTimers();
    vi.setSystemTime(0);
    try {
      const session = new Session(info, { maxIngestBitrateBps: 100_000 });
      const archive = new FakeSink('archive');
      session.attach(archive);
      const fatal = vi.fn((_err: Error) => {
        // what an ingest does: the publisher is told while the archive already has the chunk
        expect(archive.chunks).toHaveLength(4);
      });
      session.on('fatal', fatal);
      // 5 s × 100 000 bit/s = 62 500 bytes: at the limit, not above
      for (const bytes of [25_000, 25_000, 12_500]) {
        session.push(Buffer.alloc(bytes));
        vi.advanceTimersByTime(100);
      }
      expect(fatal).not.toHaveBeenCalled();
      session.push(Buffer.alloc(20_000));
      expect(fatal).toHaveBeenCalledTimes(1);
      const err = fatal.mock.calls[0]?.[0] as Error & { code: string };
      expect(err.code).toBe('DR_ERR_LIMIT_BITRATE');
      expect(err.message).toMatch(/came in at \d+ bit\/s over 5 s, above the limit of 100000 bit\/s/);
      // the bytes keep going to the sinks until the ingest ends the session
      session.push(Buffer.alloc(1));
      expect(archive.chunks).toHaveLength(5);
      expect(fatal).toHaveBeenCalledTimes(1);
      expect(session.bytesReceived).toBe(25_000 + 25_000 + 12_500 + 20_000 + 1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('has no limit unless given one', () => {
    const session = new Session(info);
    const fatal = vi.fn();
    session.on('fatal', fatal);
    session.push(Buffer.alloc(10_000_000));
    expect(fatal).not.toHaveBeenCalled();
  });
});
