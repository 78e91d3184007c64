import { describe, expect, it } from 'vitest';
import { createSseWriter, type SseResponse } from '../../../src/api/sse-writer.ts';

/** A response whose client never reads: everything written stays queued. */
function stalledResponse(): SseResponse & { written: string[] } {
  const written: string[] = [];
  return {
    written,
    get writableLength() {
      return written.reduce((n, s) => n + Buffer.byteLength(s), 0);
    },
    write(chunk: string) {
      written.push(chunk);
      return false;
    },
  };
}

describe('createSseWriter', () => {
  it('writes events as event/data lines and heartbeats as comments', () => {
    const res = stalledResponse();
    const sse = createSseWriter(res, 1024);
    expect(sse.event('state', { live: true })).toBe(true);
    expect(sse.comment('keep-alive')).toBe(true);
    expect(res.written).toEqual(['event: state\ndata: {"live":true}\n\n', ': keep-alive\n\n']);
  });

  it('bounds heartbeats like events: a stalled client stops growing past the bound', () => {
    const res = stalledResponse();
    const sse = createSseWriter(res, 100);
    for (let i = 0; i < 1000; i++) sse.comment('keep-alive');
    expect(res.writableLength).toBeLessThanOrEqual(100 + ': keep-alive\n\n'.length);
    expect(sse.event('analysis', { n: 1 })).toBe(false);
  });
});
