/**
 * Splits a byte stream of binary PNM images (ffmpeg `-f image2pipe -c:v pgm|ppm`) into frames.
 * PGM (`P5`) is 8-bit gray, PPM (`P6`) 8-bit RGB (Netpbm formats). Each image carries its own size,
 * so the decoder's output needs no side channel.
 */
export interface PnmImage {
  readonly format: 'gray' | 'rgb24';
  readonly width: number;
  readonly height: number;
  readonly data: Buffer;
}

const headerPattern = /^P([56])\s+(\d+)\s+(\d+)\s+(\d+)\s/;

export class PnmParser {
  private buffer: Buffer = Buffer.alloc(0);

  /** Feeds bytes; returns the images completed by them. @throws Error on bytes that are not PNM. */
  push(chunk: Buffer): PnmImage[] {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const images: PnmImage[] = [];
    for (;;) {
      if (this.buffer.length === 0) break;
      const head = this.buffer.subarray(0, 40).toString('latin1');
      const m = headerPattern.exec(head);
      if (!m) {
        if (!head.startsWith('P')) throw new Error('analysis decoder output is not PNM');
        // A header is at most ~30 bytes; past 40 without a match it never will.
        if (this.buffer.length >= 40) throw new Error('malformed PNM header');
        break;
      }
      const width = Number(m[2]);
      const height = Number(m[3]);
      if (Number(m[4]) !== 255) throw new Error('only 8-bit PNM is supported');
      const channels = m[1] === '5' ? 1 : 3;
      const headerLen = m[0].length;
      const total = headerLen + width * height * channels;
      if (this.buffer.length < total) break;
      images.push({
        format: channels === 1 ? 'gray' : 'rgb24',
        width,
        height,
        data: Buffer.from(this.buffer.subarray(headerLen, total)),
      });
      this.buffer = this.buffer.subarray(total);
    }
    return images;
  }
}

/** RGB24 → 8-bit luma (ITU-R BT.601 weights), for gray plugins when the decoder emits RGB. */
export function rgbToGray(rgb: Buffer, width: number, height: number): Buffer {
  const out = Buffer.allocUnsafe(width * height);
  for (let i = 0, j = 0; i < out.length; i++, j += 3) {
    out[i] = ((rgb[j] ?? 0) * 77 + (rgb[j + 1] ?? 0) * 150 + (rgb[j + 2] ?? 0) * 29) >> 8;
  }
  return out;
}
