import { describe, expect, it } from 'vitest';
import { isRetryableClose, PublishExit } from '../../../src/cli/exit-codes.ts';

describe('isRetryableClose', () => {
  it.each([
    [1001, true], // server shutting down
    [1006, true], // network gone
    [1011, true],
    [4009, true], // name busy: our own previous session, until the server drops it
    [4500, true],
    [4501, true],
    [4502, true],
    [1000, false],
    [4000, false],
    [4001, false],
    [4002, false],
    [4004, false],
    [4005, false],
  ])('%i → %s', (code, expected) => {
    expect(isRetryableClose(code)).toBe(expected);
  });
});

describe('PublishExit', () => {
  it('has distinct codes', () => {
    const codes = Object.values(PublishExit);
    expect(new Set(codes).size).toBe(codes.length);
    expect(PublishExit).toMatchObject({ ok: 0, usage: 2, ffmpegMissing: 3, inputMissing: 4, refused: 5 });
  });
});
