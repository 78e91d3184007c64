import { describe, expect, it, vi } from 'vitest';
import { StreamRegistry } from '../../../src/core/registry.ts';
import type { Session } from '../../../src/core/session.ts';
import { DashrelayError } from '../../../src/errors/errors.ts';
import { FakeSink } from '../_fake-sink.ts';

const hello = {
  stream: 'cam1',
  protocol: 'websocket',
  media: { container: 'webm', video: 'vp8', audio: 'none' },
  mimeType: 'video/webm;codecs=vp8',
} as const;

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => err,
  );
}

describe('StreamRegistry', () => {
  it('opens a session, runs the setup on it and announces it', async () => {
    const sink = new FakeSink('archive');
    const setup = vi.fn((s: Session) => s.attach(sink));
    const registry = new StreamRegistry(setup);
    const started = vi.fn();
    registry.on('started', started);

    const before = Date.now();
    const session = await registry.open({ ...hello, keyframeIntervalMs: 1000 });
    expect(setup).toHaveBeenCalledWith(session);
    expect(started).toHaveBeenCalledWith({ session, attached: undefined });
    expect(session.info).toMatchObject({ ...hello, keyframeIntervalMs: 1000 });
    expect(session.info.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(session.info.startedAtMs).toBeGreaterThanOrEqual(before);
    expect(registry.get('cam1')).toBe(session);
    expect(registry.list()).toEqual([{ session, attached: undefined }]);
    expect(registry.entry('cam1')).toEqual({ session, attached: undefined });

    session.push(Buffer.from('x'));
    expect(sink.chunks).toHaveLength(1);
  });

  it('gives every session its own id', async () => {
    const registry = new StreamRegistry(() => {});
    const a = await registry.open({ ...hello, stream: 'a' });
    const b = await registry.open({ ...hello, stream: 'b' });
    expect(a.info.sessionId).not.toBe(b.info.sessionId);
    expect(registry.list()).toHaveLength(2);
  });

  it('refuses a second publisher on a live name with DR_ERR_INGEST_STREAM_BUSY', async () => {
    const setup = vi.fn();
    const registry = new StreamRegistry(setup);
    const first = await registry.open(hello);
    const err = await rejection(registry.open(hello));
    expect(err).toBeInstanceOf(DashrelayError);
    expect(err).toMatchObject({ code: 'DR_ERR_INGEST_STREAM_BUSY', closeCode: 4009 });
    expect((err as Error).message).toContain('cam1');
    expect(setup).toHaveBeenCalledTimes(1);
    expect(registry.get('cam1')).toBe(first);
  });

  it('refuses a second publisher while the first is still being set up', async () => {
    let release!: () => void;
    const registry = new StreamRegistry(
      () =>
        new Promise<void>((resolve) => {
          release = resolve;
        }),
    );
    const opening = registry.open(hello);
    expect(await rejection(registry.open(hello))).toMatchObject({ code: 'DR_ERR_INGEST_STREAM_BUSY' });
    release();
    await expect(opening).resolves.toBeDefined();
  });

  it('lets a pushing publisher take a name over from another: the old session is told, ended first', async () => {
    const registry = new StreamRegistry(() => {});
    const pushed = { ...hello, takesOver: true };
    const first = await registry.open(pushed);
    const fatal = vi.fn();
    first.on('fatal', fatal);
    const ended = vi.fn();
    registry.on('ended', ended);
    const second = await registry.open(pushed);
    expect(fatal).toHaveBeenCalledWith(
      expect.objectContaining({ code: 'DR_ERR_INGEST_TAKEN_OVER', closeCode: 4010 }),
    );
    expect(first.ended).toBe(true);
    expect(ended).toHaveBeenCalledWith(first);
    expect(registry.get('cam1')).toBe(second);
    expect(second.ended).toBe(false);
  });

  it('never takes over a pulled source, nor lets a pulled source take over a publisher', async () => {
    const registry = new StreamRegistry(() => {});
    await registry.open({ ...hello, protocol: 'rtsp' });
    expect(await rejection(registry.open({ ...hello, takesOver: true }))).toMatchObject({
      code: 'DR_ERR_INGEST_STREAM_BUSY',
    });
    const other = new StreamRegistry(() => {});
    await other.open({ ...hello, takesOver: true });
    expect(await rejection(other.open({ ...hello, protocol: 'rtsp' }))).toMatchObject({
      code: 'DR_ERR_INGEST_STREAM_BUSY',
    });
  });

  it('gives the name to the last of two publishers taking it over at once', async () => {
    const registry = new StreamRegistry(() => {});
    const pushed = { ...hello, takesOver: true };
    const first = await registry.open(pushed);
    const [b, c] = await Promise.all([registry.open(pushed), registry.open(pushed)]);
    expect(first.ended).toBe(true);
    expect([b, c].filter((x) => !x.ended)).toHaveLength(1);
    expect(registry.get('cam1')).toBe([b, c].find((x) => !x.ended));
  });

  it('does not count the session it takes over against maxStreams', async () => {
    const registry = new StreamRegistry(() => {}, { maxStreams: 1 });
    await registry.open({ ...hello, takesOver: true });
    expect(registry.refusal('cam1', true)).toBeUndefined();
    expect(registry.refusal('other', true)).toMatchObject({ code: 'DR_ERR_LIMIT_STREAMS' });
    await expect(registry.open({ ...hello, takesOver: true })).resolves.toBeDefined();
  });

  it('frees the name when the session ends', async () => {
    const registry = new StreamRegistry(() => {});
    const ended = vi.fn();
    registry.on('ended', ended);
    const first = await registry.open(hello);
    await first.end();
    expect(ended).toHaveBeenCalledWith(first);
    expect(registry.get('cam1')).toBeUndefined();
    const second = await registry.open(hello);
    expect(second).not.toBe(first);
    expect(registry.get('cam1')).toBe(second);
  });

  it.each([
    [
      'throws',
      () => {
        throw new Error('ffmpeg spawn failed');
      },
    ],
    ['rejects', () => Promise.reject(new Error('ffmpeg spawn failed'))],
  ])(
    'when the setup %s: rejects with its error, closes attached sinks and leaves the name free',
    async (_what, fail) => {
      const sink = new FakeSink('archive');
      let attempt = 0;
      const registry = new StreamRegistry((s) => {
        attempt++;
        s.attach(sink);
        if (attempt === 1) return fail();
      });
      const started = vi.fn();
      registry.on('started', started);

      const err = await rejection(registry.open(hello));
      expect((err as Error).message).toBe('ffmpeg spawn failed');
      expect(sink.closeCalls).toBe(1);
      expect(started).not.toHaveBeenCalled();
      expect(registry.get('cam1')).toBeUndefined();
      expect(registry.list()).toEqual([]);

      await expect(registry.open(hello)).resolves.toBeDefined();
    },
  );

  it('closeAll() ends every session', async () => {
    const registry = new StreamRegistry(() => {});
    const a = await registry.open({ ...hello, stream: 'a' });
    const b = await registry.open({ ...hello, stream: 'b' });
    await registry.closeAll();
    expect(a.ended).toBe(true);
    expect(b.ended).toBe(true);
    expect(registry.list()).toEqual([]);
  });
});

describe('StreamRegistry limits', () => {
  it('refuses a session beyond maxStreams with DR_ERR_LIMIT_STREAMS, counting sessions still set up', async () => {
    let finishSetup: () => void = () => {};
    const registry = new StreamRegistry(
      (s) => {
        if (s.info.stream === 'slow') return new Promise<void>((resolve) => (finishSetup = resolve));
      },
      { maxStreams: 2 },
    );
    const a = await registry.open({ ...hello, stream: 'a' });
    const slow = registry.open({ ...hello, stream: 'slow' });
    expect(registry.refusal('c')).toMatchObject({ code: 'DR_ERR_LIMIT_STREAMS' });
    const err = await rejection(registry.open({ ...hello, stream: 'c' }));
    expect(err).toBeInstanceOf(DashrelayError);
    expect(err).toMatchObject({ code: 'DR_ERR_LIMIT_STREAMS', status: 429, closeCode: 4429 });
    expect((err as Error).message).toContain('2 live streams');
    // the name already live is still told it is busy, not the limit
    expect(registry.refusal('a')).toMatchObject({ code: 'DR_ERR_INGEST_STREAM_BUSY' });
    finishSetup();
    await slow;

    await a.end();
    expect(registry.refusal('c')).toBeUndefined();
    await expect(registry.open({ ...hello, stream: 'c' })).resolves.toBeDefined();
  });

  it('has no stream limit unless given one', async () => {
    const registry = new StreamRegistry(() => {});
    for (let i = 0; i < 20; i++) await registry.open({ ...hello, stream: `s${i}` });
    expect(registry.list()).toHaveLength(20);
    await registry.closeAll();
  });

  it('gives every session the ingest bitrate limit, which fails it with DR_ERR_LIMIT_BITRATE', async () => {
    const sink = new FakeSink('archive');
    const registry = new StreamRegistry((s) => s.attach(sink), { maxIngestBitrateBps: 100_000 });
    const session = await registry.open(hello);
    const fatal = vi.fn();
    session.on('fatal', fatal);
    session.push(Buffer.alloc(60_000));
    expect(fatal).not.toHaveBeenCalled();
    session.push(Buffer.alloc(10_000));
    expect(fatal).toHaveBeenCalledTimes(1);
    expect(fatal.mock.calls[0]?.[0]).toMatchObject({ code: 'DR_ERR_LIMIT_BITRATE', closeCode: 4429 });
    expect(sink.chunks.map((c) => c.length)).toEqual([60_000, 10_000]);
    await session.end();
  });
});
