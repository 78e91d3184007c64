import { describe, expect, it } from 'vitest';
import { type PnmImage, PnmParser, rgbToGray } from '../../../src/analysis/pnm-parser.ts';

/** A binary PGM (P5) or PPM (P6) image as ffmpeg's pgm/ppm encoders write it. */
function pnm(kind: 'P5' | 'P6', width: number, height: number, fill: (i: number) => number): Buffer {
  const channels = kind === 'P5' ? 1 : 3;
  const data = Buffer.alloc(width * height * channels);
  for (let i = 0; i < data.length; i++) data[i] = fill(i) & 0xff;
  return Buffer.concat([Buffer.from(`${kind}\n${width} ${height}\n255\n`, 'latin1'), data]);
}

function pixels(image: Buffer, width: number, height: number, channels: number): Buffer {
  return image.subarray(image.length - width * height * channels);
}

/** Feeds `bytes` in pieces of `size` and collects the images. */
function feed(parser: PnmParser, bytes: Buffer, size: number): PnmImage[] {
  const out: PnmImage[] = [];
  for (let off = 0; off < bytes.length; off += size)
    out.push(...parser.push(bytes.subarray(off, off + size)));
  return out;
}

const gray = pnm('P5', 8, 6, (i) => i * 5);
const rgb = pnm('P6', 5, 4, (i) => 255 - i);

describe('PnmParser', () => {
  it('parses a P5 (gray) image pushed whole', () => {
    const images = new PnmParser().push(gray);
    expect(images).toHaveLength(1);
    expect(images[0]).toMatchObject({ format: 'gray', width: 8, height: 6 });
    expect(images[0]?.data).toEqual(pixels(gray, 8, 6, 1));
  });

  it('parses a P6 (rgb24) image pushed whole', () => {
    const images = new PnmParser().push(rgb);
    expect(images).toHaveLength(1);
    expect(images[0]).toMatchObject({ format: 'rgb24', width: 5, height: 4 });
    expect(images[0]?.data).toEqual(pixels(rgb, 5, 4, 3));
  });

  it.each([1, 2, 3, 7, 13, 16, 17, 50])('reassembles P5 then P6 fed in %i-byte chunks', (size) => {
    const images = feed(new PnmParser(), Buffer.concat([gray, rgb, gray]), size);
    expect(images.map((i) => i.format)).toEqual(['gray', 'rgb24', 'gray']);
    expect(images[0]?.data).toEqual(pixels(gray, 8, 6, 1));
    expect(images[1]?.data).toEqual(pixels(rgb, 5, 4, 3));
    expect(images[2]?.data).toEqual(pixels(gray, 8, 6, 1));
  });

  it.each([3, 10, 14, 15, 16, 40, gray.length - 1])('splits a P5 image at byte %i', (at) => {
    const parser = new PnmParser();
    expect(parser.push(gray.subarray(0, at))).toEqual([]);
    const images = parser.push(gray.subarray(at));
    expect(images).toHaveLength(1);
    expect(images[0]?.data).toEqual(pixels(gray, 8, 6, 1));
  });

  it('returns several images completed by one chunk, and keeps the remainder', () => {
    const parser = new PnmParser();
    const all = Buffer.concat([gray, gray, rgb, rgb.subarray(0, 20)]);
    const images = parser.push(all);
    expect(images.map((i) => i.format)).toEqual(['gray', 'gray', 'rgb24']);
    const rest = parser.push(rgb.subarray(20));
    expect(rest).toHaveLength(1);
    expect(rest[0]?.data).toEqual(pixels(rgb, 5, 4, 3));
  });

  it('copies pixel data out of the input chunk', () => {
    const input = Buffer.from(gray);
    const [image] = new PnmParser().push(input);
    input.fill(0);
    expect(image?.data).toEqual(pixels(gray, 8, 6, 1));
  });

  it('handles a one-line image with a space-separated header', () => {
    const image = Buffer.concat([Buffer.from('P5 16 1 255\n'), Buffer.alloc(16, 7)]);
    const [parsed] = new PnmParser().push(image);
    expect(parsed).toMatchObject({ format: 'gray', width: 16, height: 1 });
  });

  // Source bug: push() waits for at least 16 buffered bytes before looking at a header, so an image
  // whose header + pixels total fewer than 16 bytes (2×2 gray: 11 + 4 = 15) is never returned.
  it('returns a tiny (2×2 gray, 15-byte) image', () => {
    expect(new PnmParser().push(pnm('P5', 2, 2, () => 9))).toHaveLength(1);
  });

  it.each([
    ['not PNM at all', Buffer.from('this is definitely not an image'), /not PNM/],
    ['a Matroska header', Buffer.from('1a45dfa39f4286810142f7810142f2810442f381084282', 'hex'), /not PNM/],
    ['P7 (PAM)', Buffer.from(`P7\nWIDTH 4\nHEIGHT 4\nDEPTH 1\nMAXVAL 255\n${'x'.repeat(30)}`), /malformed/],
    ['16-bit maxval', Buffer.concat([Buffer.from('P5\n4 4\n65535\n'), Buffer.alloc(32)]), /8-bit/],
  ])('throws on %s', (_what, bytes, message) => {
    expect(() => new PnmParser().push(bytes)).toThrow(message);
  });

  it('throws on garbage after a valid image', () => {
    const parser = new PnmParser();
    expect(() => parser.push(Buffer.concat([gray, Buffer.alloc(20, 0x41)]))).toThrow(/not PNM/);
  });
});

describe('rgbToGray', () => {
  it.each([
    ['white', [255, 255, 255], 255],
    ['black', [0, 0, 0], 0],
    ['red', [255, 0, 0], 76],
    ['green', [0, 255, 0], 149],
    ['blue', [0, 0, 255], 28],
  ])('%s → %i', (_name, rgbPixel, expected) => {
    expect([...rgbToGray(Buffer.from(rgbPixel), 1, 1)]).toEqual([expected]);
  });

  it('converts every pixel of a frame, row by row', () => {
    const frame = Buffer.from([255, 255, 255, 0, 0, 0, 255, 0, 0, 0, 0, 255]);
    expect([...rgbToGray(frame, 2, 2)]).toEqual([255, 0, 76, 28]);
  });

  it('returns width × height bytes', () => {
    expect(rgbToGray(Buffer.alloc(4 * 3 * 3), 4, 3)).toHaveLength(12);
  });
});
