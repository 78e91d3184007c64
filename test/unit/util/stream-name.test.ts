import { describe, expect, it } from 'vitest';
import { isValidStreamName, streamNamePattern } from '../../../src/util/stream-name.ts';

describe('isValidStreamName', () => {
  it.each([
    ['cam_1-A', true],
    ['a', true],
    ['x'.repeat(64), true],
    ['0123456789', true],
    ['', false],
    ['x'.repeat(65), false],
    ['a/b', false],
    ['..', false],
    ['.', false],
    ['a.b', false],
    ['my cam', false],
    [' cam', false],
    ['cam\n', false],
    ['kamera-ü', false],
    ['摄像头', false],
    ['a%2Fb', false],
    ['a\\b', false],
  ])('%j → %s', (name, valid) => {
    expect(isValidStreamName(name)).toBe(valid);
  });

  it('matches streamNamePattern', () => {
    expect(streamNamePattern.test('cam_1-A')).toBe(true);
  });
});
