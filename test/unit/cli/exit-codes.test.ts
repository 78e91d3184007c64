import { describe, expect, it } from 'vitest';
import { isRetryableClose, PublishExit } from '../../../src/cli/exit-codes.ts';

describe('isRetryableClose', () => {
  it.each([
    [1001, true], // server shutting down
    [1006, true], // network gone
    [1011, true],
    [4008, true], // the server saw no media for a while
    [4009, true], // the name is a pulled source right now
    [4500, true],
    [4501, true],
    [4502, true],
    [1000, false],
    [4000, false],
    [4001, false],
    [4002, false],
    [4004, false],
    [4005, false],
    [4010, false], // another publisher took the name: taking it back would never end
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
